// Command gencommon writes common.txt, the block list used by
// password.CheckPolicy. It combines the most common base passwords of
// published breach corpora (recalled, not copied from a file) with the
// suffixes, repetitions and keyboard walks people use to reach a length
// requirement. Only entries of at least 12 characters are written, because
// shorter ones are already rejected by the length rule.
//
// Usage (from core/password): go generate
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
)

const (
	minLen = 12
	maxLen = 64
)

func main() {
	out := flag.String("o", "common.txt", "output file")
	flag.Parse()
	list := generate()
	data := strings.Join(list, "\n") + "\n"
	if err := os.WriteFile(*out, []byte(data), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "gencommon:", err)
		os.Exit(1)
	}
	fmt.Printf("gencommon: wrote %d entries to %s\n", len(list), *out)
}

func generate() []string {
	set := map[string]struct{}{}
	add := func(s string) {
		s = strings.ToLower(s)
		if len(s) >= minLen && len(s) <= maxLen {
			set[s] = struct{}{}
		}
	}
	for _, s := range phrases {
		add(s)
	}
	addSequences(add)
	addWalks(add)
	addCombinations(add)
	list := make([]string, 0, len(set))
	for s := range set {
		list = append(list, s)
	}
	slices.Sort(list)
	return list
}

// addSequences adds digit runs, repeated digits and repeated short groups.
func addSequences(add func(string)) {
	const up, down = "123456789012345678901", "098765432109876543210"
	for n := minLen; n <= 20; n++ {
		add(up[:n])
		add(down[:n])
		add(up[1 : n+1])
		for d := '0'; d <= '9'; d++ {
			add(strings.Repeat(string(d), n))
		}
		for _, c := range "abcdefghijklmnopqrstuvwxyz" {
			add(strings.Repeat(string(c), n))
		}
	}
	for _, g := range groups {
		for k := 2; k <= 8; k++ {
			add(strings.Repeat(g, k))
		}
	}
	add("abcdefghijklmnopqrstuvwxyz")
	add("abcdefghijkl")
	add("abcdefghijklm")
	add("abcd1234efgh")
	add("a1b2c3d4e5f6")
	add("1a2b3c4d5e6f")
}

// addWalks adds keyboard walks with and without common suffixes.
func addWalks(add func(string)) {
	for _, w := range walks {
		add(w)
		for _, s := range suffixes {
			add(w + s)
		}
	}
}

// addCombinations adds base words with suffixes, a few prefixes,
// leetspeak, doubling and pairs of very common words.
func addCombinations(add func(string)) {
	for _, b := range bases {
		add(b + b)
		for _, s := range suffixes {
			add(b + s)
		}
		for _, s := range shortSuffixes {
			add(leet(b) + s)
			add(zeroForO(b) + s)
			add(s + b)
		}
	}
	for _, a := range pairs {
		for _, b := range pairs {
			if a != b {
				add(a + b)
				add(a + b + "1")
			}
		}
	}
	for _, b := range bases {
		add("ilove" + b)
		add("my" + b + "123")
	}
}

// shortSuffixes are the most frequent of suffixes, also used as prefixes.
var shortSuffixes = []string{"1", "123", "1234", "12345", "123456", "!", "2024", "2025"}

func leet(s string) string {
	return strings.NewReplacer("a", "@", "o", "0", "e", "3", "i", "1", "s", "$").Replace(s)
}

// zeroForO returns s with "o" → "0" only, the most common single
// substitution (passw0rd).
func zeroForO(s string) string { return strings.ReplaceAll(s, "o", "0") }
