package devsync

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// ErrCoreUnavailable reports that there is no NATS connection to core (yet).
var ErrCoreUnavailable = errors.New("devsync: core unavailable")

// Core sends one request to core and returns its reply body. Any error
// means core did not answer (unreachable, no responder, timeout).
type Core interface {
	Request(ctx context.Context, subject string, body []byte) ([]byte, error)
}

// NATSCore forwards over a NATS connection, in the edge the leaf node's
// connection to the hub. Conn is called per request, so the connection may
// appear after the server starts; nil answers ErrCoreUnavailable.
type NATSCore struct {
	Conn func() *nats.Conn
}

// Request sends body on subject and waits for the reply until ctx ends.
func (c NATSCore) Request(ctx context.Context, subject string, body []byte) ([]byte, error) {
	var nc *nats.Conn
	if c.Conn != nil {
		nc = c.Conn()
	}
	if nc == nil {
		return nil, ErrCoreUnavailable
	}
	msg, err := nc.RequestWithContext(ctx, subject, body)
	if err != nil {
		return nil, fmt.Errorf("devsync: request %s: %w", subject, err)
	}
	return msg.Data, nil
}
