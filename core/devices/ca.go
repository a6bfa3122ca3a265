package devices

import (
	"context"
	"crypto/x509"
	"fmt"
	"math"
	"time"

	"github.com/melmastoon/iam/core/ca"
	"github.com/melmastoon/iam/core/store"
	"github.com/melmastoon/iam/syncproto/devcert"
)

// Audit actions of the tenant CA.
const (
	actionCACreate     = "tenant_ca.create"
	actionCARotate     = "tenant_ca.rotate"
	actionCARotateRoot = "tenant_ca.rotate_root"
)

// MaxActiveGenerations caps the active CA generations of a tenant: the
// tenant_ca payload lists a root and an intermediate per generation, and
// devcert accepts at most devcert.MaxBundleCerts certificates.
const MaxActiveGenerations = devcert.MaxBundleCerts / 2

// CACert describes one CA certificate (no key material).
type CACert struct {
	Subject   string    `json:"subject"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// CAGeneration describes one generation of a tenant CA.
type CAGeneration struct {
	Generation int64     `json:"generation"`
	State      string    `json:"state"`
	Root       CACert    `json:"root"`
	Issuing    CACert    `json:"issuing"`
	CreatedAt  time.Time `json:"created_at"`
}

func (s *Service) caConfig(tx *store.Tx) ca.CAConfig {
	return ca.CAConfig{TenantID: tx.Tenant().String(), Encrypter: s.cfg.KEK, Now: s.cfg.Now, Rand: s.cfg.Rand}
}

func sealedOf(c store.TenantCA) ca.Sealed {
	return ca.Sealed{RootCert: c.RootCert, RootKey: ca.SealedKey{KEKID: c.RootKEKID, Ciphertext: c.RootKeySealed},
		IssuingCert: c.IssuingCert, IssuingKey: ca.SealedKey{KEKID: c.KEKID, Ciphertext: c.IssuingKeySealed}}
}

func storedOf(c *ca.CA, s ca.Sealed) store.TenantCA {
	return store.TenantCA{RootCert: s.RootCert, RootKeySealed: s.RootKey.Ciphertext, RootKEKID: s.RootKey.KEKID,
		IssuingCert: s.IssuingCert, IssuingKeySealed: s.IssuingKey.Ciphertext, KEKID: s.IssuingKey.KEKID,
		NotAfter: c.Issuing().NotAfter}
}

// BootstrapCA gives the tenant of tx its first CA generation and
// publishes it (audit tenant_ca.create, a tenant_ca.published outbox row),
// unless it has one. It reports whether it created one.
func (s *Service) BootstrapCA(ctx context.Context, tx *store.Tx, actor store.Actor) (bool, error) {
	if err := tx.LockTenantCA(ctx); err != nil {
		return false, err
	}
	cas, err := tx.TenantCAs(ctx)
	if err != nil || len(cas) > 0 {
		return false, err
	}
	return true, s.addRoot(ctx, tx, actor, actionCACreate)
}

func (s *Service) addRoot(ctx context.Context, tx *store.Tx, actor store.Actor, action string) error {
	c, sealed, err := ca.NewCA(ctx, s.caConfig(tx))
	if err != nil {
		return fmt.Errorf("devices: new tenant CA: %w", err)
	}
	_, err = tx.AddTenantCA(ctx, actor, action, storedOf(c, sealed))
	return err
}

// RotateCA adds a generation to the tenant's CA: a new issuing certificate
// under the newest generation's root, or with root a new root too. Older
// generations stay active (trusted and published) until their issuing
// certificate expires. A tenant without a CA gets its first one. It
// returns every generation afterwards.
func (s *Service) RotateCA(ctx context.Context, tx *store.Tx, actor store.Actor, root bool) ([]CAGeneration, error) {
	if err := tx.LockTenantCA(ctx); err != nil {
		return nil, err
	}
	if _, err := tx.RetireExpiredTenantCAs(ctx, actor); err != nil {
		return nil, err
	}
	cas, err := tx.TenantCAs(ctx)
	if err != nil {
		return nil, err
	}
	if activeCount(cas) >= MaxActiveGenerations {
		return nil, ErrTooManyGenerations
	}
	newest, ok := newestActive(cas)
	switch {
	case !ok:
		err = s.addRoot(ctx, tx, actor, actionCACreate)
	case root:
		err = s.addRoot(ctx, tx, actor, actionCARotateRoot)
	default:
		err = s.rotateIssuing(ctx, tx, actor, newest)
	}
	if err != nil {
		return nil, err
	}
	return s.ShowCA(ctx, tx)
}

func activeCount(cas []store.TenantCA) int {
	n := 0
	for _, c := range cas {
		if c.State == store.CAActive {
			n++
		}
	}
	return n
}

func (s *Service) rotateIssuing(ctx context.Context, tx *store.Tx, actor store.Actor, cur store.TenantCA) error {
	c, sealed, err := ca.Rotate(ctx, s.caConfig(tx), sealedOf(cur))
	if err != nil {
		return fmt.Errorf("devices: rotate tenant CA: %w", err)
	}
	_, err = tx.AddTenantCA(ctx, actor, actionCARotate, storedOf(c, sealed))
	return err
}

func newestActive(cas []store.TenantCA) (store.TenantCA, bool) {
	for i := len(cas) - 1; i >= 0; i-- {
		if cas[i].State == store.CAActive {
			return cas[i], true
		}
	}
	return store.TenantCA{}, false
}

// ShowCA describes every generation of the tenant's CA, oldest first.
func (s *Service) ShowCA(ctx context.Context, tx *store.Tx) ([]CAGeneration, error) {
	cas, err := tx.TenantCAs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CAGeneration, 0, len(cas))
	for _, c := range cas {
		root, err1 := x509.ParseCertificate(c.RootCert)
		issuing, err2 := x509.ParseCertificate(c.IssuingCert)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("devices: stored CA generation %d does not parse", c.Generation)
		}
		out = append(out, CAGeneration{Generation: c.Generation, State: c.State, Root: describe(root),
			Issuing: describe(issuing), CreatedAt: c.CreatedAt})
	}
	return out, nil
}

func describe(c *x509.Certificate) CACert {
	return CACert{Subject: c.Subject.String(), Serial: devcert.FormatSerial(c.SerialNumber), NotBefore: c.NotBefore.UTC(),
		NotAfter: c.NotAfter.UTC()}
}

// issuer opens the newest active generation of the tenant's CA, creating
// the tenant's first one when it has none (a tenant older than devices
// whose backfill has not run yet). It also returns the trust bundle of
// every active generation.
func (s *Service) issuer(ctx context.Context, tx *store.Tx, actor store.Actor) (*ca.CA, *devcert.TrustBundle, error) {
	cas, err := tx.TenantCAs(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := newestActive(cas); !ok {
		if _, err := s.BootstrapCA(ctx, tx, actor); err != nil {
			return nil, nil, err
		}
		if cas, err = tx.TenantCAs(ctx); err != nil {
			return nil, nil, err
		}
	}
	newest, ok := newestActive(cas)
	if !ok {
		return nil, nil, fmt.Errorf("devices: tenant %s has no active CA", tx.Tenant())
	}
	c, err := ca.OpenCA(ctx, s.caConfig(tx), sealedOf(newest))
	if err != nil {
		return nil, nil, fmt.Errorf("devices: open tenant CA: %w", err)
	}
	var roots, issuing [][]byte
	for _, g := range cas {
		if g.State == store.CAActive {
			roots, issuing = append(roots, g.RootCert), append(issuing, g.IssuingCert)
		}
	}
	bundle, err := devcert.NewTrustBundle(tx.Tenant().String(), roots, issuing, s.cfg.Now())
	if err != nil {
		return nil, nil, fmt.Errorf("devices: trust bundle: %w", err)
	}
	return c, bundle, nil
}

// IssuingRenewBefore is how long before its issuing certificate expires a
// tenant's CA gets a new issuing generation (under the same root) by
// itself: device certificates are clamped to the issuing certificate, so
// an issuing certificate near its end would shorten them, and an expired
// one would stop every renewal of the tenant at once.
const IssuingRenewBefore = 90 * 24 * time.Hour

// EnsureCAs gives every live tenant without a CA its first one (tenants
// created before devices existed), retires expired generations, rotates
// issuing certificates that expire within IssuingRenewBefore, and sets the
// tenant_ca_remaining_seconds gauges. It runs in core's maintenance loop
// and returns how many CAs it created.
func (s *Service) EnsureCAs(ctx context.Context) (int, error) {
	var tenants []store.Tenant
	err := s.store.Global(ctx, func(tx *store.Tx) (err error) {
		tenants, err = tx.ListTenants(ctx, "", 100_000)
		return err
	})
	if err != nil {
		return 0, err
	}
	actor := store.Actor{ID: "scheduler"}
	created := 0
	minIssuing, minRoot := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	defer func() {
		if minIssuing != math.MaxInt64 {
			s.m.caRemaining.WithLabelValues("issuing").Set(minIssuing.Seconds())
			s.m.caRemaining.WithLabelValues("root").Set(minRoot.Seconds())
		}
	}()
	var firstErr error
	for _, t := range tenants {
		err := s.store.InTenant(ctx, t.ID, func(tx *store.Tx) error {
			made, err := s.BootstrapCA(ctx, tx, actor)
			if made {
				created++
			}
			if err != nil {
				return err
			}
			if _, err = tx.RetireExpiredTenantCAs(ctx, actor); err != nil {
				return err
			}
			return s.renewIssuingIfDue(ctx, tx, actor, &minIssuing, &minRoot)
		})
		if err != nil {
			s.log.WarnContext(ctx, "tenant CA maintenance failed", "tenant", t.Slug, "error", err)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return created, firstErr
}

// renewIssuingIfDue gives the tenant a new issuing generation when its
// newest one expires within IssuingRenewBefore, and folds what remains of
// the newest generation's certificates into the minima.
func (s *Service) renewIssuingIfDue(ctx context.Context, tx *store.Tx, actor store.Actor, minIssuing, minRoot *time.Duration) error {
	cas, err := tx.TenantCAs(ctx)
	if err != nil {
		return err
	}
	newest, ok := newestActive(cas)
	if !ok {
		return nil
	}
	root, err1 := x509.ParseCertificate(newest.RootCert)
	issuing, err2 := x509.ParseCertificate(newest.IssuingCert)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("devices: stored CA generation %d does not parse", newest.Generation)
	}
	now := s.cfg.Now()
	if issuing.NotAfter.Sub(now) < IssuingRenewBefore && root.NotAfter.After(now.Add(IssuingRenewBefore)) {
		if _, err := s.RotateCA(ctx, tx, actor, false); err != nil {
			return fmt.Errorf("devices: automatic issuing rotation: %w", err)
		}
		s.log.InfoContext(ctx, "tenant CA issuing certificate rotated ahead of its expiry", "tenant", tx.Tenant().String(),
			"expired_at", issuing.NotAfter)
		return s.renewIssuingIfDue(ctx, tx, actor, minIssuing, minRoot)
	}
	*minIssuing = min(*minIssuing, issuing.NotAfter.Sub(now))
	*minRoot = min(*minRoot, root.NotAfter.Sub(now))
	return nil
}
