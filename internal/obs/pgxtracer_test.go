package obs

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

func TestSQLOperation(t *testing.T) {
	tests := []struct {
		sql, want string
	}{
		{"SELECT 1", "select"},
		{"  select * from accounts", "select"},
		{"\n\tInsert INTO t VALUES ($1)", "insert"},
		{"UPDATE t SET a = $1", "update"},
		{"delete from t", "delete"},
		{"WITH x AS (SELECT 1) SELECT * FROM x", "with"},
		{"(SELECT 1) UNION (SELECT 2)", "select"},
		{"-- leading comment\nSELECT 1", "select"},
		{"/* app=iam */ UPDATE t SET a = 1", "update"},
		{"/* a */ -- b\n /* c */ delete from t", "delete"},
		{"begin", "other"},
		{"SET LOCAL app.tenant_id = $1", "other"},
		{"selectx", "other"},
		{"select_all()", "other"},
		{"", "other"},
		{"/* unterminated", "other"},
		{"-- only a comment", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			if got := sqlOperation(tt.sql); got != tt.want {
				t.Errorf("sqlOperation(%q) = %q, want %q", tt.sql, got, tt.want)
			}
		})
	}
}

func TestPgxTracer(t *testing.T) {
	m := NewMetrics()
	tp, spans := newRecordingProvider(t)
	tracer := m.PgxTracer(tp)
	parentCtx, parent := tp.Tracer("test").Start(context.Background(), "request")

	run := func(ctx context.Context, sql string, err error) {
		qctx := tracer.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: sql, Args: []any{"arg-secret"}})
		tracer.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{Err: err})
	}
	run(parentCtx, "SELECT * FROM accounts WHERE id = $1", nil)
	run(parentCtx, "INSERT INTO accounts VALUES ($1)", &pgconn.PgError{Code: "23505", Message: "duplicate key value Key (email)=(a@b.c)"})
	run(context.Background(), "select 1", nil)
	run(context.Background(), "vacuum", errors.New("boom"))
	// An end without a start (pgx never does this) must not panic.
	tracer.TraceQueryEnd(context.Background(), nil, pgx.TraceQueryEndData{})
	parent.End()

	assertContainsAll(t, scrape(t, m),
		`db_query_duration_seconds_count{operation="select"} 2`,
		`db_query_duration_seconds_count{operation="insert"} 1`,
		`db_query_duration_seconds_count{operation="other"} 1`,
	)
	ended := spans.Ended()
	if len(ended) != 3 { // two db.query children and the parent
		t.Fatalf("recorded %d spans, want 3", len(ended))
	}
	for i, want := range []string{"select", "insert"} {
		s := ended[i]
		if s.Name() != DBSpanName || s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %d: %q, parent %s", i, s.Name(), s.Parent().SpanID())
		}
		if !hasAttr(s.Attributes(), semconv.DBOperationName(want)) || !hasAttr(s.Attributes(), semconv.DBSystemNamePostgreSQL) {
			t.Errorf("span %d attributes %v", i, s.Attributes())
		}
		for _, a := range s.Attributes() {
			if v := a.Value.String(); v == "arg-secret" || len(v) > 40 {
				t.Errorf("span %d carries %s=%q", i, a.Key, v)
			}
		}
	}
	if ended[0].Status().Code != codes.Unset {
		t.Errorf("successful query status %v", ended[0].Status())
	}
	failed := ended[1]
	if failed.Status().Code != codes.Error || failed.Status().Description != "query failed" ||
		!hasAttr(failed.Attributes(), semconv.DBResponseStatusCode("23505")) {
		t.Errorf("failed query span status %v attributes %v", failed.Status(), failed.Attributes())
	}
}

func TestPgxTracerNilProvider(t *testing.T) {
	m := NewMetrics()
	tracer := m.PgxTracer(nil)
	tp, spans := newRecordingProvider(t)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	defer parent.End()
	qctx := tracer.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: "delete from t"})
	tracer.TraceQueryEnd(qctx, nil, pgx.TraceQueryEndData{})
	if n := len(spans.Ended()); n != 0 {
		t.Errorf("nil provider recorded %d spans", n)
	}
	assertContainsAll(t, scrape(t, m), `db_query_duration_seconds_count{operation="delete"} 1`)
}
