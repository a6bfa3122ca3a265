package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/store"
)

// issue mints an access token for the session and a fresh refresh token.
func (s *Service) issue(ctx context.Context, tx *store.Tx, slug string, account store.AccountID, session string, amr []string) (Tokens, error) {
	set, err := s.keySet(ctx, tx)
	if err != nil {
		return Tokens{}, err
	}
	iss, err := keys.NewIssuer(keys.IssuerConfig{Issuer: s.Issuer(slug), TTL: s.cfg.AccessTokenTTL, Keys: set, Now: s.cfg.Now})
	if err != nil {
		return Tokens{}, err
	}
	access, _, err := iss.Issue(keys.AccessTokenRequest{Subject: account.String(), TenantID: tx.Tenant().String(),
		Audience: []string{s.cfg.Audience}, SessionID: session, AMR: amr})
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: issue access token: %w", err)
	}
	refresh, err := keys.NewRefreshToken(s.cfg.Rand)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTokenTTL / time.Second), RefreshToken: refresh}, nil
}

// openSession starts a session for a fully authenticated account and issues
// its first tokens, auditing auth.login.
func (s *Service) openSession(ctx context.Context, tx *store.Tx, slug string, acc store.AccountID, amr []string, meta Meta) (Tokens, error) {
	refresh, err := keys.NewRefreshToken(s.cfg.Rand)
	if err != nil {
		return Tokens{}, err
	}
	sess, err := tx.OpenSession(ctx, meta.actor(acc.String()), store.NewSession{Account: acc, AMR: amr,
		SourceIP: meta.SourceIP, UserAgent: truncate(meta.UserAgent, 300), TTL: s.cfg.SessionTTL, RefreshHash: keys.HashRefreshToken(refresh)})
	if err != nil {
		return Tokens{}, err
	}
	tok, err := s.issue(ctx, tx, slug, acc, sess.ID, amr)
	if err != nil {
		return Tokens{}, err
	}
	tok.RefreshToken = refresh
	err = tx.Audit(ctx, meta.actor(acc.String()), store.AuditEvent{Action: "auth.login", TargetType: "account", TargetID: acc.String(),
		Details: map[string]any{"session_id": sess.ID, "amr": amr}})
	return tok, err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// sealPair seals a token pair for the grace window of the token it replaces.
func (s *Service) sealPair(ctx context.Context, tenant store.TenantID, oldHash []byte, tok Tokens) ([]byte, error) {
	raw, err := json.Marshal(tok)
	if err != nil {
		return nil, err
	}
	return s.cfg.KEK.Encrypt(ctx, raw, keys.AssociatedData("refresh-successor", tenant.String(), string(oldHash)))
}

func (s *Service) openPair(ctx context.Context, tenant store.TenantID, oldHash, sealed []byte) (Tokens, error) {
	raw, err := s.cfg.KEK.Decrypt(ctx, sealed, keys.AssociatedData("refresh-successor", tenant.String(), string(oldHash)))
	if err != nil {
		return Tokens{}, err
	}
	var tok Tokens
	err = json.Unmarshal(raw, &tok)
	return tok, err
}

// Seal encrypts a stored idempotent response of an auth call with the KEK,
// bound to the tenant and the key.
func (s *Service) Seal(ctx context.Context, slug, key string, body []byte) ([]byte, error) {
	return s.cfg.KEK.Encrypt(ctx, body, keys.AssociatedData("idempotent-response", slug, key))
}

// Open decrypts what Seal sealed.
func (s *Service) Open(ctx context.Context, slug, key string, sealed []byte) ([]byte, error) {
	return s.cfg.KEK.Decrypt(ctx, sealed, keys.AssociatedData("idempotent-response", slug, key))
}
