package natsembed

import (
	"context"
	"fmt"
	"log/slog"
)

// Logger implements the nats-server Logger interface on a *slog.Logger.
// Messages are formatted by the server, so they go under the "nats_msg" key
// with one fixed slog message.
type Logger struct {
	Log *slog.Logger
}

func (l Logger) emit(level slog.Level, format string, v []any) {
	ctx := context.Background()
	if !l.Log.Enabled(ctx, level) {
		return
	}
	l.Log.Log(ctx, level, "nats server", slog.String("nats_msg", fmt.Sprintf(format, v...)))
}

// Noticef logs at info level.
func (l Logger) Noticef(format string, v ...any) { l.emit(slog.LevelInfo, format, v) }

// Warnf logs at warn level.
func (l Logger) Warnf(format string, v ...any) { l.emit(slog.LevelWarn, format, v) }

// Errorf logs at error level.
func (l Logger) Errorf(format string, v ...any) { l.emit(slog.LevelError, format, v) }

// Debugf logs at debug level.
func (l Logger) Debugf(format string, v ...any) { l.emit(slog.LevelDebug, format, v) }

// Tracef logs below debug: the server's protocol traces are verbose.
func (l Logger) Tracef(format string, v ...any) { l.emit(slog.LevelDebug-4, format, v) }

// Fatalf logs at error level with fatal=true. It never exits the process:
// the component that owns the server decides what a failure means.
func (l Logger) Fatalf(format string, v ...any) {
	l.Log.Error("nats server", slog.String("nats_msg", fmt.Sprintf(format, v...)), slog.Bool("fatal", true))
}
