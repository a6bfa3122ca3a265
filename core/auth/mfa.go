package auth

import (
	"context"
	"errors"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/core/totp"
)

// Enrollment is shown once: the TOTP secret and its otpauth:// URI.
type Enrollment struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
}

func totpAAD(tenant store.TenantID, acc store.AccountID) []byte {
	return keys.AssociatedData("totp-secret", tenant.String(), acc.String())
}

// EnrollTOTP creates an unconfirmed TOTP secret for the account.
func (s *Service) EnrollTOTP(ctx context.Context, slug string, acc store.AccountID, meta Meta) (Enrollment, error) {
	var out Enrollment
	err := s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		c, err := tx.CredentialsByID(ctx, acc)
		if err != nil {
			return err
		}
		if c.TOTPConfirmed {
			return ErrMFAAlreadyEnrolled
		}
		e, err := totp.Generate("IAM "+slug, c.Account.Username, s.cfg.Rand)
		if err != nil {
			return err
		}
		sealed, err := s.cfg.KEK.Encrypt(ctx, []byte(e.Secret), totpAAD(tx.Tenant(), acc))
		if err != nil {
			return err
		}
		out = Enrollment{Secret: e.Secret, URI: e.URI}
		return tx.SetTOTPSecret(ctx, meta.actor(acc.String()), acc, sealed)
	})
	return out, err
}

// ConfirmTOTP accepts the first code of an enrolment and returns the
// recovery codes, shown once (only their hashes are stored).
func (s *Service) ConfirmTOTP(ctx context.Context, slug string, acc store.AccountID, code string, meta Meta) ([]string, error) {
	var plain []string
	var outcome error
	err := s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		c, err := tx.CredentialsByID(ctx, acc)
		if err != nil {
			return err
		}
		if c.TOTPSealed == nil {
			return ErrMFANotEnrolled
		}
		if c.TOTPConfirmed {
			return ErrMFAAlreadyEnrolled
		}
		secret, err := s.cfg.KEK.Decrypt(ctx, c.TOTPSealed, totpAAD(tx.Tenant(), acc))
		if err != nil {
			return err
		}
		step, ok := totp.ValidateAfter(string(secret), code, s.cfg.Now(), totp.DefaultSkewSteps, c.TOTPLastStep)
		if !ok {
			outcome = ErrMFAInvalid
			return tx.Audit(ctx, meta.actor(acc.String()), store.AuditEvent{Action: "mfa.confirm", TargetType: "account",
				TargetID: acc.String(), Outcome: "failure", Details: map[string]any{"reason": "bad_code"}})
		}
		codes, err := totp.GenerateRecoveryCodes(s.cfg.Rand, acc.String())
		if err != nil {
			return err
		}
		plain = codes.Plain
		return tx.ConfirmTOTP(ctx, meta.actor(acc.String()), acc, step, codes.Hashes)
	})
	if err == nil {
		err = outcome
	}
	return plain, err
}

// CompleteMFA finishes a sign-in with the ticket from Login and either a
// TOTP code or a recovery code. A replayed TOTP code, a used recovery code
// and a spent or expired ticket are refused; a ticket allows five attempts.
func (s *Service) CompleteMFA(ctx context.Context, slug, ticket, code, recovery string, meta Meta) (Tokens, error) {
	var tok Tokens
	var outcome error
	err := s.store.InTenantSlug(ctx, slug, func(tx *store.Tx) error {
		acc, err := tx.ClaimMFATicket(ctx, hashOpaque(ticket), mfaTicketMaxAttempts)
		if errors.Is(err, store.ErrTicketInvalid) {
			outcome = ErrTicketInvalid
			return nil
		}
		if err != nil {
			return err
		}
		c, err := tx.CredentialsByID(ctx, acc)
		if err != nil {
			return err
		}
		method, ok, err := s.checkSecondFactor(ctx, tx, c, code, recovery)
		if err != nil {
			return err
		}
		if !ok || refusal(c, true, true, s.cfg.Now()) != "" {
			outcome = ErrMFAInvalid
			return tx.Audit(ctx, meta.actor(acc.String()), store.AuditEvent{Action: "mfa.verify", TargetType: "account",
				TargetID: acc.String(), Outcome: "failure", Details: map[string]any{"method": method}})
		}
		if err := tx.SpendMFATicket(ctx, hashOpaque(ticket)); err != nil {
			return err
		}
		if err := tx.Audit(ctx, meta.actor(acc.String()), store.AuditEvent{Action: "mfa.verify", TargetType: "account",
			TargetID: acc.String(), Details: map[string]any{"method": method}}); err != nil {
			return err
		}
		tok, err = s.openSession(ctx, tx, slug, acc, []string{"pwd", method, "mfa"}, meta)
		return err
	})
	if err == nil {
		err = outcome
	}
	return tok, err
}

// checkSecondFactor verifies a TOTP code (refusing a replayed time step) or
// spends a recovery code. method is "otp" or "rc" (RFC 8176 style).
func (s *Service) checkSecondFactor(ctx context.Context, tx *store.Tx, c store.Credentials, code, recovery string) (string, bool, error) {
	if !c.TOTPConfirmed {
		return "otp", false, nil
	}
	if recovery != "" {
		stored, err := tx.UnusedRecoveryCodes(ctx, c.Account.ID)
		if err != nil {
			return "rc", false, err
		}
		idxs := make([]int, 0, len(stored))
		hashes := make([][]byte, 0, len(stored))
		for i, h := range stored {
			idxs, hashes = append(idxs, i), append(hashes, h)
		}
		at, ok := totp.MatchRecoveryCode(c.Account.ID.String(), recovery, hashes)
		if !ok {
			return "rc", false, nil
		}
		used, err := tx.UseRecoveryCode(ctx, c.Account.ID, idxs[at])
		return "rc", used, err
	}
	secret, err := s.cfg.KEK.Decrypt(ctx, c.TOTPSealed, totpAAD(tx.Tenant(), c.Account.ID))
	if err != nil {
		return "otp", false, err
	}
	step, ok := totp.ValidateAfter(string(secret), code, s.cfg.Now(), totp.DefaultSkewSteps, c.TOTPLastStep)
	if !ok {
		return "otp", false, nil
	}
	advanced, err := tx.AdvanceTOTPStep(ctx, c.Account.ID, step)
	return "otp", advanced, err
}
