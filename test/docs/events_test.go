package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// eventTypePattern is a complete event type (syncproto's envelope type rule).
var eventTypePattern = regexp.MustCompile(`^melmastoon\.iam\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v[1-9][0-9]*$`)

// composedTypes are the event types the source builds by concatenation
// rather than writing out: for each literal prefix, the expression text
// it appears in, and the values of the variable part. Every listed value
// must also appear as a string literal in the file that composes the type,
// so a renamed verb is noticed. A concatenation starting with
// "melmastoon.iam." that is not listed here fails the test.
var composedTypes = map[string]struct {
	expr   string
	values []string
}{
	"melmastoon.iam.signing_key.": {
		expr:   `"melmastoon.iam.signing_key." + verb + ".v1"`,
		values: []string{"published", "updated"},
	},
}

// TestEveryEmittedEventTypeIsDocumented checks asyncapi/iam-service.yaml
// against the Go source both ways: every event type core or syncproto can
// emit has a channel, and every documented channel's type is emitted
// somewhere, so the contract cannot rot.
func TestEveryEmittedEventTypeIsDocumented(t *testing.T) {
	r := root(t)
	emitted, literals := emittedEventTypes(t, r)
	for _, must := range []string{
		"melmastoon.iam.tenant.created.v1",
		"melmastoon.iam.signingkey.rotated.v1",
		"melmastoon.iam.checkpoint.signed.v1",
		"melmastoon.iam.signing_key.published.v1",
	} {
		if _, ok := emitted[must]; !ok {
			t.Fatalf("scanner found no %s in core/ or syncproto/: the scan is broken (found %v)", must, slices.Sorted(maps.Keys(emitted)))
		}
	}

	channels := asyncAPIChannels(t, filepath.Join(r, "asyncapi", "iam-service.yaml"))
	documented := map[string]string{} // event type -> channel id
	for _, ch := range channels {
		switch {
		case ch.address == "":
			t.Errorf("asyncapi channel %s has no address", ch.id)
			continue
		case ch.eventType == "":
			t.Errorf("asyncapi channel %s (%s) has no x-event-type", ch.id, ch.address)
			continue
		case !eventTypePattern.MatchString(ch.eventType):
			t.Errorf("asyncapi channel %s: x-event-type %q is not melmastoon.iam.<entity>.<verb>.v<N>", ch.id, ch.eventType)
		}
		if strings.HasPrefix(ch.address, "melmastoon.iam.") {
			// A delta: the NATS subject is the type.
			if ch.address != ch.eventType {
				t.Errorf("asyncapi channel %s: address %s differs from its x-event-type %s (a delta's subject is its type)",
					ch.id, ch.address, ch.eventType)
			}
		} else {
			// Outside the stream (checkpoints): the subject's fixed part
			// must be a literal the code publishes on.
			static, _, _ := strings.Cut(ch.address, "{")
			if !literals[static] {
				t.Errorf("asyncapi channel %s: no string literal %q in core/ or syncproto/ publishes on %s", ch.id, static, ch.address)
			}
		}
		if prev, dup := documented[ch.eventType]; dup {
			t.Errorf("event type %s documented by two channels, %s and %s", ch.eventType, prev, ch.id)
		}
		documented[ch.eventType] = ch.id
	}

	for _, typ := range slices.Sorted(maps.Keys(emitted)) {
		if _, ok := documented[typ]; !ok {
			t.Errorf("event type %s is emitted (%s) but has no channel in asyncapi/iam-service.yaml", typ, emitted[typ])
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(documented)) {
		if _, ok := emitted[typ]; !ok {
			t.Errorf("asyncapi channel %s documents %s, which nothing in core/ or syncproto/ emits", documented[typ], typ)
		}
	}
}

// emittedEventTypes scans the non-test Go files under core/ and syncproto/
// and returns every event type they contain (type -> first position) and
// the set of all their string literals.
func emittedEventTypes(t *testing.T, r string) (map[string]string, map[string]bool) {
	t.Helper()
	types := map[string]string{}
	literals := map[string]bool{}
	add := func(typ, pos string) {
		if _, ok := types[typ]; !ok {
			types[typ] = pos
		}
	}
	fset := token.NewFileSet()
	for _, dir := range []string{"core", "syncproto"} {
		err := filepath.WalkDir(filepath.Join(r, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name := d.Name(); name == "testdata" || (strings.HasPrefix(name, ".") && path != filepath.Join(r, dir)) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			fileLits := map[string]bool{}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						fileLits[s], literals[s] = true, true
						if eventTypePattern.MatchString(s) {
							add(s, relPos(r, fset.Position(lit.Pos())))
						}
					}
				}
				return true
			})
			ast.Inspect(f, func(n ast.Node) bool {
				bin, ok := n.(*ast.BinaryExpr)
				if !ok || bin.Op != token.ADD {
					return true
				}
				lit := leftmostString(bin)
				if !strings.HasPrefix(lit, "melmastoon.iam.") {
					return true
				}
				pos := relPos(r, fset.Position(bin.Pos()))
				expr := string(src[fset.Position(bin.Pos()).Offset:fset.Position(bin.End()).Offset])
				known, ok := composedTypes[lit]
				if !ok || known.expr != expr {
					t.Fatalf("%s: event type composed as %s; teach composedTypes in test/docs/events_test.go its values "+
						"(and document them in asyncapi/iam-service.yaml)", pos, expr)
				}
				for _, v := range known.values {
					if !fileLits[v] {
						t.Fatalf("%s: composedTypes expects %q to be a literal in this file (the variable part of %s); update the test", pos, v, expr)
					}
					typ := lit + v + ".v1"
					if !eventTypePattern.MatchString(typ) {
						t.Fatalf("%s: composed type %q is malformed", pos, typ)
					}
					add(typ, pos)
				}
				return false // the whole concatenation is handled
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return types, literals
}

// leftmostString returns the string literal at the start of a chain of
// concatenations, or "".
func leftmostString(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.BinaryExpr:
			if x.Op != token.ADD {
				return ""
			}
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.BasicLit:
			if x.Kind != token.STRING {
				return ""
			}
			s, err := strconv.Unquote(x.Value)
			if err != nil {
				return ""
			}
			return s
		default:
			return ""
		}
	}
}

