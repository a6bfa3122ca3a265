package hub

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// remoteReconnectWait paces reconnection to a remote hub.
const remoteReconnectWait = 500 * time.Millisecond

// Remote is a hub in another process, reached over its client listener:
// a second core instance uses the first one's hub. It offers the same
// publishing surface as Hub (what the relay needs).
type Remote struct {
	nc         *nats.Conn
	js         jetstream.JetStream
	maxMsgSize int32
}

// Dial connects to the hub at url (nats://host:port) as user and keeps
// reconnecting for as long as the Remote is open.
func Dial(ctx context.Context, url, user, password string, log *slog.Logger) (*Remote, error) {
	nc, err := nats.Connect(url, nats.UserInfo(user, password), nats.Name("iam-core-remote"),
		nats.MaxReconnects(-1), nats.ReconnectWait(remoteReconnectWait), nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.WarnContext(ctx, "remote hub disconnected", "error", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.InfoContext(ctx, "remote hub reconnected") }))
	if err != nil {
		return nil, fmt.Errorf("hub: dial %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("hub: jetstream: %w", err)
	}
	return &Remote{nc: nc, js: js, maxMsgSize: DefaultStreamMaxMsgSize}, nil
}

// PublishDelta is Hub.PublishDelta through the remote connection.
func (r *Remote) PublishDelta(ctx context.Context, subject string, data []byte, msgID string,
	expectedLastSeq uint64, headers nats.Header) (uint64, error) {
	return publishDelta(ctx, r.js, r.maxMsgSize, subject, data, msgID, expectedLastSeq, headers)
}

// LastSequence is the stream's last sequence.
func (r *Remote) LastSequence(ctx context.Context) (uint64, error) {
	s, err := r.js.Stream(ctx, StreamName)
	if err != nil {
		return 0, fmt.Errorf("hub: stream: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("hub: stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

// Conn is the client connection.
func (r *Remote) Conn() *nats.Conn { return r.nc }

// JetStream is the JetStream handle of the connection.
func (r *Remote) JetStream() jetstream.JetStream { return r.js }

// Close closes the connection.
func (r *Remote) Close() { r.nc.Close() }
