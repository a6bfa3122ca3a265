package device

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// deviceTypePrefix starts the type of every Device entity delta.
const deviceTypePrefix = "melmastoon.iam.device."

// applyDelta verifies one signed delta (COSE bytes) and applies it. It
// returns nil when the delta was applied, learned (key rotation) or
// ignored as a duplicate; an error wrapping ErrRejectedDelta when it was
// rejected (the state is unchanged); ErrRevoked when it applied a Device
// entity whose status is revoked.
func (c *Client) applyDelta(ctx context.Context, msg []byte) error {
	c.mu.Lock()
	changed, err := c.applyDeltaLocked(ctx, msg)
	var st State
	if changed {
		st = c.stateLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if changed {
		c.notify(st)
		if st.Status == StatusRevoked {
			return fmt.Errorf("%w: by a signed delta", ErrRevoked)
		}
	}
	return nil
}

func (c *Client) applyDeltaLocked(ctx context.Context, msg []byte) (changed bool, err error) {
	env, err := syncproto.VerifyStandalone(msg, c.keyring, c.rec.TenantID)
	if err != nil {
		c.stats.Rejected++
		return false, fmt.Errorf("%w: %w", ErrRejectedDelta, err)
	}
	switch {
	case env.Type == syncproto.TypeKeyRotation:
		return false, c.learnRotationLocked(ctx, env)
	case strings.HasPrefix(env.Type, deviceTypePrefix):
		return c.applyDeviceLocked(ctx, env)
	}
	c.stats.Rejected++
	return false, fmt.Errorf("%w: type %s does not belong on the device channel", ErrRejectedDelta, env.Type)
}

// learnRotationLocked applies a verified, root-signed key rotation to the
// keyring and persists it.
func (c *Client) learnRotationLocked(ctx context.Context, env *syncproto.Envelope) error {
	next, err := c.keyring.WithRotation(env)
	if err != nil {
		c.stats.Rejected++
		return fmt.Errorf("%w: key rotation: %w", ErrRejectedDelta, err)
	}
	rec := c.rec.clone()
	rec.Keys, rec.Retired = next.ActiveKeys(), next.RetiredKids()
	rec.ServerTimeMs = max(rec.ServerTimeMs, env.Time)
	if sameKeys(rec.Keys, c.keyring.ActiveKeys()) && slices.Equal(rec.Retired, c.keyring.RetiredKids()) {
		return nil // already known
	}
	if err := c.st.put(ctx, rec); err != nil {
		return err
	}
	c.rec, c.keyring = rec, next
	c.stats.Rotations++
	c.log.InfoContext(ctx, "device delta key learned", "active_kids", len(rec.Keys), "retired_kids", len(rec.Retired))
	return nil
}

func sameKeys(a, b []syncproto.SigningKey) bool {
	return slices.EqualFunc(a, b, func(x, y syncproto.SigningKey) bool {
		return x.Kid == y.Kid && string(x.PublicKey) == string(y.PublicKey)
	})
}

// applyDeviceLocked applies a verified device delta if it is this
// device's and newer than the version held.
func (c *Client) applyDeviceLocked(ctx context.Context, env *syncproto.Envelope) (bool, error) {
	if env.Subject != c.rec.DeviceID {
		c.stats.Rejected++
		return false, fmt.Errorf("%w: delta of another device (subject %q)", ErrRejectedDelta, env.Subject)
	}
	var p devproto.DevicePayload
	if err := syncproto.DecodeData(env.Data, &p); err != nil {
		c.stats.Rejected++
		return false, fmt.Errorf("%w: device payload: %w", ErrRejectedDelta, err)
	}
	if p.ID != c.rec.DeviceID {
		c.stats.Rejected++
		return false, fmt.Errorf("%w: payload of another device %q", ErrRejectedDelta, p.ID)
	}
	switch cur := c.rec.Entity.Version; {
	case p.Version == cur:
		c.stats.Duplicates++
		return false, nil
	case p.Version < cur:
		c.stats.Rollbacks++
		return false, fmt.Errorf("%w: %w: version %d, holding %d", ErrRejectedDelta, ErrRollback, p.Version, cur)
	}
	rec := c.rec.clone()
	rec.Entity = p
	rec.ServerTimeMs = max(rec.ServerTimeMs, env.Time)
	if err := c.st.put(ctx, rec); err != nil {
		return false, err
	}
	c.rec = rec
	c.stats.Applied++
	c.log.InfoContext(ctx, "device entity updated", "type", env.Type, "version", p.Version, "status", p.Status)
	return true, nil
}

// installChain verifies a certificate chain issued to this device (against
// the stored trust bundle, at the trusted time, for this device, tenant
// and key, expiring later than the current certificate) and persists it.
func (c *Client) installChain(ctx context.Context, chain [][]byte) error {
	c.mu.Lock()
	leaf, err := c.verifyChainLocked(chain)
	if err == nil && !leaf.NotAfter.After(c.leaf.NotAfter) {
		// An older certificate replayed as a renewal: installing it would
		// shorten the device's life (and roll back its serial).
		err = fmt.Errorf("%w: renewed certificate expires %s, not after the current one (%s)", ErrUntrustedResponse,
			leaf.NotAfter.UTC().Format(time.RFC3339), c.leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if err == nil {
		rec := c.rec.clone()
		rec.Chain = slices.Clone(chain)
		rec.ServerTimeMs = max(rec.ServerTimeMs, leaf.NotBefore.UnixMilli())
		if err = c.st.put(ctx, rec); err == nil {
			c.rec = rec
			c.setLeafLocked(leaf)
			c.stats.Renewals++
		}
	}
	var st State
	if err == nil {
		st = c.stateLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.log.InfoContext(ctx, "device certificate renewed", "serial", st.CertSerial, "not_after", st.NotAfter)
	c.notify(st)
	return nil
}

func (c *Client) verifyChainLocked(chain [][]byte) (*x509.Certificate, error) {
	id, err := c.bundle.VerifyDevice(chain, c.trustedNowLocked(), c.opts.ClockSkew)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrustedResponse, err)
	}
	if id.Tenant != c.rec.TenantID || id.Device != c.rec.DeviceID {
		return nil, fmt.Errorf("%w: certificate names device %s of tenant %s", ErrUntrustedResponse, id.Device, id.Tenant)
	}
	return parseLeaf(chain, c.rec.Key.Public().(ed25519.PublicKey))
}
