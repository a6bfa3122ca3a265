package device

import (
	"context"
	"log/slog"
	"strings"
)

// redacted replaces the value of a sensitive attribute.
const redacted = "[REDACTED]"

// sensitiveWords mark attribute keys whose values are never logged.
var sensitiveWords = []string{"key", "token", "secret", "password", "signature", "sig", "nonce", "authorization", "seed", "chain"}

func isSensitive(key string) bool {
	k := strings.ToLower(key)
	for _, w := range sensitiveWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// redactingHandler replaces the values of sensitive attributes (keys,
// tokens, signatures, nonces) before the next handler sees them.
type redactingHandler struct{ next slog.Handler }

func newRedactingHandler(next slog.Handler) slog.Handler {
	if h, ok := next.(*redactingHandler); ok {
		return h
	}
	return &redactingHandler{next: next}
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = redactAttr(a)
	}
	return &redactingHandler{next: h.next.WithAttrs(clean)}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	if isSensitive(a.Key) {
		return slog.String(a.Key, redacted)
	}
	v := a.Value.Resolve()
	if v.Kind() != slog.KindGroup {
		return slog.Attr{Key: a.Key, Value: v}
	}
	group := v.Group()
	clean := make([]any, len(group))
	for i, g := range group {
		clean[i] = redactAttr(g)
	}
	return slog.Group(a.Key, clean...)
}
