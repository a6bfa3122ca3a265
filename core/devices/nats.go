package devices

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// maxRequestBytes bounds a device request body (a signed request is about
// 250 bytes of JSON).
const maxRequestBytes = 4096

// requestTimeout bounds answering one request.
const requestTimeout = 10 * time.Second

// maxInflight bounds the device requests one core answers at once, over
// all subjects (each holds a database connection for a transaction).
// Beyond it the NATS callback waits, so requests queue in the
// subscription instead of piling onto the database.
const maxInflight = 16

// Serve answers devproto.RenewSubject, TokenSubject and SnapshotSubject on
// nc in the queue group devproto.CoreQueue until ctx ends. It returns
// after subscribing.
func (s *Service) Serve(ctx context.Context, nc *nats.Conn) error {
	handlers := map[string]func(context.Context, []byte) any{
		devproto.RenewSubject: func(ctx context.Context, body []byte) any {
			var req devproto.SignedRequest
			if decode(body, &req) != nil {
				return devproto.RenewReply{Error: s.outcome(ctx, "renew", "", "", errMalformed)}
			}
			return s.Renew(ctx, req)
		},
		devproto.TokenSubject: func(ctx context.Context, body []byte) any {
			var req devproto.SignedRequest
			if decode(body, &req) != nil {
				return devproto.TokenReply{Error: s.outcome(ctx, "token", "", "", errMalformed)}
			}
			return s.Token(ctx, req)
		},
		devproto.SnapshotSubject: func(ctx context.Context, body []byte) any {
			var req devproto.SnapshotRequest
			if decode(body, &req) != nil {
				return devproto.SnapshotReply{Error: s.outcome(ctx, "snapshot", "", "", errMalformed)}
			}
			return s.Snapshot(ctx, req)
		},
	}
	var subs []*nats.Subscription
	inflight := make(chan struct{}, maxInflight)
	for subject, h := range handlers {
		// NATS runs a subscription's callbacks one at a time: answer on a
		// goroutine so renewals, tokens and snapshots from every edge do not
		// queue behind each other (review finding), bounded by inflight.
		sub, err := nc.QueueSubscribe(subject, devproto.CoreQueue, func(msg *nats.Msg) {
			select {
			case inflight <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				defer func() { <-inflight }()
				s.answer(ctx, msg, h)
			}()
		})
		if err != nil {
			for _, x := range subs {
				_ = x.Unsubscribe()
			}
			return err
		}
		subs = append(subs, sub)
	}
	go func() {
		<-ctx.Done()
		for _, x := range subs {
			_ = x.Unsubscribe()
		}
	}()
	return nil
}

func (s *Service) answer(ctx context.Context, msg *nats.Msg, h func(context.Context, []byte) any) {
	if msg.Reply == "" {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	body, err := json.Marshal(h(rctx, msg.Data))
	if err != nil {
		s.log.ErrorContext(ctx, "device reply not encoded", "subject", msg.Subject, "error", err)
		return
	}
	if err := msg.Respond(body); err != nil {
		s.log.WarnContext(ctx, "device reply not sent", "subject", msg.Subject, "error", err)
	}
}

// decode parses a request body strictly (size cap, no unknown fields).
func decode(body []byte, v any) error {
	if len(body) > maxRequestBytes {
		return errors.New("devices: request too large")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("devices: trailing data")
	}
	return nil
}
