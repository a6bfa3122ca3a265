package obs

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

const (
	remoteTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	remoteSpanID  = "00f067aa0ba902b7"
)

func newNoopProvider() trace.TracerProvider { return noop.NewTracerProvider() }

// splitTraceParent returns the four fields of a traceparent, failing the test
// when it does not have the W3C shape.
func splitTraceParent(t *testing.T, tp string) (version, traceID, spanID, flags string) {
	t.Helper()
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || len(parts[1]) != 32 || len(parts[2]) != 16 || len(parts[3]) != 2 {
		t.Fatalf("malformed traceparent %q", tp)
	}
	return parts[0], parts[1], parts[2], parts[3]
}

func TestTraceMiddleware(t *testing.T) {
	tests := []struct {
		name        string
		traceparent string
		wantTraceID string // "" means a fresh one
		wantFlags   string
		wantParent  bool
	}{
		{"continues a sampled trace", "00-" + remoteTraceID + "-" + remoteSpanID + "-01", remoteTraceID, "01", true},
		{"continues an unsampled trace", "00-" + remoteTraceID + "-" + remoteSpanID + "-00", remoteTraceID, "00", true},
		{"no traceparent", "", "", "01", false},
		{"malformed", "00-zzzz-" + remoteSpanID + "-01", "", "01", false},
		{"all-zero trace id", "00-00000000000000000000000000000000-" + remoteSpanID + "-01", "", "01", false},
		{"wrong length", "00-" + remoteTraceID + "-00f067aa-01", "", "01", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, spans := newRecordingProvider(t)
			var inside, insideID string
			h := TraceMiddleware(tp, "/api/v1/tenants/{tenant}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inside, insideID = TraceParent(r.Context()), TraceID(r.Context())
				w.WriteHeader(http.StatusAccepted)
			}))
			req := httptest.NewRequest(http.MethodPost, "/api/v1/tenants/acme", nil)
			if tt.traceparent != "" {
				req.Header.Set(HeaderTraceParent, tt.traceparent)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)

			echoed := rr.Header().Get(HeaderTraceParent)
			_, traceID, spanID, flags := splitTraceParent(t, echoed)
			if echoed != inside {
				t.Errorf("response traceparent %q, handler saw %q", echoed, inside)
			}
			if insideID != traceID {
				t.Errorf("TraceID = %q, want %q", insideID, traceID)
			}
			if tt.wantTraceID != "" && traceID != tt.wantTraceID {
				t.Errorf("trace id %s, want %s", traceID, tt.wantTraceID)
			}
			if tt.wantTraceID == "" && traceID == remoteTraceID {
				t.Error("a malformed traceparent was continued")
			}
			if spanID == remoteSpanID {
				t.Error("the server span reused the caller's span id")
			}
			if flags != tt.wantFlags {
				t.Errorf("flags %s, want %s", flags, tt.wantFlags)
			}
			checkServerSpan(t, spans.Ended(), tt.wantFlags == "01", tt.wantParent)
		})
	}
}

// checkServerSpan checks the span the middleware recorded, if sampled.
func checkServerSpan(t *testing.T, ended []sdkReadOnlySpan, sampled, wantParent bool) {
	t.Helper()
	if !sampled {
		if len(ended) != 0 {
			t.Errorf("unsampled trace recorded %d spans", len(ended))
		}
		return
	}
	if len(ended) != 1 {
		t.Fatalf("recorded %d spans, want 1", len(ended))
	}
	s := ended[0]
	if s.Name() != "/api/v1/tenants/{tenant}" || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q kind %v", s.Name(), s.SpanKind())
	}
	if got := s.Parent().SpanID().String(); wantParent != (got == remoteSpanID) {
		t.Errorf("parent span id %s, want parent %v", got, wantParent)
	}
	if !hasAttr(s.Attributes(), semconv.HTTPResponseStatusCode(http.StatusAccepted)) {
		t.Errorf("span attributes %v lack the status", s.Attributes())
	}
}

