package devices

import (
	"errors"

	"github.com/melmastoon/iam/syncproto/devproto"
)

// Enrollment refusals; the API maps each to a MELMASTOON.IAM.DEVICE.* code.
var (
	// ErrWeakKey reports a public key that is not 32 bytes or has small
	// order (devcert.IsWeakPublicKey).
	ErrWeakKey = errors.New("devices: unusable public key")
	// ErrBadProof reports a proof-of-possession signature that does not
	// verify.
	ErrBadProof = errors.New("devices: proof of possession does not verify")
	// ErrTooManyGenerations reports a rotation while MaxActiveGenerations
	// CA generations are active: the published set would exceed what
	// devcert accepts in a trust bundle.
	ErrTooManyGenerations = errors.New("devices: too many active CA generations")
)

// refusal is a request the service answers with a devproto error code;
// reason is the precise cause for logs and metrics.
type refusal struct {
	code   string
	reason string
}

func (r *refusal) Error() string { return "devices: refused (" + r.reason + ")" }

func refuse(code, reason string) error { return &refusal{code: code, reason: reason} }

var (
	errMalformed    = refuse(devproto.ErrCodeBadRequest, "malformed")
	errStaleNonce   = refuse(devproto.ErrCodeBadRequest, "stale_nonce")
	errReplayed     = refuse(devproto.ErrCodeBadRequest, "replayed_nonce")
	errBadSignature = refuse(devproto.ErrCodeBadRequest, "bad_signature")
	errNotFound     = refuse(devproto.ErrCodeNotFound, "not_found")
	errRevoked      = refuse(devproto.ErrCodeRevoked, "revoked")
	errExpired      = refuse(devproto.ErrCodeExpired, "expired")
	errAccount      = refuse(devproto.ErrCodeAccount, "account_state")
	errNoChain      = refuse(devproto.ErrCodeUnavailable, "no_chain")
)

// classify returns the wire code and metric label of err.
func classify(err error) (code, result string) {
	var r *refusal
	switch {
	case err == nil:
		return "", "ok"
	case errors.As(err, &r):
		return r.code, r.reason
	case isUnavailable(err):
		return devproto.ErrCodeUnavailable, "unavailable"
	}
	return devproto.ErrCodeInternal, "internal"
}
