package decide

import (
	"errors"
	"fmt"

	"github.com/melmastoon/iam/core/keys"
)

// Token refusals. Every error VerifyToken and CheckToken return wraps
// exactly one of them (and, when core/keys rejected the token, the
// core/keys reason too); Reason maps it to a metric label.
var (
	ErrMalformed       = errors.New("decide: token malformed")
	ErrBadSignature    = errors.New("decide: token signature or algorithm not accepted")
	ErrExpired         = errors.New("decide: token expired")
	ErrNotYetValid     = errors.New("decide: token not valid yet")
	ErrUnknownKey      = errors.New("decide: token signed by an unknown or retired key")
	ErrWrongIssuer     = errors.New("decide: token issuer not accepted")
	ErrWrongAudience   = errors.New("decide: token audience not accepted")
	ErrRevokedSession  = errors.New("decide: session revoked")
	ErrAccountInactive = errors.New("decide: account unknown, locked or disabled")
	ErrUnknownTenant   = errors.New("decide: tenant unknown or deleted")
)

var reasonLabels = []struct {
	err   error
	label string
}{
	{ErrMalformed, "malformed"}, {ErrBadSignature, "bad_signature"}, {ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"}, {ErrUnknownKey, "unknown_key"}, {ErrWrongIssuer, "wrong_issuer"},
	{ErrWrongAudience, "wrong_audience"}, {ErrRevokedSession, "revoked_session"},
	{ErrAccountInactive, "account_inactive"}, {ErrUnknownTenant, "unknown_tenant"},
}

// Reason returns the stable label of a VerifyToken error: "ok" for nil,
// one of "malformed", "bad_signature", "expired", "not_yet_valid",
// "unknown_key", "wrong_issuer", "wrong_audience", "revoked_session",
// "account_inactive", "unknown_tenant", or "other".
func Reason(err error) string {
	if err == nil {
		return "ok"
	}
	for _, r := range reasonLabels {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "other"
}

// keysErrors maps core/keys reasons onto ours. An algorithm other than
// EdDSA (alg=none, HS256 keyed with the public key, ...) is a signature
// refusal; a wrong typ, a missing claim or an oversized token is malformed.
var keysErrors = []struct{ from, to error }{
	{keys.ErrAlgorithm, ErrBadSignature},
	{keys.ErrBadSignature, ErrBadSignature},
	{keys.ErrUnknownKey, ErrUnknownKey},
	{keys.ErrExpired, ErrExpired},
	{keys.ErrNotYetValid, ErrNotYetValid},
	{keys.ErrWrongIssuer, ErrWrongIssuer},
	{keys.ErrWrongAudience, ErrWrongAudience},
}

// fromKeys wraps a core/keys Verify error with our sentinel.
func fromKeys(err error) error {
	for _, m := range keysErrors {
		if errors.Is(err, m.from) {
			return fmt.Errorf("%w: %w", m.to, err)
		}
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}
