package leaf

import (
	"context"
	"fmt"
	"log/slog"
)

// serverLogger adapts the nats-server Logger interface to slog. Messages
// are formatted by the server, so they go under the "nats_msg" key with a
// fixed slog message per level.
// It repeats core/hub's adapter on purpose: edge does not import core.
type serverLogger struct {
	log *slog.Logger
}

func (l serverLogger) emit(level slog.Level, format string, v []any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, "nats server", slog.String("nats_msg", fmt.Sprintf(format, v...)))
}

func (l serverLogger) Noticef(format string, v ...any) { l.emit(slog.LevelInfo, format, v) }
func (l serverLogger) Warnf(format string, v ...any)   { l.emit(slog.LevelWarn, format, v) }
func (l serverLogger) Errorf(format string, v ...any)  { l.emit(slog.LevelError, format, v) }
func (l serverLogger) Debugf(format string, v ...any)  { l.emit(slog.LevelDebug, format, v) }

// Tracef logs below debug: the server's protocol traces are verbose.
func (l serverLogger) Tracef(format string, v ...any) { l.emit(slog.LevelDebug-4, format, v) }

// Fatalf logs at error level with fatal=true. It never exits the process:
// the component that owns the hub decides what a failure means.
func (l serverLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats server", slog.String("nats_msg", fmt.Sprintf(format, v...)), slog.Bool("fatal", true))
}
