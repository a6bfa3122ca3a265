package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func root(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if dir == filepath.Dir(dir) {
			t.Fatal("go.mod not found")
		}
		dir = filepath.Dir(dir)
	}
}

func TestEveryAlertHasARunbookAndBack(t *testing.T) {
	r := root(t)
	rules, err := filepath.Glob(filepath.Join(r, "deploy", "prometheus", "*.yml"))
	if err != nil || len(rules) == 0 {
		t.Fatalf("no alert rules found: %v", err)
	}
	alerts := map[string]bool{}
	alertRe := regexp.MustCompile(`(?m)^\s*- alert: (\w+)\s*$`)
	urlRe := regexp.MustCompile(`(?m)^\s*runbook_url: docs/runbooks/(\w+)\.md\s*$`)
	for _, f := range rules {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names := alertRe.FindAllStringSubmatch(string(src), -1)
		urls := urlRe.FindAllStringSubmatch(string(src), -1)
		if len(names) != len(urls) {
			t.Errorf("%s: %d alerts but %d runbook_url annotations", f, len(names), len(urls))
		}
		for i, m := range names {
			alerts[m[1]] = true
			if i < len(urls) && urls[i][1] != m[1] {
				t.Errorf("alert %s links runbook %s", m[1], urls[i][1])
			}
		}
	}
	books, _ := filepath.Glob(filepath.Join(r, "docs", "runbooks", "*.md"))
	have := map[string]bool{}
	for _, b := range books {
		name := strings.TrimSuffix(filepath.Base(b), ".md")
		have[name] = true
		if !alerts[name] && name != "README" {
			t.Errorf("runbook %s has no alert", name)
		}
	}
	for a := range alerts {
		if !have[a] {
			t.Errorf("alert %s has no runbook docs/runbooks/%s.md", a, a)
		}
	}
	if len(alerts) == 0 {
		t.Fatal("parsed no alerts; the test would prove nothing")
	}
}
