package replica

import (
	"encoding/base64"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/melmastoon/iam/syncproto"
	"github.com/melmastoon/iam/syncproto/devproto"
)

// Payload limits: a text field of an entity is at most MaxFieldLength
// bytes and a role has at most MaxPermissions permissions.
const (
	MaxFieldLength = 1024
	MaxPermissions = 1000
)

// Delta types of the payload table in docs/deltas.md.
const (
	TypeTenantCreated       = "melmastoon.iam.tenant.created.v1"
	TypeTenantUpdated       = "melmastoon.iam.tenant.updated.v1"
	TypeTenantDeleted       = "melmastoon.iam.tenant.deleted.v1"
	TypeOrganizationCreated = "melmastoon.iam.organization.created.v1"
	TypeOrganizationMoved   = "melmastoon.iam.organization.moved.v1"
	TypeAccountCreated      = "melmastoon.iam.account.created.v1"
	TypeAccountUpdated      = "melmastoon.iam.account.updated.v1"
	TypeAccountErased       = "melmastoon.iam.account.erased.v1"
	TypeRoleCreated         = "melmastoon.iam.role.created.v1"
	TypeRoleUpdated         = "melmastoon.iam.role.updated.v1"
	TypeRoleDeleted         = "melmastoon.iam.role.deleted.v1"
	TypeRoleBindingCreated  = "melmastoon.iam.role_binding.created.v1"
	TypeRoleBindingDeleted  = "melmastoon.iam.role_binding.deleted.v1"
	TypeSessionRevoked      = "melmastoon.iam.session.revoked.v1"
	TypeSigningKeyPublished = "melmastoon.iam.signing_key.published.v1"
	TypeSigningKeyUpdated   = "melmastoon.iam.signing_key.updated.v1"
	TypeFeatureFlagSet      = "melmastoon.iam.feature_flag.set.v1"
	TypeDeviceEnrolled      = devproto.DeviceEnrolledType
	TypeDeviceRenewed       = devproto.DeviceRenewedType
	TypeDeviceRevoked       = devproto.DeviceRevokedType
	TypeTenantCAPublished   = devproto.TenantCAType
)

// FlagNames are the feature flags a feature_flag.set delta may name
// (docs/feature-flags.md); any other name is refused as ErrPayload.
var FlagNames = []string{"iam_authentication_enabled", "iam_authorization_enabled", "iam_permission_caching_enabled"}

type parser func(fields) (Change, error)

// upserts are the types a snapshot record may carry; tombstones only
// travel as deltas.
var upserts = map[string]parser{
	TypeTenantCreated:       parseTenant,
	TypeTenantUpdated:       parseTenant,
	TypeOrganizationCreated: parseOrganization,
	TypeOrganizationMoved:   parseOrganization,
	TypeAccountCreated:      parseAccount,
	TypeAccountUpdated:      parseAccount,
	TypeRoleCreated:         parseRole,
	TypeRoleUpdated:         parseRole,
	TypeRoleBindingCreated:  parseRoleBinding,
	TypeSessionRevoked:      parseSessionRevoked,
	TypeSigningKeyPublished: parseJWTKey,
	TypeSigningKeyUpdated:   parseJWTKey,
	TypeFeatureFlagSet:      parseFeatureFlag,
	TypeDeviceEnrolled:      parseDevice,
	TypeDeviceRenewed:       parseDevice,
	TypeDeviceRevoked:       parseDevice,
	TypeTenantCAPublished:   parseTenantCA,
}

var tombstones = map[string]parser{
	TypeTenantDeleted:      func(f fields) (Change, error) { return TenantDeleted{ID: f.id("id")}, f.err },
	TypeAccountErased:      func(f fields) (Change, error) { return AccountErased{ID: f.id("id")}, f.err },
	TypeRoleDeleted:        func(f fields) (Change, error) { return RoleDeleted{ID: f.id("id")}, f.err },
	TypeRoleBindingDeleted: func(f fields) (Change, error) { return RoleBindingDeleted{ID: f.id("id")}, f.err },
}

// parseDelta decodes a delta's data into its change. It fails with
// ErrUnknownType or ErrPayload. tenant is the verified envelope's tenant:
// a tenant payload must name it.
func parseDelta(typ string, data []byte, tenant string) (Change, error) {
	p, ok := upserts[typ]
	if !ok {
		if p, ok = tombstones[typ]; !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownType, typ)
		}
	}
	var m map[string]any
	if err := syncproto.DecodeData(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPayload, err)
	}
	return parseFields(p, m, tenant)
}

func parseFields(p parser, m map[string]any, tenant string) (Change, error) {
	c, err := p(fields{m: m})
	if err != nil {
		return nil, err
	}
	if id, ok := tenantOf(c); ok && id != tenant {
		return nil, fmt.Errorf("%w: tenant payload names %q in the chain of %q", ErrPayload, id, tenant)
	}
	if ca, ok := c.(tenantCAPayload); ok {
		return ca.bundle(tenant)
	}
	return c, nil
}

