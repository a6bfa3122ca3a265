package relay

import (
	"errors"

	"github.com/melmastoon/iam/core/hub"
)

// Errors of the relay.
var (
	// ErrInvalidConfig reports a Config that CheckAndSetDefaults rejects.
	ErrInvalidConfig = errors.New("relay: invalid config")
	// ErrNonIntegerNumber reports outbox data holding a JSON number that is
	// not an integer in the int64/uint64 range; deltas carry no floats.
	ErrNonIntegerNumber = errors.New("relay: outbox data holds a number that is not an integer")
	// ErrBadOutboxData reports outbox data that is not a single JSON value
	// or nests deeper than an envelope allows (syncproto.MaxNestedLevels - 1).
	ErrBadOutboxData = errors.New("relay: outbox data is not convertible to CBOR")
	// ErrDuplicatePublish reports a publish that the stream absorbed as a
	// duplicate of an earlier message id: the relay's view is stale and it
	// reconciles before publishing again.
	ErrDuplicatePublish = errors.New("relay: stream absorbed the delta as a duplicate")
	// ErrNotLeader reports that another relay holds the leader lock.
	ErrNotLeader = errors.New("relay: another relay is leader")
	// ErrLeadershipLost reports that the leader connection failed.
	ErrLeadershipLost = errors.New("relay: leader connection lost")
	// ErrUnknownTenantKeys reports a tenant chain whose keys are missing.
	ErrUnknownTenantKeys = errors.New("relay: tenant delta keys missing")
)

// isWrongLastSequence reports whether err is the hub's expected-last-
// sequence refusal.
func isWrongLastSequence(err error) bool { return errors.Is(err, hub.ErrWrongLastSequence) }
