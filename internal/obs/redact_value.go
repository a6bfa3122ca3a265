package obs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
)

// Unloggable replaces a composite value that encoding/json cannot render:
// the redacting handler cannot inspect it, so it does not pass it on.
const Unloggable = "[UNLOGGABLE]"

// redactAttr returns a with its value redacted by the rules of
// NewRedactingHandler. secret forces redaction of the whole value.
func redactAttr(a slog.Attr, secret bool) slog.Attr {
	if secret || isSensitiveKey(a.Key) {
		if a.Key == "" && a.Value.Resolve().Kind() == slog.KindGroup {
			// An unnamed group is inlined by handlers: keep its shape and
			// redact each member.
			return slog.Attr{Key: a.Key, Value: redactGroup(a.Value.Resolve().Group(), true)}
		}
		return slog.String(a.Key, Redacted)
	}
	return slog.Attr{Key: a.Key, Value: redactValue(a.Value.Resolve())}
}

// redactGroup redacts every member of a group value.
func redactGroup(attrs []slog.Attr, secret bool) slog.Value {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = redactAttr(a, secret)
	}
	return slog.GroupValue(out...)
}

// redactValue redacts a resolved value whose key is not sensitive.
func redactValue(v slog.Value) slog.Value {
	switch v.Kind() {
	case slog.KindString:
		if looksLikeCredential(v.String()) {
			return slog.StringValue(Redacted)
		}
		return v
	case slog.KindGroup:
		return redactGroup(v.Group(), false)
	case slog.KindAny:
		return redactAny(v)
	default:
		return v
	}
}

// redactAny handles values logged with slog.Any.
func redactAny(v slog.Value) slog.Value {
	switch x := v.Any().(type) {
	case nil:
		return v
	case error:
		// The JSON handler prints err.Error(); keep the error unless its text
		// carries a credential.
		if looksLikeCredential(x.Error()) {
			return slog.StringValue(Redacted)
		}
		return v
	case http.Header:
		return slog.AnyValue(redactHeader(x))
	case []byte:
		if looksLikeCredential(string(x)) {
			return slog.StringValue(Redacted)
		}
		return v
	}
	rv := reflect.ValueOf(v.Any())
	if rv.Kind() == reflect.String {
		// A named string type (type Token string) is KindAny, not KindString.
		if looksLikeCredential(rv.String()) {
			return slog.StringValue(Redacted)
		}
		return v
	}
	if !isComposite(v.Any()) {
		return v
	}
	return redactComposite(v.Any())
}

// redactHeader returns a copy of h with the values of sensitive headers
// (Authorization, Cookie, Set-Cookie, X-Api-Key, …) and credential-looking
// values replaced.
func redactHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for name, values := range h {
		red := make([]string, len(values))
		for i, s := range values {
			red[i] = s
			if isSensitiveKey(name) || looksLikeCredential(s) {
				red[i] = Redacted
			}
		}
		out[name] = red
	}
	return out
}

// isComposite reports whether x is a struct, map, slice or array (or a
// pointer to one): values the JSON handler would expand field by field.
func isComposite(x any) bool {
	t := reflect.TypeOf(x)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array:
		return true
	default:
		return false
	}
}

// redactComposite renders x as JSON, redacts the decoded tree by key and
// returns it. It returns Unloggable when x cannot be rendered.
func redactComposite(x any) slog.Value {
	raw, err := json.Marshal(x)
	if err != nil {
		return slog.StringValue(Unloggable)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return slog.StringValue(Unloggable)
	}
	return slog.AnyValue(redactJSON(tree))
}

// redactJSON redacts a tree decoded by encoding/json in place and returns it.
func redactJSON(node any) any {
	switch n := node.(type) {
	case map[string]any:
		for k, child := range n {
			if isSensitiveKey(k) {
				n[k] = Redacted
				continue
			}
			n[k] = redactJSON(child)
		}
		return n
	case []any:
		for i, child := range n {
			n[i] = redactJSON(child)
		}
		return n
	case string:
		if looksLikeCredential(n) {
			return Redacted
		}
		return n
	default:
		return node
	}
}
