package obs

import "net/http"

// statusRecorder wraps an http.ResponseWriter to remember the final status
// code. It implements http.Flusher and Unwrap; other optional interfaces
// (Hijacker, deadlines, full-duplex) are reached through Unwrap by
// http.ResponseController and by libraries that follow it (coder/websocket).
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

// newStatusRecorder wraps w.
func newStatusRecorder(w http.ResponseWriter) *statusRecorder {
	return &statusRecorder{ResponseWriter: w, status: http.StatusOK}
}

// WriteHeader records the first final status (1xx informational responses
// other than 101 Switching Protocols are passed on without being recorded).
func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
		r.wroteHeader = true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 when no status was written.
func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(p)
}

// Flush sends buffered data to the client; it does nothing when the wrapped
// writer cannot flush.
func (r *statusRecorder) Flush() {
	r.wroteHeader = true
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (r *statusRecorder) Unwrap() http.ResponseWriter {
	return r.ResponseWriter
}

// Status returns the recorded status: 200 when the handler wrote nothing.
func (r *statusRecorder) Status() int {
	return r.status
}
