package obs

import (
	"io"
	"log/slog"
)

// NewLogger returns a JSON logger writing to w that drops records below
// level, redacts credentials (see [NewRedactingHandler]) and adds trace_id
// and span_id to records logged with a context that carries a span (see
// [NewTraceHandler]). It never installs itself as slog's default logger.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	json := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(NewTraceHandler(NewRedactingHandler(json)))
}
