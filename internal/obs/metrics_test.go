package obs

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const tenantRoute = "/api/v1/tenants/{tenant}"

func TestInstrumentRouteRecordsSeries(t *testing.T) {
	m := NewMetrics()
	mux := http.NewServeMux()
	mux.Handle(tenantRoute, m.InstrumentRoute(tenantRoute, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("tenant") {
		case "missing":
			http.NotFound(w, r)
		case "broken":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	})))
	requests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/api/v1/tenants/acme", 200},
		{http.MethodGet, "/api/v1/tenants/globex", 200},
		{http.MethodGet, "/api/v1/tenants/missing", 404},
		{http.MethodPost, "/api/v1/tenants/broken", 503},
		{"BREW", "/api/v1/tenants/acme", 200},
	}
	for _, rq := range requests {
		rr := httptest.NewRecorder()
		mux.ServeHTTP(rr, httptest.NewRequest(rq.method, rq.path, nil))
		if rr.Code != rq.want {
			t.Fatalf("%s %s: status %d, want %d", rq.method, rq.path, rr.Code, rq.want)
		}
	}
	text := scrape(t, m)
	assertContainsAll(t, text,
		`http_requests_total{code="200",method="GET",route="/api/v1/tenants/{tenant}"} 2`,
		`http_requests_total{code="404",method="GET",route="/api/v1/tenants/{tenant}"} 1`,
		`http_requests_total{code="503",method="POST",route="/api/v1/tenants/{tenant}"} 1`,
		`http_requests_total{code="200",method="other",route="/api/v1/tenants/{tenant}"} 1`,
		`http_request_errors_total{code="404",method="GET",route="/api/v1/tenants/{tenant}"} 1`,
		`http_request_errors_total{code="503",method="POST",route="/api/v1/tenants/{tenant}"} 1`,
		`http_request_duration_seconds_count{method="GET",route="/api/v1/tenants/{tenant}"} 3`,
		`http_request_duration_seconds_bucket{method="GET",route="/api/v1/tenants/{tenant}",le="5e-05"}`,
		`http_request_duration_seconds_bucket{method="GET",route="/api/v1/tenants/{tenant}",le="10"} 3`,
		"go_goroutines ",
		"process_start_time_seconds ",
	)
	for _, path := range []string{"acme", "globex"} {
		if strings.Contains(text, path) {
			t.Errorf("exposition contains the raw path segment %q", path)
		}
	}
	if strings.Contains(text, `http_request_errors_total{code="200"`) {
		t.Error("a 200 was counted as an error")
	}
}

func TestNewMetricsRegistriesAreIndependent(t *testing.T) {
	a, b := NewMetrics(), NewMetrics()
	a.InstrumentRoute("/a", http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/a", nil))
	if strings.Contains(scrape(t, b), `route="/a"`) {
		t.Error("a series of one Metrics shows in another")
	}
}

func TestInstrumentRoutePanicCountsAs500(t *testing.T) {
	m := NewMetrics()
	h := m.InstrumentRoute("/panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic was swallowed")
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/panic", nil))
	}()
	assertContainsAll(t, scrape(t, m), `http_request_errors_total{code="500",method="GET",route="/panic"} 1`)
}

func TestStatusRecorder(t *testing.T) {
	tests := []struct {
		name  string
		write func(http.ResponseWriter)
		want  int
	}{
		{"nothing written", func(http.ResponseWriter) {}, 200},
		{"body only", func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")) }, 200},
		{"explicit", func(w http.ResponseWriter) { w.WriteHeader(201) }, 201},
		{"first wins", func(w http.ResponseWriter) { w.WriteHeader(409); w.WriteHeader(500) }, 409},
		{"early hints then final", func(w http.ResponseWriter) { w.WriteHeader(103); w.WriteHeader(204) }, 204},
		{"flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush(); w.WriteHeader(500) }, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newStatusRecorder(httptest.NewRecorder())
			tt.write(rec)
			if got := rec.Status(); got != tt.want {
				t.Errorf("Status() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestInstrumentRouteKeepsStreamingAndController runs a real server: the
// handler streams with http.Flusher and sets a deadline through
// http.ResponseController, which only works when Unwrap reaches the
// connection's writer.
func TestInstrumentRouteKeepsStreamingAndController(t *testing.T) {
	m := NewMetrics()
	h := m.InstrumentRoute("/stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		f, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "no flusher", http.StatusInternalServerError)
			return
		}
		for _, line := range []string{"one\n", "two\n"} {
			_, _ = w.Write([]byte(line))
			f.Flush()
		}
	}))
	srv := httptest.NewServer(TraceMiddleware(newNoopProvider(), "/stream", h))
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.URL + "/stream")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	if strings.Join(got, ",") != "one,two" {
		t.Errorf("body lines %v", got)
	}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("response was not streamed: %v", resp.TransferEncoding)
	}
	srv.Client().CloseIdleConnections()
}

// TestInstrumentRouteWebSocket upgrades a WebSocket through both middlewares
// with coder/websocket, which hijacks through Unwrap.
func TestInstrumentRouteWebSocket(t *testing.T) {
	m := NewMetrics()
	tp, _ := newRecordingProvider(t)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		_ = c.Write(r.Context(), typ, msg)
		_ = c.Close(websocket.StatusNormalClosure, "")
	})
	srv := httptest.NewServer(TraceMiddleware(tp, "/sync", m.InstrumentRoute("/sync", echo)))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/sync", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	if resp.Header.Get(HeaderTraceParent) == "" {
		t.Error("upgrade response lacks traceparent")
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, msg, err := c.Read(ctx)
	if err != nil || string(msg) != "hello" {
		t.Fatalf("read %q, %v", msg, err)
	}
	_, _, _ = c.Read(ctx) // receive the server's close frame
	want := `http_requests_total{code="101",method="GET",route="/sync"} 1`
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(scrape(t, m), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
