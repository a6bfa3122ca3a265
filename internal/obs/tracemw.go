package obs

import (
	"net/http"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TraceMiddleware wraps next in a server span named route. It continues the
// trace of the request's traceparent/tracestate headers (W3C Trace Context);
// a missing or malformed traceparent starts a fresh trace. The span is in the
// request's context for next, and its traceparent is set on the response
// header "traceparent" before next runs, so the client sees it even on
// errors. The span records the method, route and status, and is marked as an
// error for status >= 500. When tp creates no valid span (a no-op provider
// without a parent) no header is set.
func TraceMiddleware(tp trace.TracerProvider, route string, next http.Handler) http.Handler {
	tracer := tp.Tracer(instrumentationName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, route,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(methodLabel(r.Method)),
				semconv.HTTPRoute(route),
			),
		)
		defer span.End()
		if tp := TraceParent(ctx); tp != "" {
			w.Header().Set(HeaderTraceParent, tp)
		}
		rec := newStatusRecorder(w)
		next.ServeHTTP(rec, r.WithContext(ctx))
		status := rec.Status()
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	})
}
