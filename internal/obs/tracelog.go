package obs

import (
	"context"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/trace"
)

// Keys of the attributes that NewTraceHandler adds to log records.
const (
	LogKeyTraceID = "trace_id"
	LogKeySpanID  = "span_id"
)

// traceHandler is the slog.Handler returned by NewTraceHandler. Groups opened
// with WithGroup are kept here, not in next, so that the trace attributes stay
// at the top level of every record.
type traceHandler struct {
	next   slog.Handler
	groups []openGroup
}

// openGroup is a group opened by WithGroup and the attributes added inside it.
type openGroup struct {
	name  string
	attrs []slog.Attr
}

// NewTraceHandler returns a handler that adds the trace_id and span_id of the
// span in the record's context (from the *Context logging methods) as
// top-level attributes, even when the logger has open groups, before passing
// the record to next. Records without a valid span in their context are
// passed unchanged.
func NewTraceHandler(next slog.Handler) slog.Handler {
	return &traceHandler{next: next}
}

// Enabled reports whether the wrapped handler handles records at level.
func (h *traceHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the trace attributes and passes the record on.
func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := spanContextOf(ctx)
	if len(h.groups) == 0 && !sc.IsValid() {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if sc.IsValid() {
		out.AddAttrs(
			slog.String(LogKeyTraceID, sc.TraceID().String()),
			slog.String(LogKeySpanID, sc.SpanID().String()),
		)
	}
	if len(h.groups) == 0 {
		r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
		return h.next.Handle(ctx, out)
	}
	out.AddAttrs(h.nest(r))
	return h.next.Handle(ctx, out)
}

// nest wraps the record's attributes in the open groups, innermost last.
func (h *traceHandler) nest(r slog.Record) slog.Attr {
	inner := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool { inner = append(inner, a); return true })
	for i := len(h.groups) - 1; i >= 0; i-- {
		g := h.groups[i]
		members := append(slices.Clip(g.attrs), inner...)
		inner = []slog.Attr{{Key: g.name, Value: slog.GroupValue(members...)}}
	}
	return inner[0]
}

// WithAttrs adds attrs to the innermost open group, or to next when none is
// open.
func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if len(h.groups) == 0 {
		return &traceHandler{next: h.next.WithAttrs(attrs)}
	}
	groups := slices.Clone(h.groups)
	last := &groups[len(groups)-1]
	last.attrs = append(slices.Clip(last.attrs), attrs...)
	return &traceHandler{next: h.next, groups: groups}
}

// WithGroup opens a group for the attributes that follow.
func (h *traceHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	groups := append(slices.Clip(h.groups), openGroup{name: name})
	return &traceHandler{next: h.next, groups: groups}
}

// spanContextOf returns the span context in ctx; ctx may be nil.
func spanContextOf(ctx context.Context) trace.SpanContext {
	if ctx == nil {
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(ctx)
}
