package auth

import (
	"context"
	"errors"
	"slices"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/store"
)

// Principal is a verified caller of the admin API.
type Principal struct {
	Account store.AccountID
	Session store.SessionID
	AMR     []string
}

// VerifyAccessToken verifies a bearer token of the tenant in tx: signature,
// issuer, audience, lifetime, tenant, a live session and an active account.
func (s *Service) VerifyAccessToken(ctx context.Context, tx *store.Tx, slug, token string) (Principal, error) {
	p, err := s.verifyAccessToken(ctx, tx, slug, token)
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) {
			s.metrics.tokenRejects.WithLabelValues(te.Reason).Inc()
		}
	}
	return p, err
}

func (s *Service) verifyAccessToken(ctx context.Context, tx *store.Tx, slug, token string) (Principal, error) {
	set, err := s.keySet(ctx, tx)
	if err != nil {
		return Principal{}, err
	}
	v, err := keys.NewVerifier(keys.VerifierConfig{Issuer: s.Issuer(slug), Audience: s.cfg.Audience,
		Keys: set, ClockSkew: s.cfg.ClockSkew, Now: s.cfg.Now})
	if err != nil {
		return Principal{}, err
	}
	claims, err := v.Verify(token)
	if err != nil {
		return Principal{}, &TokenError{Reason: keys.Reason(err), Err: err}
	}
	if claims.TenantID != tx.Tenant().String() {
		return Principal{}, &TokenError{Reason: "wrong_tenant", Err: ErrTokenInvalid}
	}
	acc, err1 := store.ParseAccountID(claims.Subject)
	sid, err2 := store.ParseSessionID(claims.SessionID)
	if err1 != nil || err2 != nil {
		return Principal{}, &TokenError{Reason: "malformed", Err: ErrTokenInvalid}
	}
	if slices.Contains(claims.AMR, AMRDevice) {
		// A device token's sid is its device: live while the device is.
		if !deviceTokenLive(ctx, tx, claims.SessionID, acc) {
			return Principal{}, &TokenError{Reason: "session_revoked", Err: ErrTokenInvalid}
		}
	} else if sess, err := tx.GetSession(ctx, sid); err != nil || sess.RevokedAt != nil || sess.AccountID != acc {
		return Principal{}, &TokenError{Reason: "session_revoked", Err: ErrTokenInvalid}
	}
	a, err := tx.GetAccount(ctx, acc)
	if err != nil || a.Status != store.AccountActive {
		return Principal{}, &TokenError{Reason: "account_inactive", Err: ErrTokenInvalid}
	}
	return Principal{Account: acc, Session: sid, AMR: claims.AMR}, nil
}
