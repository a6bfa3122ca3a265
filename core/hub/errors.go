package hub

import "errors"

// Errors of the hub.
var (
	// ErrInvalidConfig reports a Config that CheckAndSetDefaults rejects.
	ErrInvalidConfig = errors.New("hub: invalid config")
	// ErrNotStarted reports a call that needs a running hub before Start or
	// after Close.
	ErrNotStarted = errors.New("hub: not started")
	// ErrAlreadyStarted reports a second call to Start.
	ErrAlreadyStarted = errors.New("hub: already started")
	// ErrClosed reports Start on a Hub that was closed; make a new one.
	ErrClosed = errors.New("hub: closed")
	// ErrNotReady reports a server that did not accept connections in time.
	ErrNotReady = errors.New("hub: server not ready for connections")
	// ErrWrongLastSequence reports a PublishDelta whose expected last
	// sequence is not the stream's last sequence: another publisher appended
	// first. Nothing was stored. The caller must re-read the stream state
	// (LastSequence) before it publishes again.
	ErrWrongLastSequence = errors.New("hub: stream last sequence is not the expected one")
	// ErrMessageTooLarge reports a delta larger than Config.StreamMaxMsgSize.
	ErrMessageTooLarge = errors.New("hub: delta larger than the stream's maximum message size")
	// ErrMissingMsgID reports a PublishDelta without a message id, which
	// would defeat de-duplication.
	ErrMissingMsgID = errors.New("hub: delta needs a message id")
	// ErrSubjectOutsideStream reports a subject outside StreamSubjects.
	ErrSubjectOutsideStream = errors.New("hub: subject is not in the delta stream")
)
