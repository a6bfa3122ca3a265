package syncproto

import "errors"

// Sentinel errors. Every error returned by Verify, Accept, the snapshot
// loader and the decoders wraps exactly one of them, so callers test with
// errors.Is and count with Reason.
var (
	// ErrTooLarge: the input exceeds MaxMessageSize (or MaxSnapshotChunkSize);
	// it was rejected before decoding.
	ErrTooLarge = errors.New("syncproto: message too large")
	// ErrMalformed: not a well-formed, canonical message of the expected shape.
	ErrMalformed = errors.New("syncproto: malformed message")
	// ErrBadSignature: the signature does not verify under the signer's key,
	// or the message asks for an algorithm other than EdDSA.
	ErrBadSignature = errors.New("syncproto: signature does not verify")
	// ErrUnknownKey: the kid is not the root and not an active delta key
	// (never introduced, or retired).
	ErrUnknownKey = errors.New("syncproto: unknown or retired signing key")
	// ErrUnauthorizedKey: a known key signed something only the root may
	// sign (a key rotation or a snapshot).
	ErrUnauthorizedKey = errors.New("syncproto: key not authorized for this message")
	// ErrRollback: the sequence is at or below the last applied one (and is
	// not an exact duplicate), or a checkpoint is older than the newest seen.
	ErrRollback = errors.New("syncproto: sequence rollback")
	// ErrDuplicate: the message is the one most recently applied (same seq,
	// same chain hash) or the newest checkpoint again; safe to ignore.
	ErrDuplicate = errors.New("syncproto: duplicate message")
	// ErrGap: the sequence is beyond last+1; fetch the missing range or a
	// snapshot.
	ErrGap = errors.New("syncproto: sequence gap")
	// ErrChainBroken: prev does not match the hash of the last applied delta,
	// or a checkpoint names another hash for the same sequence.
	ErrChainBroken = errors.New("syncproto: hash chain broken")
	// ErrWrongTenant: the message belongs to another tenant.
	ErrWrongTenant = errors.New("syncproto: wrong tenant")
	// ErrStale: the newest signed checkpoint is older than the freshness
	// window (freeze), or an offered checkpoint is already too old.
	ErrStale = errors.New("syncproto: data older than freshness window")
	// ErrUnsupportedVersion: the protected header names another protocol
	// version.
	ErrUnsupportedVersion = errors.New("syncproto: unsupported protocol version")
	// ErrCriticalHeader: the protected header marks as critical a label this
	// package does not understand.
	ErrCriticalHeader = errors.New("syncproto: unknown critical header")
	// ErrNotVerified: Accept was given an envelope that this verifier did not
	// return from Verify.
	ErrNotVerified = errors.New("syncproto: envelope was not verified by this verifier")
)

var reasons = []struct {
	err   error
	label string
}{
	{ErrTooLarge, "too_large"},
	{ErrMalformed, "malformed"},
	{ErrBadSignature, "bad_signature"},
	{ErrUnknownKey, "unknown_key"},
	{ErrUnauthorizedKey, "unauthorized_key"},
	{ErrRollback, "rollback"},
	{ErrDuplicate, "duplicate"},
	{ErrGap, "gap"},
	{ErrChainBroken, "chain"},
	{ErrWrongTenant, "wrong_tenant"},
	{ErrStale, "stale"},
	{ErrUnsupportedVersion, "unsupported_version"},
	{ErrCriticalHeader, "critical_header"},
	{ErrNotVerified, "not_verified"},
}

// Reason maps an error from this package to a short, fixed metric label:
// "ok" for nil, one label per sentinel, "other" for anything else.
func Reason(err error) string {
	if err == nil {
		return "ok"
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "other"
}
