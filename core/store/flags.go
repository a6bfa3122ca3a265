package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Feature flag names (docs/feature-flags.md). The database CHECK of
// feature_flags, the edge replica and the REST contract list the same.
const (
	FlagAuthentication    = "iam_authentication_enabled"
	FlagAuthorization     = "iam_authorization_enabled"
	FlagPermissionCaching = "iam_permission_caching_enabled"
)

// FlagNames lists every feature flag, in the order the API lists them.
var FlagNames = []string{FlagAuthentication, FlagAuthorization, FlagPermissionCaching}

// ErrFlagUnknown is returned for a name that is not in FlagNames.
var ErrFlagUnknown = errors.Join(errors.New("store: unknown feature flag"), ErrNotFound)

// ValidFlag reports whether name is a known feature flag.
func ValidFlag(name string) bool { return slices.Contains(FlagNames, name) }

// Flag is the rule of one feature flag of the tenant: on for an account when
// Enabled and the account's bucket is below RolloutPercent. A flag that was
// never set has no row; DefaultFlag describes it.
type Flag struct {
	Name           string
	Enabled        bool
	RolloutPercent int
	// Version is 0 for a flag that was never set, else 1, 2, … per change.
	Version   int64
	UpdatedAt *time.Time
	UpdatedBy string
}

// IsSet reports whether the flag has a row (was set at least once).
func (f Flag) IsSet() bool { return f.Version > 0 }

// DefaultFlag is the rule of a flag without a row: on for everyone, so a
// new tenant is secure by default.
func DefaultFlag(name string) Flag { return Flag{Name: name, Enabled: true, RolloutPercent: 100} }

const flagColumns = `name, enabled, rollout_percent, version, updated_at, coalesce(updated_by, '')`

func scanFlag(row pgx.Row) (Flag, error) {
	var f Flag
	var at time.Time
	err := row.Scan(&f.Name, &f.Enabled, &f.RolloutPercent, &f.Version, &at, &f.UpdatedBy)
	f.UpdatedAt = &at
	return f, err
}

// ListFlags returns the tenant's flags that have a row, by name. Flags not
// listed have their DefaultFlag rule.
func (t *Tx) ListFlags(ctx context.Context) ([]Flag, error) {
	rows, err := t.query(ctx, `SELECT `+flagColumns+` FROM feature_flags WHERE tenant_id = $1 ORDER BY name`, t.tenant.UUID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanFlag)
}

// GetFlag returns one flag's rule: its row, or DefaultFlag when it was
// never set. An unknown name is ErrFlagUnknown.
func (t *Tx) GetFlag(ctx context.Context, name string) (Flag, error) {
	return t.getFlag(ctx, name, false)
}

func (t *Tx) getFlag(ctx context.Context, name string, forUpdate bool) (Flag, error) {
	if !ValidFlag(name) {
		return Flag{}, ErrFlagUnknown
	}
	q := `SELECT ` + flagColumns + ` FROM feature_flags WHERE tenant_id = $1 AND name = $2`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	f, err := scanFlag(t.queryRow(ctx, q, t.tenant.UUID, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultFlag(name), nil
	}
	return f, err
}

// SetFlag sets a flag's rule (an upsert whose version is the previous one
// + 1, starting at 1), with one audit row (action feature_flag.set, old and
// new values) and one melmastoon.iam.feature_flag.set.v1 outbox row in this
// transaction. ifMatch, when not nil, must equal the current version (0:
// the flag must not have been set yet), else ErrVersionMismatch.
func (t *Tx) SetFlag(ctx context.Context, actor Actor, name string, enabled bool, rolloutPercent int, ifMatch *int64) (Flag, error) {
	if !ValidFlag(name) {
		return Flag{}, ErrFlagUnknown
	}
	if rolloutPercent < 0 || rolloutPercent > 100 {
		return Flag{}, &FieldError{Field: "rollout_percent", Reason: "must be an integer from 0 to 100"}
	}
	// Serialise changes of this flag: the first set of a flag has no row to
	// lock, and the audit row must name the value it replaced.
	if _, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('iam.feature_flags:' || $1::text || ':' || $2, 0))`,
		t.tenant.UUID, name); err != nil {
		return Flag{}, err
	}
	old, err := t.getFlag(ctx, name, true)
	if err != nil {
		return Flag{}, err
	}
	if ifMatch != nil && *ifMatch != old.Version {
		return Flag{}, ErrVersionMismatch
	}
	f, err := scanFlag(t.queryRow(ctx, `INSERT INTO feature_flags AS f (tenant_id, name, enabled, rollout_percent, version, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, 1, $5, $6)
		ON CONFLICT (tenant_id, name) DO UPDATE SET enabled = excluded.enabled, rollout_percent = excluded.rollout_percent,
			version = f.version + 1, updated_at = excluded.updated_at, updated_by = excluded.updated_by
		RETURNING `+flagColumns, t.tenant.UUID, name, enabled, rolloutPercent, t.now(), actor.ID))
	if err != nil {
		return Flag{}, err
	}
	return f, t.record(ctx, actor,
		AuditEvent{Action: "feature_flag.set", TargetType: "feature_flag", TargetID: name, Details: map[string]any{
			"old": flagDetails(old), "new": flagDetails(f)}},
		Event{Type: "melmastoon.iam.feature_flag.set.v1", Subject: name, Data: flagEvent(f)})
}

// flagDetails is a flag's rule in an audit row; "set" is false for the
// default rule of a flag that had no row.
func flagDetails(f Flag) map[string]any {
	return map[string]any{"enabled": f.Enabled, "rollout_percent": f.RolloutPercent, "version": f.Version, "set": f.IsSet()}
}

// flagEvent is the replicated payload (docs/deltas.md).
func flagEvent(f Flag) map[string]any {
	return map[string]any{"name": f.Name, "enabled": f.Enabled, "rollout_percent": f.RolloutPercent,
		"version": f.Version, "updated_at": f.UpdatedAt}
}
