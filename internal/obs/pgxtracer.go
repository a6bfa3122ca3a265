package obs

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DBSpanName is the name of the child span started for each query.
const DBSpanName = "db.query"

// sqlOperations are the operation label values besides "other".
var sqlOperations = map[string]bool{
	"select": true, "insert": true, "update": true, "delete": true, "with": true,
}

// queryTracer is the pgx.QueryTracer returned by Metrics.PgxTracer.
type queryTracer struct {
	metrics *Metrics
	tracer  trace.Tracer
}

// queryStartKey is the context key of the queryStart of a traced query.
type queryStartKey struct{}

// queryStart is what TraceQueryStart hands to TraceQueryEnd.
type queryStart struct {
	operation string
	start     time.Time
	span      trace.Span // nil when the query ran without a parent span
}

// PgxTracer returns a pgx.QueryTracer (set it as ConnConfig.Tracer) that
// observes db_query_duration_seconds labelled with the query's operation (the
// first SQL keyword lowercased: select, insert, update, delete, with, or
// other) and, when the query's context carries a valid span, starts a child
// client span "db.query" from tp. The span never records the SQL text, the
// arguments or the server's error message (they may hold personal data): a
// failed query sets the span status to error with the SQLSTATE code. A nil tp
// disables spans.
func (m *Metrics) PgxTracer(tp trace.TracerProvider) pgx.QueryTracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return &queryTracer{metrics: m, tracer: tp.Tracer(instrumentationName)}
}

// TraceQueryStart notes the start time and opens the child span.
func (t *queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	qs := &queryStart{operation: sqlOperation(data.SQL), start: time.Now()}
	if trace.SpanContextFromContext(ctx).IsValid() {
		ctx, qs.span = t.tracer.Start(ctx, DBSpanName,
			trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(
				semconv.DBSystemNamePostgreSQL,
				semconv.DBOperationName(qs.operation),
			),
		)
	}
	return context.WithValue(ctx, queryStartKey{}, qs)
}

// TraceQueryEnd observes the duration and ends the span.
func (t *queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	qs, ok := ctx.Value(queryStartKey{}).(*queryStart)
	if !ok {
		return
	}
	t.metrics.DBDuration.WithLabelValues(qs.operation).Observe(time.Since(qs.start).Seconds())
	if qs.span == nil {
		return
	}
	defer qs.span.End()
	if data.Err == nil {
		return
	}
	qs.span.SetStatus(codes.Error, "query failed")
	var pgErr *pgconn.PgError
	if errors.As(data.Err, &pgErr) {
		qs.span.SetAttributes(semconv.DBResponseStatusCode(pgErr.Code))
	}
}

// sqlOperation returns the operation label of a statement: its first keyword
// lowercased when it is select, insert, update, delete or with, else "other".
// Leading spaces, parentheses and SQL comments are skipped.
func sqlOperation(sql string) string {
	s := skipSQLNoise(sql)
	end := 0
	for end < len(s) && isWordByte(s[end]) {
		end++
	}
	word := strings.ToLower(s[:end])
	if sqlOperations[word] {
		return word
	}
	return "other"
}

// skipSQLNoise drops leading white space, "(" and comments.
func skipSQLNoise(s string) string {
	for {
		trimmed := strings.TrimLeft(s, " \t\r\n(")
		switch {
		case strings.HasPrefix(trimmed, "--"):
			i := strings.IndexByte(trimmed, '\n')
			if i < 0 {
				return ""
			}
			s = trimmed[i+1:]
		case strings.HasPrefix(trimmed, "/*"):
			i := strings.Index(trimmed, "*/")
			if i < 0 {
				return ""
			}
			s = trimmed[i+2:]
		default:
			return trimmed
		}
	}
}

// isWordByte reports whether b can be part of an SQL keyword or identifier.
func isWordByte(b byte) bool {
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_'
}
