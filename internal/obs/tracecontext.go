package obs

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// HeaderTraceParent is the W3C Trace Context header (and outbox / NATS header)
// that carries the trace id, parent span id and flags.
const HeaderTraceParent = "traceparent"

// traceContext is the W3C Trace Context propagator; it has no state.
var traceContext = propagation.TraceContext{}

// TraceParent returns the W3C traceparent ("00-<trace id>-<span id>-<flags>")
// of the span in ctx, or "" when ctx carries no valid span context.
func TraceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	return carrier.Get(HeaderTraceParent)
}

// TraceID returns the 32 lowercase hex digits of the trace id in ctx, or ""
// when ctx carries none. It is the traceId member of problem+json bodies.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// ContextWithTraceParent returns ctx carrying the remote span context encoded
// in traceparent (as stored by TraceParent in an outbox row or a NATS header),
// so spans started from it join that trace. A malformed or empty traceparent
// is ignored: ctx is returned unchanged.
func ContextWithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	carrier := propagation.MapCarrier{HeaderTraceParent: traceparent}
	return traceContext.Extract(ctx, carrier)
}
