package obs

import (
	"net/http"
	"strconv"
	"time"
)

// knownMethods are the HTTP methods kept as label values; any other method is
// counted as "other" so a client cannot grow the series without bound.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true,
	http.MethodPut: true, http.MethodPatch: true, http.MethodDelete: true,
	http.MethodOptions: true, http.MethodConnect: true, http.MethodTrace: true,
}

// methodLabel returns the label value for an HTTP method.
func methodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return "other"
}

// InstrumentRoute wraps next so that each request is counted in
// http_requests_total (and http_request_errors_total when the status is 400 or
// more) and timed in http_request_duration_seconds, labelled with route. Pass
// the route PATTERN ("/api/v1/tenants/{tenant}"), never the request path.
// The wrapped ResponseWriter keeps http.Flusher and Unwrap, so streaming,
// http.ResponseController and WebSocket upgrades work through it; an upgraded
// connection is counted with status 101 when its handler returns. A handler
// that panics is counted as 500 and the panic goes on.
func (m *Metrics) InstrumentRoute(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := newStatusRecorder(w)
		start := time.Now()
		method := methodLabel(r.Method)
		defer func() {
			status := rec.Status()
			if p := recover(); p != nil {
				if !rec.wroteHeader {
					status = http.StatusInternalServerError
				}
				m.observeHTTP(route, method, status, time.Since(start))
				panic(p)
			}
			m.observeHTTP(route, method, status, time.Since(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

// observeHTTP records one finished request.
func (m *Metrics) observeHTTP(route, method string, status int, elapsed time.Duration) {
	code := strconv.Itoa(status)
	m.HTTPRequests.WithLabelValues(route, method, code).Inc()
	if status >= http.StatusBadRequest {
		m.HTTPErrors.WithLabelValues(route, method, code).Inc()
	}
	m.HTTPDuration.WithLabelValues(route, method).Observe(elapsed.Seconds())
}
