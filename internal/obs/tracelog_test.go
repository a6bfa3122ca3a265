package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// decodeLine decodes the only JSON line in buf.
func decodeLine(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &m); err != nil {
		t.Fatalf("decode %q: %v", buf.String(), err)
	}
	return m
}

func TestTraceHandler(t *testing.T) {
	tp, _ := newRecordingProvider(t)
	spanCtx, span := tp.Tracer("test").Start(context.Background(), "request")
	defer span.End()
	wantTrace, wantSpan := span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String()

	tests := []struct {
		name      string
		log       func(*slog.Logger)
		withTrace bool
		check     func(t *testing.T, m map[string]any)
	}{
		{"context with span", func(l *slog.Logger) { l.InfoContext(spanCtx, "served", "status", 200) }, true, nil},
		{"context without span", func(l *slog.Logger) { l.InfoContext(context.Background(), "served") }, false, nil},
		{"no context", func(l *slog.Logger) { l.Info("served") }, false, nil},
		{"restored traceparent", func(l *slog.Logger) {
			l.InfoContext(ContextWithTraceParent(context.Background(), TraceParent(spanCtx)), "applied")
		}, true, nil},
		{"ids stay top level inside groups", func(l *slog.Logger) {
			l.With("tenant", "acme").WithGroup("req").With("route", "/r").WithGroup("db").
				InfoContext(spanCtx, "served", "rows", 3)
		}, true, func(t *testing.T, m map[string]any) {
			req, _ := m["req"].(map[string]any)
			db, _ := req["db"].(map[string]any)
			if m["tenant"] != "acme" || req["route"] != "/r" || db["rows"] != 3.0 {
				t.Errorf("group structure lost: %v", m)
			}
		}},
		{"empty group omitted", func(l *slog.Logger) { l.WithGroup("req").InfoContext(spanCtx, "served") }, true,
			func(t *testing.T, m map[string]any) {
				if _, ok := m["req"]; ok {
					t.Errorf("empty group logged: %v", m)
				}
			}},
		{"redaction under groups", func(l *slog.Logger) {
			l.WithGroup("req").With("password", "hunter2").InfoContext(spanCtx, "login")
		}, true, func(t *testing.T, m map[string]any) {
			req, _ := m["req"].(map[string]any)
			if req["password"] != Redacted {
				t.Errorf("password not redacted: %v", m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(NewLogger(&buf, slog.LevelInfo))
			if strings.Contains(buf.String(), "hunter2") {
				t.Fatalf("secret leaked: %s", buf.String())
			}
			m := decodeLine(t, &buf)
			if tt.withTrace && (m[LogKeyTraceID] != wantTrace || m[LogKeySpanID] != wantSpan) {
				t.Errorf("trace ids %v/%v, want %s/%s", m[LogKeyTraceID], m[LogKeySpanID], wantTrace, wantSpan)
			}
			if !tt.withTrace && (m[LogKeyTraceID] != nil || m[LogKeySpanID] != nil) {
				t.Errorf("unexpected trace ids in %v", m)
			}
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

func TestNewLoggerLevel(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(&buf, slog.LevelWarn)
	l.Info("dropped")
	l.Warn("kept")
	if strings.Contains(buf.String(), "dropped") || !strings.Contains(buf.String(), "kept") {
		t.Errorf("level not applied: %s", buf.String())
	}
}