// hasAttr reports whether attrs contains want.
func hasAttr(attrs []attribute.KeyValue, want attribute.KeyValue) bool {
	for _, a := range attrs {
		if a == want {
			return true
		}
	}
	return false
}

func TestTraceMiddlewareNoopProviderSetsNoHeader(t *testing.T) {
	h := TraceMiddleware(newNoopProvider(), "/x", http.NotFoundHandler())
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/x", nil))
	if got := rr.Header().Get(HeaderTraceParent); got != "" {
		t.Errorf("traceparent %q without a span", got)
	}
}

func TestTraceParentRoundTrip(t *testing.T) {
	stored := "00-" + remoteTraceID + "-" + remoteSpanID + "-01"
	tests := []struct {
		name        string
		traceparent string
		want        string
		wantID      string
	}{
		{"valid", stored, stored, remoteTraceID},
		{"unsampled", "00-" + remoteTraceID + "-" + remoteSpanID + "-00", "00-" + remoteTraceID + "-" + remoteSpanID + "-00", remoteTraceID},
		{"empty", "", "", ""},
		{"garbage", "not a traceparent", "", ""},
		{"zero span id", "00-" + remoteTraceID + "-0000000000000000-01", "", ""},
		{"version ff", "ff-" + remoteTraceID + "-" + remoteSpanID + "-01", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ContextWithTraceParent(context.Background(), tt.traceparent)
			if got := TraceParent(ctx); got != tt.want {
				t.Errorf("TraceParent = %q, want %q", got, tt.want)
			}
			if got := TraceID(ctx); got != tt.wantID {
				t.Errorf("TraceID = %q, want %q", got, tt.wantID)
			}
		})
	}
}

func TestContextWithTraceParentChildSpan(t *testing.T) {
	tp, _ := newRecordingProvider(t)
	ctx := ContextWithTraceParent(context.Background(), "00-"+remoteTraceID+"-"+remoteSpanID+"-01")
	ctx, span := tp.Tracer("test").Start(ctx, "relay.publish")
	defer span.End()
	_, traceID, spanID, _ := splitTraceParent(t, TraceParent(ctx))
	if traceID != remoteTraceID || spanID == remoteSpanID {
		t.Errorf("child traceparent %s", TraceParent(ctx))
	}
}

func TestNewTracerProviderWithoutExporter(t *testing.T) {
	t.Setenv(EnvOTLPEndpoint, "")
	t.Setenv(EnvOTLPTracesEndpoint, "")
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
	tp, err := NewTracerProvider(context.Background(), "iam-core")
	if err != nil {
		t.Fatalf("NewTracerProvider: %v", err)
	}
	defer func() { _ = tp.Shutdown(context.Background()) }()
	rec := tracetest.NewSpanRecorder()
	tp.RegisterSpanProcessor(rec)
	ctx, span := tp.Tracer("test").Start(context.Background(), "root")
	if !span.SpanContext().IsSampled() || TraceID(ctx) == "" {
		t.Errorf("root span not sampled or without trace id: %v", span.SpanContext())
	}
	span.End()
	ended := rec.Ended()
	if len(ended) != 1 || !hasAttr(ended[0].Resource().Attributes(), semconv.ServiceName("iam-core")) {
		t.Fatalf("no span with service.name iam-core: %v", ended)
	}
}

// TestNewTracerProviderExportsOTLP points the exporter at a local collector
// stand-in and checks that ended spans arrive as OTLP/HTTP protobuf.
func TestNewTracerProviderExportsOTLP(t *testing.T) {
	got := make(chan string, 4)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if len(body) > 0 {
			got <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type")
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(collector.Close)
	t.Setenv(EnvOTLPEndpoint, collector.URL)
	t.Setenv(EnvOTLPTracesEndpoint, "")

	tp, err := NewTracerProvider(context.Background(), "iam-edge")
	if err != nil {
		t.Fatalf("NewTracerProvider: %v", err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "exported")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case req := <-got:
		if req != "POST /v1/traces application/x-protobuf" {
			t.Errorf("collector got %q", req)
		}
	default:
		t.Fatal("no span reached the collector")
	}
}
