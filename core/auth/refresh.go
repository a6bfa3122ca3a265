package auth

import (
	"context"
	"errors"
	"time"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/store"
)

// Refresh exchanges a refresh token for a new pair (RFC 6749 §6). The old
// token is spent. Within RefreshGrace of its rotation the same old token
// returns the same new pair (two tabs, a lost response); after that, using
// it again is reuse: the whole session is revoked (session.reuse_detected,
// with a session.revoked delta) and the grant fails.
func (s *Service) Refresh(ctx context.Context, slug, refreshToken string, meta Meta) (Tokens, error) {
	start := s.cfg.Now()
	result := "invalid"
	defer func() {
		s.metrics.refreshes.WithLabelValues(result).Inc()
		s.metrics.refreshDuration.Observe(time.Since(start).Seconds())
	}()
	if keys.CheckRefreshTokenFormat(refreshToken) != nil {
		return Tokens{}, ErrInvalidGrant
	}
	hash := keys.HashRefreshToken(refreshToken)
	var tok Tokens
	var outcome error
	err := s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		g, err := tx.RefreshGrantByHash(ctx, hash)
		if errors.Is(err, store.ErrRefreshTokenUnknown) {
			outcome = ErrInvalidGrant
			return nil
		}
		if err != nil {
			return err
		}
		tok, result, outcome, err = s.refreshIn(ctx, tx, slug, g, hash, meta)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	if outcome != nil {
		return Tokens{}, outcome
	}
	return tok, nil
}

// refreshIn decides one refresh inside its transaction. It returns the
// grant's outcome separately from err so that a refusal (reuse detected)
// still commits its revocation.
func (s *Service) refreshIn(ctx context.Context, tx *store.Tx, slug string, g store.RefreshGrant, hash []byte, meta Meta) (Tokens, string, error, error) {
	now := s.cfg.Now()
	rt, sess := g.Token, g.Token.Session
	sid, _ := store.ParseSessionID(sess.ID)
	if sess.RevokedAt != nil || now.After(sess.ExpiresAt) || now.After(rt.ExpiresAt) {
		return Tokens{}, "invalid", ErrInvalidGrant, nil
	}
	// Before any replay: a disabled or locked account gets nothing, not
	// even the pair it was handed a moment ago.
	if g.AccountStatus != store.AccountActive || (g.LockedUntil != nil && g.LockedUntil.After(now)) {
		return Tokens{}, "invalid", ErrInvalidGrant, nil
	}
	if rt.RotatedAt != nil {
		if now.Sub(*rt.RotatedAt) <= s.cfg.RefreshGrace && rt.SuccessorSealed != nil {
			tok, err := s.openPair(ctx, tx.Tenant(), hash, rt.SuccessorSealed)
			return tok, "grace_replay", nil, err
		}
		_, err := tx.RevokeSessions(ctx, meta.actor("system"), sess.AccountID, &sid, "session.reuse_detected", "refresh_token_reuse")
		s.log.WarnContext(ctx, "refresh token reuse detected; session revoked", "tenant", slug, "session_id", sess.ID)
		return Tokens{}, "reuse_detected", ErrInvalidGrant, err
	}
	tok, err := s.issue(ctx, tx, slug, sess.AccountID, sess.ID, sess.AMR)
	if err != nil {
		return Tokens{}, "invalid", nil, err
	}
	sealed, err := s.sealPair(ctx, tx.Tenant(), hash, tok)
	if err != nil {
		return Tokens{}, "invalid", nil, err
	}
	err = tx.CompleteRefresh(ctx, meta.actor(sess.AccountID.String()), sid, hash, keys.HashRefreshToken(tok.RefreshToken), sealed, sess.ExpiresAt)
	return tok, "rotated", nil, err
}