func tenantOf(c Change) (string, bool) {
	switch c := c.(type) {
	case Tenant:
		return c.ID, true
	case TenantDeleted:
		return c.ID, true
	}
	return "", false
}

func parseTenant(f fields) (Change, error) {
	c := Tenant{ID: f.id("id"), Slug: f.text("slug"), Name: f.text("name"), Status: f.text("status"), Version: f.int("version")}
	return c, f.err
}

func parseOrganization(f fields) (Change, error) {
	c := Organization{ID: f.id("id"), ParentID: f.optText("parent_id"), Name: f.text("name"),
		Depth: f.int("depth"), Version: f.int("version")}
	return c, f.err
}

func parseAccount(f fields) (Change, error) {
	return Account{ID: f.id("id"), Status: f.text("status"), Version: f.int("version")}, f.err
}

func parseRole(f fields) (Change, error) {
	c := Role{ID: f.id("id"), Name: f.text("name"), Permissions: f.texts("permissions"), Version: f.int("version")}
	return c, f.err
}

func parseRoleBinding(f fields) (Change, error) {
	c := RoleBinding{ID: f.id("id"), AccountID: f.id("account_id"), RoleID: f.id("role_id"),
		OrganizationID: f.id("organization_id")}
	return c, f.err
}

func parseSessionRevoked(f fields) (Change, error) {
	c := SessionRevoked{ID: f.id("id"), AccountID: f.id("account_id"), RevokedAt: f.text("revoked_at")}
	return c, f.err
}

var jwtKeyStates = map[string]bool{"next": true, "active": true, "retiring": true, "retired": true}

func parseJWTKey(f fields) (Change, error) {
	c := JWTKey{Kid: f.id("kid"), PublicKey: f.key("public_key"), Alg: f.text("alg"), State: f.text("state"),
		NotBefore: f.optText("not_before"), RetireAt: f.optText("retire_at")}
	if f.err == nil && !jwtKeyStates[c.State] {
		f.fail("state", "is not next, active, retiring or retired")
	}
	return c, f.err
}

func parseFeatureFlag(f fields) (Change, error) {
	c := FeatureFlag{Name: f.text("name"), Enabled: f.bool("enabled"), Version: f.int("version")}
	pct := f.int("rollout_percent")
	switch {
	case f.err != nil:
	case !slices.Contains(FlagNames, c.Name):
		f.fail("name", "is not a known feature flag")
	case pct < 0 || pct > 100:
		f.fail("rollout_percent", "is not 0-100")
	}
	c.RolloutPercent = int(pct)
	return c, f.err
}

// fields reads typed fields from a decoded CBOR map, keeping the first
// error. Unknown fields are ignored: new optional fields roll out
// producers-last (syncproto/doc.go), but this keeps older edges tolerant.
type fields struct {
	m   map[string]any
	err error
}

func (f *fields) fail(name, why string) {
	if f.err == nil {
		f.err = fmt.Errorf("%w: field %q %s", ErrPayload, name, why)
	}
}

func (f *fields) optText(name string) string {
	v, ok := f.m[name]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	switch {
	case !ok:
		f.fail(name, "is not text")
	case len(s) > MaxFieldLength || !utf8.ValidString(s):
		f.fail(name, "is too long or not UTF-8")
	}
	return s
}

func (f *fields) text(name string) string {
	if v, ok := f.m[name]; !ok || v == nil {
		f.fail(name, "is missing")
		return ""
	}
	return f.optText(name)
}

// id is a required, non-empty identifier without whitespace (the digest
// separates fields with spaces).
func (f *fields) id(name string) string {
	s := f.text(name)
	if f.err == nil && !validID(s) {
		f.fail(name, "is empty or contains whitespace")
	}
	return s
}

func validID(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

func (f *fields) bool(name string) bool {
	b, ok := f.m[name].(bool)
	if !ok {
		f.fail(name, "is not a boolean")
	}
	return b
}

func (f *fields) int(name string) int64 {
	switch v := f.m[name].(type) {
	case uint64:
		if v <= 1<<62 {
			return int64(v)
		}
	case int64:
		return v
	}
	f.fail(name, "is not an integer in range")
	return 0
}

func (f *fields) texts(name string) []string {
	arr, ok := f.m[name].([]any)
	if !ok || len(arr) > MaxPermissions {
		f.fail(name, "is not an array of text (at most MaxPermissions)")
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, v := range arr {
		s, ok := v.(string)
		if !ok || !validID(s) || len(s) > MaxFieldLength {
			f.fail(name, "holds an invalid permission")
			return nil
		}
		out = append(out, s)
	}
	return out
}

// key decodes base64 text (standard or URL alphabet, padded or not) of an
// Ed25519 public key.
func (f *fields) key(name string) []byte {
	s := f.text(name)
	if f.err != nil {
		return nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b
		}
	}
	f.fail(name, "is not base64 of 32 bytes")
	return nil
}
