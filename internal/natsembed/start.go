package natsembed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrNotReady is returned when the server does not accept connections
// within the bound.
var ErrNotReady = errors.New("natsembed: server not ready for connections")

// Start builds a server from opts, routes its logs to log (debug and trace
// only when log enables them), starts it and waits until it accepts
// connections, at most readyTimeout or until ctx's deadline. The server is
// returned whenever it was built, also with ErrNotReady, so the caller can
// shut it down.
func Start(ctx context.Context, opts *server.Options, log *slog.Logger, readyTimeout time.Duration) (*server.Server, error) {
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsembed: new server: %w", err)
	}
	l := Logger{Log: log}
	srv.SetLoggerV2(l, log.Enabled(ctx, slog.LevelDebug), log.Enabled(ctx, slog.LevelDebug-4), false)
	srv.Start()
	if !srv.ReadyForConnections(readyWait(ctx, readyTimeout)) {
		return srv, ErrNotReady
	}
	return srv, nil
}

// readyWait is limit, shortened to what is left of ctx's deadline.
func readyWait(ctx context.Context, limit time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < limit {
			return max(left, time.Millisecond)
		}
	}
	return limit
}
