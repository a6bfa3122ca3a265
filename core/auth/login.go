package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/melmastoon/iam/core/password"
	"github.com/melmastoon/iam/core/store"
)

// LoginResult is either tokens or, when a second factor is enrolled, an MFA
// ticket to complete with CompleteMFA.
type LoginResult struct {
	Tokens    *Tokens
	MFATicket string
	ExpiresIn int
}

// Login signs in with username and password. Every refusal that could tell
// whether the account exists is ErrInvalidCredentials after the same work.
func (s *Service) Login(ctx context.Context, slug, username, pw string, meta Meta) (res LoginResult, err error) {
	start := s.cfg.Now()
	result := "error"
	defer func() {
		s.metrics.loginAttempts.WithLabelValues(result).Inc()
		s.metrics.loginDuration.Observe(time.Since(start).Seconds())
	}()
	if wait := s.throttle.Blocked(meta.SourceIP); wait > 0 {
		result = "throttled"
		return res, &RetryError{Err: ErrThrottled, RetryAfter: wait}
	}
	// Admission first: a sign-in holds its hashing slot for its whole
	// database work too (~1 ms against ~24 ms of hashing), so the limiter is
	// the only queue and no sign-in waits past its bound on the pool.
	release, err := s.admit(ctx)
	if err != nil {
		if errors.Is(err, ErrOverloaded) {
			result = "overloaded"
		}
		return res, err
	}
	defer release()
	creds, found, err := s.readCredentials(ctx, slug, username)
	if err != nil {
		return res, err
	}
	ok, rehash := s.verifyPassword(ctx, creds, found, pw)
	reason := refusal(creds, found, ok, s.cfg.Now())
	if reason != "" {
		result = "invalid_credentials"
		s.throttle.Fail(meta.SourceIP)
		return res, s.recordFailure(ctx, slug, creds, found, username, reason, meta)
	}
	s.throttle.Succeed(meta.SourceIP)
	res, err = s.loginSucceeded(ctx, slug, creds, rehash, pw, meta)
	if err == nil {
		result = "success"
		if res.Tokens == nil {
			result = "mfa_required"
		}
	}
	return res, err
}

func (s *Service) readCredentials(ctx context.Context, slug, username string) (store.Credentials, bool, error) {
	var creds store.Credentials
	err := s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) (err error) {
		creds, err = tx.CredentialsByUsername(ctx, username)
		return err
	})
	if errors.Is(err, store.ErrAccountNotFound) {
		return creds, false, nil
	}
	return creds, err == nil, err
}

// admit waits for a password-hashing slot (at most the limiter's bound).
func (s *Service) admit(ctx context.Context) (func(), error) {
	release, err := s.limiter.Acquire(ctx)
	if errors.Is(err, password.ErrOverloaded) {
		return nil, &RetryError{Err: ErrOverloaded, RetryAfter: s.limiter.RetryAfter()}
	}
	return release, err
}

// verifyPassword runs Argon2id; the caller holds a hashing slot. Unknown
// accounts and accounts without a password pay the same cost against a
// dummy hash.
func (s *Service) verifyPassword(ctx context.Context, creds store.Credentials, found bool, pw string) (ok, rehash bool) {
	if !found || creds.PasswordHash == "" || len(pw) > password.MaxPasswordBytes {
		s.dummy.Verify(pw)
		return false, false
	}
	ok, rehash, err := password.VerifyWithParams(pw, creds.PasswordHash, s.cfg.PasswordParams)
	if err != nil {
		s.log.ErrorContext(ctx, "stored password hash unusable", "account_id", creds.Account.ID.String(), "error", err)
		return false, false
	}
	return ok, rehash
}

// refusal names why a sign-in fails ("" when it succeeds).
func refusal(c store.Credentials, found, ok bool, now time.Time) string {
	switch {
	case !found:
		return "unknown_user"
	case !ok:
		return "bad_password"
	case c.Account.Status == store.AccountDisabled:
		return "account_disabled"
	case c.Account.Status == store.AccountLocked:
		return "account_locked"
	case c.LockedUntil != nil && c.LockedUntil.After(now):
		return "temporarily_locked"
	}
	return ""
}

// recordFailure commits the failure (counter, maybe a lock, one audit row)
// and returns ErrInvalidCredentials.
func (s *Service) recordFailure(ctx context.Context, slug string, c store.Credentials, found bool, username, reason string, meta Meta) error {
	err := s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		target := "username:" + truncate(username, 100)
		if found {
			target = c.Account.ID.String()
			if reason == "bad_password" {
				if _, err := tx.RecordLoginFailure(ctx, meta.actor("system"), c.Account.ID, s.cfg.LockAfter, s.lockDuration); err != nil {
					return err
				}
			}
		}
		return tx.Audit(ctx, meta.actor("anonymous"), store.AuditEvent{Action: "auth.login", TargetType: "account",
			TargetID: target, Outcome: "failure", Details: map[string]any{"reason": reason}})
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "login refused", "tenant", slug, "reason", reason, "source_ip", meta.SourceIP)
	return ErrInvalidCredentials
}

// lockDuration is LockBase × 4^previousLocks, capped at LockMax.
func (s *Service) lockDuration(previousLocks int) time.Duration {
	d := s.cfg.LockBase
	for range min(previousLocks, 10) {
		d *= 4
		if d >= s.cfg.LockMax {
			return s.cfg.LockMax
		}
	}
	return d
}

func (s *Service) loginSucceeded(ctx context.Context, slug string, c store.Credentials, rehash bool, pw string, meta Meta) (LoginResult, error) {
	var newHash string
	if rehash { // the caller holds the hashing slot
		if h, err := password.Hash(pw, s.cfg.PasswordParams); err == nil {
			newHash = h
		}
	}
	var res LoginResult
	err := s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		cur, err := tx.CredentialsByID(ctx, c.Account.ID)
		if err != nil {
			return err
		}
		if refusal(cur, true, true, s.cfg.Now()) != "" || cur.PasswordHash != c.PasswordHash {
			return ErrInvalidCredentials // changed while we hashed
		}
		if err := tx.ResetLoginFailures(ctx, cur.Account.ID); err != nil {
			return err
		}
		if newHash != "" {
			if err := tx.SetPasswordHash(ctx, meta.actor("system"), cur.Account.ID, newHash, "account.password_rehash"); err != nil {
				return err
			}
		}
		if cur.TOTPConfirmed {
			res.MFATicket, err = s.newMFATicket(ctx, tx, cur.Account.ID)
			res.ExpiresIn = int(s.cfg.MFATicketTTL / time.Second)
			return err
		}
		tok, err := s.openSession(ctx, tx, slug, cur.Account.ID, []string{"pwd"}, meta)
		res.Tokens = &tok
		return err
	})
	return res, err
}

func (s *Service) hashUnderLimit(ctx context.Context, pw string) (string, error) {
	release, err := s.admit(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return password.Hash(pw, s.cfg.PasswordParams)
}

func (s *Service) newMFATicket(ctx context.Context, tx *store.Tx, acc store.AccountID) (string, error) {
	raw := make([]byte, 32)
	if _, err := s.cfg.Rand.Read(raw); err != nil {
		return "", err
	}
	ticket := "mfa_" + base64.RawURLEncoding.EncodeToString(raw)
	return ticket, tx.CreateMFATicket(ctx, acc, hashOpaque(ticket), s.cfg.MFATicketTTL)
}

func hashOpaque(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
