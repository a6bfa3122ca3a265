package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// streamConfig is the desired configuration of the delta stream.
func (h *Hub) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "signed IAM deltas published by the core outbox relay",
		Subjects:    []string{StreamSubjects},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      h.cfg.StreamMaxAge,
		MaxBytes:    h.cfg.StreamMaxBytes,
		MaxMsgSize:  h.cfg.StreamMaxMsgSize,
		Duplicates:  h.cfg.DuplicateWindow,
		Replicas:    1,
		DenyDelete:  true,
		DenyPurge:   true,
		AllowDirect: true, // edges re-fetch gaps with direct get
	}
}

// ensureStream creates the stream or updates it to the configured limits.
// Running it on every start makes a limit change in Config take effect.
func (h *Hub) ensureStream(ctx context.Context) error {
	if _, err := h.js.CreateOrUpdateStream(ctx, h.streamConfig()); err != nil {
		return fmt.Errorf("hub: create or update stream %s: %w", StreamName, err)
	}
	return nil
}

// StreamInfo returns the delta stream's configuration and state.
func (h *Hub) StreamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	js, err := h.jetStream()
	if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		return nil, fmt.Errorf("hub: stream %s: %w", StreamName, err)
	}
	return s.CachedInfo(), nil
}

// LastSequence is the sequence of the newest delta in the stream (0 when
// empty): what the next PublishDelta must expect.
func (h *Hub) LastSequence(ctx context.Context) (uint64, error) {
	info, err := h.StreamInfo(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// PublishDelta appends one delta to the stream and returns its sequence.
//
// msgID goes into Nats-Msg-Id: a second publish with the same id inside
// Config.DuplicateWindow stores nothing and returns the first sequence.
// expectedLastSeq is the stream's last sequence the caller believes in (0
// for an empty stream); when another publisher has appended since, the
// server refuses and PublishDelta returns ErrWrongLastSequence, so two
// relays cannot interleave their deltas. The server checks the expectation
// before de-duplication: a retry after a lost acknowledgement must re-read
// LastSequence, and then its duplicate id is absorbed.
//
// headers (traceparent, …) are copied; PublishDelta never modifies them.
func (h *Hub) PublishDelta(ctx context.Context, subject string, data []byte, msgID string,
	expectedLastSeq uint64, headers nats.Header) (uint64, error) {
	js, err := h.jetStream()
	if err != nil {
		return 0, err
	}
	return publishDelta(ctx, js, h.cfg.StreamMaxMsgSize, subject, data, msgID, expectedLastSeq, headers)
}

// publishDelta is PublishDelta on any JetStream handle (embedded or remote).
func publishDelta(ctx context.Context, js jetstream.JetStream, maxMsgSize int32, subject string, data []byte,
	msgID string, expectedLastSeq uint64, headers nats.Header) (uint64, error) {
	if err := checkDelta(maxMsgSize, subject, data, msgID); err != nil {
		return 0, err
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: copyHeader(headers)}
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID),
		jetstream.WithExpectLastSequence(expectedLastSeq), jetstream.WithExpectStream(StreamName))
	if err != nil {
		return 0, publishError(err)
	}
	return ack.Sequence, nil
}

func checkDelta(maxMsgSize int32, subject string, data []byte, msgID string) error {
	if msgID == "" {
		return ErrMissingMsgID
	}
	if !strings.HasPrefix(subject, SubjectPrefix) || len(subject) == len(SubjectPrefix) {
		return fmt.Errorf("%w: %q", ErrSubjectOutsideStream, subject)
	}
	if len(data) > int(maxMsgSize) {
		return fmt.Errorf("%w: %d bytes", ErrMessageTooLarge, len(data))
	}
	return nil
}

// errCodeMessageExceedsMaximum is the server's JSStreamMessageExceedsMaximumErr
// (nats.go has no constant for it).
const errCodeMessageExceedsMaximum jetstream.ErrorCode = 10054

func publishError(err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant:
			return fmt.Errorf("%w: %s", ErrWrongLastSequence, apiErr.Description)
		case errCodeMessageExceedsMaximum:
			return fmt.Errorf("%w: %s", ErrMessageTooLarge, apiErr.Description)
		}
	}
	return fmt.Errorf("hub: publish delta: %w", err)
}

func copyHeader(h nats.Header) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		out[k] = append([]string(nil), v...)
	}
	return out
}