func relPos(r string, p token.Position) string {
	if rel, err := filepath.Rel(r, p.Filename); err == nil {
		p.Filename = rel
	}
	return p.String()
}

type asyncAPIChannel struct {
	id, address, eventType string
}

var (
	topLevelKey  = regexp.MustCompile(`^[A-Za-z][\w-]*:`)
	channelKey   = regexp.MustCompile(`^  ([\w.-]+):\s*$`)
	channelField = regexp.MustCompile(`^    (address|x-event-type):\s*(.+?)\s*$`)
)

// asyncAPIChannels reads the channels section of an AsyncAPI 3 document
// minimally: channel ids at two spaces, their address and x-event-type at
// four.
func asyncAPIChannels(t *testing.T, path string) []asyncAPIChannel {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the event contract is missing: %v", err)
	}
	var (
		out []asyncAPIChannel
		in  bool
	)
	for _, line := range strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") {
		if topLevelKey.MatchString(line) {
			in = strings.HasPrefix(line, "channels:")
			continue
		}
		if !in {
			continue
		}
		if m := channelKey.FindStringSubmatch(line); m != nil {
			out = append(out, asyncAPIChannel{id: m[1]})
			continue
		}
		if m := channelField.FindStringSubmatch(line); m != nil && len(out) > 0 {
			v := strings.Trim(m[2], `'"`)
			if m[1] == "address" {
				out[len(out)-1].address = v
			} else {
				out[len(out)-1].eventType = v
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no channels found", path)
	}
	return out
}
