package auth

import (
	"context"

	"github.com/melmastoon/iam/core/password"
	"github.com/melmastoon/iam/core/store"
)

// HashNewPassword checks the policy and hashes pw under admission control.
func (s *Service) HashNewPassword(ctx context.Context, pw string) (string, error) {
	if err := password.CheckPolicy(pw); err != nil {
		return "", &PolicyError{Err: err}
	}
	return s.hashUnderLimit(ctx, pw)
}

// ResetPassword sets an account's password as an administrator (audited
// account.password_reset); it revokes the account's sessions.
func (s *Service) ResetPassword(ctx context.Context, tx *store.Tx, actor store.Actor, acc store.AccountID, phc string) error {
	if err := tx.SetPasswordHash(ctx, actor, acc, phc, "account.password_reset"); err != nil {
		return err
	}
	_, err := tx.RevokeSessions(ctx, actor, acc, nil, "session.revoke", "password_reset")
	return err
}

// ChangePassword changes the caller's own password; it needs the current
// one and revokes every other session of the account.
func (s *Service) ChangePassword(ctx context.Context, slug string, p Principal, oldPW, newPW string, meta Meta) error {
	var creds store.Credentials
	err := s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) (err error) {
		creds, err = tx.CredentialsByID(ctx, p.Account)
		return err
	})
	if err != nil {
		return err
	}
	release, err := s.admit(ctx)
	if err != nil {
		return err
	}
	ok, _ := s.verifyPassword(ctx, creds, true, oldPW)
	release()
	if !ok {
		return ErrWrongPassword
	}
	phc, err := s.HashNewPassword(ctx, newPW)
	if err != nil {
		return err
	}
	return s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		actor := meta.actor(p.Account.String())
		if err := tx.SetPasswordHash(ctx, actor, p.Account, phc, "account.password_change"); err != nil {
			return err
		}
		sessions, err := tx.ListSessions(ctx, p.Account)
		if err != nil {
			return err
		}
		for _, sess := range sessions {
			sid, _ := store.ParseSessionID(sess.ID)
			if sid == p.Session || sess.RevokedAt != nil {
				continue
			}
			if _, err := tx.RevokeSessions(ctx, actor, p.Account, &sid, "session.revoke", "password_change"); err != nil {
				return err
			}
		}
		return nil
	})
}

// Logout revokes the caller's session. It is idempotent: a session revoked
// meanwhile (a concurrent logout) is not an error.
func (s *Service) Logout(ctx context.Context, tx *store.Tx, p Principal, meta Meta) error {
	_, err := tx.RevokeSessions(ctx, meta.actor(p.Account.String()), p.Account, &p.Session, "auth.logout", "logout")
	return err
}

// CreateTenant creates a tenant with its first signing key, in tx (global scope).
func (s *Service) CreateTenant(ctx context.Context, tx *store.Tx, actor store.Actor, slug, name string) (store.Tenant, error) {
	t, err := tx.CreateTenant(ctx, actor, slug, name)
	if err != nil {
		return t, err
	}
	return t, tx.AsTenant(ctx, t.ID, func() error { return s.BootstrapKeys(ctx, tx, actor) })
}
