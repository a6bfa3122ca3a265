package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/melmastoon/iam/core/keys"
	"github.com/melmastoon/iam/core/store"
)

// AMRDevice is the amr of an access token a device obtained with its
// certificate key (devproto.TokenSubject). Such a token's sid is the
// device id: it stays valid while the device is active, and has no
// refresh token.
const AMRDevice = "device"

// IssueDeviceToken mints an access token for the device's account (amr
// ["device"], sid = the device id) in the tenant of tx, whose slug is
// slug. The caller has checked the device's proof of possession, its
// status and certificate, and that the account is active. It returns the
// token and its lifetime in seconds.
func (s *Service) IssueDeviceToken(ctx context.Context, tx *store.Tx, slug string, account store.AccountID, device store.DeviceID) (string, int64, error) {
	set, err := s.keySet(ctx, tx)
	if err != nil {
		return "", 0, err
	}
	iss, err := keys.NewIssuer(keys.IssuerConfig{Issuer: s.Issuer(slug), TTL: s.cfg.AccessTokenTTL, Keys: set, Now: s.cfg.Now})
	if err != nil {
		return "", 0, err
	}
	tok, _, err := iss.Issue(keys.AccessTokenRequest{Subject: account.String(), TenantID: tx.Tenant().String(),
		Audience: []string{s.cfg.Audience}, SessionID: device.String(), AMR: []string{AMRDevice}})
	if err != nil {
		return "", 0, fmt.Errorf("auth: issue device access token: %w", err)
	}
	return tok, int64(s.cfg.AccessTokenTTL / time.Second), nil
}

// deviceTokenLive reports whether the device a device token names (its
// sid) is an active device of acc.
func deviceTokenLive(ctx context.Context, tx *store.Tx, sid string, acc store.AccountID) bool {
	id, err := store.ParseDeviceID(sid)
	if err != nil {
		return false
	}
	d, err := tx.GetDevice(ctx, id)
	return err == nil && d.Status == store.DeviceActive && d.AccountID == acc
}
