// Package obs owns the observability plumbing shared by core, edge and the
// command line: structured logging with redaction, Prometheus metrics and
// OpenTelemetry tracing. It holds no global state: it never touches
// slog.Default, prometheus.DefaultRegisterer or the otel global providers;
// every logger, registry and tracer provider is created by a constructor here
// and injected by the caller.
//
// # Logging
//
// [NewLogger] composes three handlers, innermost first:
// slog's JSON handler, then [NewRedactingHandler] (replaces credentials with
// [Redacted] before they reach the writer), then [NewTraceHandler] (adds
// trace_id and span_id to records logged with the *Context methods).
// Redaction is a handler, not a habit: see [NewRedactingHandler] for the exact
// rules.
//
// # Metrics
//
// [NewMetrics] builds a private *prometheus.Registry with the Go and process
// collectors and the HTTP and database series named in the design.
// [Metrics.Handler] serves them in the Prometheus text exposition format (or
// OpenMetrics when the scraper asks for it through content negotiation).
// HTTP series are labelled with the route pattern, never the raw path, so
// their cardinality stays bounded.
//
// # Tracing
//
// Trace context travels in the W3C Trace Context format
// (https://www.w3.org/TR/trace-context/): the traceparent and tracestate
// HTTP headers, and the traceparent string stored in outbox rows and NATS
// headers. [TraceMiddleware] continues an incoming trace (or starts one),
// [TraceParent] and [TraceID] read the current one, and
// [ContextWithTraceParent] restores a stored one. [NewTracerProvider] samples
// every root span and follows the parent's decision otherwise; it exports
// over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set.
package obs
