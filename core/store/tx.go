package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Tx is a transaction scoped to one tenant.
type Tx struct {
	tx     pgx.Tx
	tenant TenantID
	now    func() time.Time
}

// Tenant reports the transaction's tenant scope.
func (t *Tx) Tenant() TenantID { return t.tenant }

func (t *Tx) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.tx.Exec(ctx, sql, args...)
}

func (t *Tx) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.tx.Query(ctx, sql, args...)
}

func (t *Tx) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.tx.QueryRow(ctx, sql, args...)
}

// Actor describes who performs a mutation, for the audit trail.
type Actor struct {
	// ID is "bootstrap" for the bootstrap token, or an account id.
	ID string
	// SourceIP is the client address.
	SourceIP string
	// TraceParent is the W3C traceparent of the request, carried into the
	// audit and outbox rows.
	TraceParent string
}

// AuditEvent is one row of the append-only audit trail.
type AuditEvent struct {
	Action     string // e.g. "organization.create"
	TargetType string
	TargetID   string
	Outcome    string // "success" (default) or "failure"
	Details    map[string]any
}

// Audit appends one audit row in this transaction. tenant overrides the
// transaction's tenant (needed when a tenant is created in global scope).
func (t *Tx) Audit(ctx context.Context, actor Actor, ev AuditEvent) error {
	if ev.Outcome == "" {
		ev.Outcome = "success"
	}
	details, err := json.Marshal(orEmpty(ev.Details))
	if err != nil {
		return fmt.Errorf("store: audit details: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO audit_events
		(tenant_id, id, occurred_at, actor, action, target_type, target_id, outcome, source_ip, traceparent, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		t.tenant.UUID, newID(), t.now(), actor.ID, ev.Action, ev.TargetType, ev.TargetID,
		ev.Outcome, actor.SourceIP, actor.TraceParent, details)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// Event is one outbox row: a change that the relay turns into a signed delta.
type Event struct {
	// Type is melmastoon.iam.<entity>.<verb>.v<N>.
	Type string
	// Subject is the id of the entity that changed.
	Subject string
	// Data is the entity state (or tombstone) as JSON-marshalable value.
	Data any
}

// Emit appends one outbox row in this transaction. From here to commit the
// transaction holds its tenant's outbox order: another transaction emitting
// for the same tenant waits, so deltas leave in commit order.
func (t *Tx) Emit(ctx context.Context, actor Actor, ev Event) error {
	data, err := json.Marshal(ev.Data)
	if err != nil {
		return fmt.Errorf("store: outbox data: %w", err)
	}
	// The tenant's order counter is bumped in the same statement and stays
	// locked until commit: rows of one tenant commit in counter order
	// (migrations/postgres/00005_outbox_order.sql).
	_, err = t.exec(ctx, `WITH n AS (
			INSERT INTO outbox_order AS oo (tenant_id, last) VALUES ($1, 1)
			ON CONFLICT (tenant_id) DO UPDATE SET last = oo.last + 1
			RETURNING last)
		INSERT INTO outbox (tenant_id, event_id, type, subject, data, traceparent, tenant_order)
		SELECT $1, $2, $3, $4, $5, $6, n.last FROM n`,
		t.tenant.UUID, newID(), ev.Type, ev.Subject, data, actor.TraceParent)
	if err != nil {
		return fmt.Errorf("store: outbox: %w", err)
	}
	return nil
}

// record writes the audit row and the outbox row of one mutation.
func (t *Tx) record(ctx context.Context, actor Actor, a AuditEvent, e Event) error {
	if err := t.Audit(ctx, actor, a); err != nil {
		return err
	}
	return t.Emit(ctx, actor, e)
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
