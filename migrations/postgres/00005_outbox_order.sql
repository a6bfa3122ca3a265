-- +goose Up
-- Per-tenant commit order of outbox rows. Emit bumps the tenant's counter
-- in the same statement that inserts the row, and the counter row stays
-- locked until the transaction ends: two transactions emitting for one
-- tenant commit in counter order, the counter is gapless (a rollback takes
-- its increment back), and within a tenant outbox ids follow it too. A row
-- the relay can see therefore implies that every earlier row of its tenant
-- has committed: the relay publishes visible rows in id order with no need
-- for the snapshot horizon (which ordered by transaction id — start order,
-- not commit order — and could put an older version of an entity last).
CREATE TABLE outbox_order (
  tenant_id uuid PRIMARY KEY,
  last      bigint NOT NULL DEFAULT 0
);
SELECT iam_enforce_tenancy('outbox_order'::regclass);
GRANT SELECT, INSERT, UPDATE ON outbox_order TO iam_app;

ALTER TABLE outbox ADD COLUMN tenant_order bigint;
CREATE UNIQUE INDEX outbox_tenant_order ON outbox (tenant_id, tenant_order);

-- Rows written before this migration (tenant_order NULL) keep the horizon rule.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION iam_relay_pending(max_rows int)
RETURNS TABLE (tenant_id text, id bigint, event_id text, type text, subject text,
               data text, traceparent text, created_at timestamptz)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT o.tenant_id::text, o.id, o.event_id::text, o.type, o.subject, o.data::text, o.traceparent, o.created_at
    FROM outbox o
   WHERE o.published_at IS NULL
     AND (o.tenant_order IS NOT NULL OR o.txid < pg_snapshot_xmin(pg_current_snapshot()))
   ORDER BY o.id
   LIMIT max_rows
$$;
-- +goose StatementEnd
