package obs

import (
	"context"
	"log/slog"
)

// redactingHandler is the slog.Handler returned by NewRedactingHandler.
type redactingHandler struct {
	next slog.Handler
	// inSecretGroup is set once WithGroup opened a group whose name is
	// sensitive: every attribute below it is then redacted.
	inSecretGroup bool
}

// NewRedactingHandler returns a handler that passes records to next after
// replacing every credential with [Redacted]. It redacts:
//
//   - the value of any attribute whose key is sensitive: it contains, in any
//     case, password, passwd, token, authorization, cookie, secret, key, otp
//     or credential (so idempotency_key and api_key too), or is one of the
//     one-time code keys such as totp_code, recovery_code or mfa_code. The
//     bare key "code" (problem codes, status codes) is kept, and so are a few
//     public identifiers (key_id, signing_key_id, public_key, token_type,
//     credential_id);
//   - every attribute inside a group (slog.Group or WithGroup) whose name is
//     sensitive;
//   - any string value that looks like an HTTP credential ("Bearer …"
//     anywhere, or "Basic <token>"), whatever its key, including error
//     messages and the record's message;
//   - inside http.Header and maps, the values under sensitive names
//     (Authorization, Cookie, Set-Cookie, X-Api-Key, …);
//   - inside structs, maps and slices logged with slog.Any, the fields whose
//     JSON name is sensitive: such values are rendered through encoding/json
//     (what the JSON handler would do anyway) and rewritten. A value that
//     cannot be rendered is replaced by [Unloggable].
//
// slog.LogValuer values are resolved before they are inspected, so a
// LogValuer cannot smuggle a secret past the handler. Rules apply equally to
// attributes of the record, of WithAttrs and of nested groups. The handler
// never logs the value it withholds, nor its length.
func NewRedactingHandler(next slog.Handler) slog.Handler {
	return &redactingHandler{next: next}
}

// Enabled reports whether the wrapped handler handles records at level.
func (h *redactingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle redacts the record's attributes and passes a copy to the wrapped
// handler.
func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	msg := r.Message
	if looksLikeCredential(msg) {
		msg = Redacted
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a, h.inSecretGroup))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs redacts attrs once, up front, and hands them to the wrapped
// handler.
func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a, h.inSecretGroup)
	}
	return &redactingHandler{next: h.next.WithAttrs(red), inSecretGroup: h.inSecretGroup}
}

// WithGroup opens a group in the wrapped handler; a sensitive group name
// redacts everything logged inside it.
func (h *redactingHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &redactingHandler{
		next:          h.next.WithGroup(name),
		inSecretGroup: h.inSecretGroup || isSensitiveKey(name),
	}
}
