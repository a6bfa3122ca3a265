package leaf

import "errors"

// Errors of the leaf node.
var (
	// ErrInvalidConfig reports a Config that CheckAndSetDefaults rejects.
	ErrInvalidConfig = errors.New("leaf: invalid config")
	// ErrNotStarted reports a call that needs a running leaf.
	ErrNotStarted = errors.New("leaf: not started")
	// ErrAlreadyStarted reports a second call to Start.
	ErrAlreadyStarted = errors.New("leaf: already started")
	// ErrClosed reports Start on a Leaf that was closed.
	ErrClosed = errors.New("leaf: closed")
	// ErrNotReady reports a server that did not become ready in time.
	ErrNotReady = errors.New("leaf: server not ready")
	// ErrInvalidRange reports FetchRange with fromSeq 0, toSeq < fromSeq or
	// more than MaxFetchRange messages.
	ErrInvalidRange = errors.New("leaf: invalid sequence range")
	// ErrRangeUnavailable reports a range that starts before the hub's
	// first stored sequence (aged out by the stream limits) or ends after
	// its last: the edge must bootstrap from a signed snapshot.
	ErrRangeUnavailable = errors.New("leaf: sequence range not in the hub stream")
	// ErrMsgNotFound reports GetMsg for a sequence the hub does not hold.
	ErrMsgNotFound = errors.New("leaf: message not found")
)
