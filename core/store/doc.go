// Package store is core's PostgreSQL data layer (jackc/pgx/v5).
//
// Every query runs in a transaction scoped to one tenant (InTenant) or to
// the global scope (Global): the transaction sets iam.tenant_id, and the
// row-level security policies of every tenant-scoped table match only that
// tenant's rows. Pooled connections switch to the iam_app role, which owns no
// table and cannot bypass RLS, so a forgotten WHERE clause can never leak
// another tenant's data.
//
// Every mutation writes its domain rows, exactly one audit_events row and one
// outbox row in the same transaction (see Tx.Audit and Tx.Emit).
package store
