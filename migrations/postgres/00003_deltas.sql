-- +goose Up
-- Signed deltas (docs/deltas.md): the keys and per-tenant hash chains of the
-- outbox relay (core/relay), and what the relay records on each outbox row.

-- The system delta root: one Ed25519 key per deployment, the edges' trust
-- anchor. Global (no tenant_id); exactly one row; the private half is sealed
-- with the KEK.
CREATE TABLE delta_system_key (
  singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  kid             text NOT NULL CHECK (length(kid) BETWEEN 1 AND 64),
  public_key      bytea NOT NULL CHECK (length(public_key) = 32),
  private_sealed  bytea NOT NULL,
  kek_id          text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- Each tenant's delta root (vouched for by the system root with an anchor
-- certificate) and delta-signing keys (introduced by root-signed
-- KeyRotation deltas). Kids are never reused.
CREATE TABLE delta_keys (
  tenant_id       uuid NOT NULL REFERENCES tenants (id),
  kid             text NOT NULL CHECK (length(kid) BETWEEN 1 AND 64),
  purpose         text NOT NULL CHECK (purpose IN ('root', 'signing')),
  public_key      bytea NOT NULL CHECK (length(public_key) = 32),
  private_sealed  bytea NOT NULL,
  kek_id          text NOT NULL,
  state           text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kid)
);
CREATE UNIQUE INDEX delta_keys_one_root ON delta_keys (tenant_id) WHERE purpose = 'root';
CREATE UNIQUE INDEX delta_keys_one_active_signing ON delta_keys (tenant_id)
  WHERE purpose = 'signing' AND state = 'active';

-- Head of each tenant's hash chain as published: the last tenant seq, its
-- chain hash and the stream sequence of that message in IAM_DELTAS.
CREATE TABLE delta_chains (
  tenant_id   uuid PRIMARY KEY REFERENCES tenants (id),
  seq         bigint NOT NULL CHECK (seq >= 1),
  head        bytea NOT NULL CHECK (length(head) = 32),
  stream_seq  bigint NOT NULL CHECK (stream_seq >= 1),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- What the relay records when it publishes an outbox row.
ALTER TABLE outbox
  ADD COLUMN delta_seq   bigint,
  ADD COLUMN chain_hash  bytea CHECK (chain_hash IS NULL OR length(chain_hash) = 32),
  ADD COLUMN stream_seq  bigint;

SELECT iam_enforce_tenancy(t::regclass) FROM unnest(ARRAY['delta_keys', 'delta_chains']) AS t;

-- The SECURITY DEFINER functions below run as the owner of the tables, and
-- FORCE ROW LEVEL SECURITY applies to the owner too: these read-only
-- policies let the owner (and only the owner, the role running this
-- migration) see every tenant's rows inside those functions. The service
-- role is not the owner and stays confined to its tenant.
CREATE POLICY relay_owner_read ON outbox FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY relay_owner_read ON delta_chains FOR SELECT TO CURRENT_USER USING (true);

-- Wake the relay when outbox rows commit (NOTIFY is delivered at commit;
-- equal notifications of one transaction are folded into one).
-- +goose StatementBegin
CREATE FUNCTION iam_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('iam_outbox', '');
  RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION iam_outbox_notify();

-- Unpublished outbox rows of every tenant whose writing transaction is below
-- the snapshot horizon, in (txid, id) order: a transaction that commits
-- later than a younger one holds the horizon below itself until it ends, so
-- its rows can never be skipped (DESIGN.md invariant 2).
-- +goose StatementBegin
CREATE FUNCTION iam_relay_pending(max_rows int)
RETURNS TABLE (tenant_id text, id bigint, event_id text, type text, subject text,
               data text, traceparent text, created_at timestamptz)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT o.tenant_id::text, o.id, o.event_id::text, o.type, o.subject, o.data::text, o.traceparent, o.created_at
    FROM outbox o
   WHERE o.published_at IS NULL AND o.txid < pg_snapshot_xmin(pg_current_snapshot())
   ORDER BY o.txid, o.id
   LIMIT max_rows
$$;
-- +goose StatementEnd

-- Number of unpublished outbox rows of every tenant (the outbox_pending gauge).
-- +goose StatementBegin
CREATE FUNCTION iam_relay_pending_count() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(*) FROM outbox WHERE published_at IS NULL
$$;
-- +goose StatementEnd

-- Tenants that have a delta chain (checkpoints are published for each).
-- +goose StatementBegin
CREATE FUNCTION iam_relay_chain_tenants() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT tenant_id::text FROM delta_chains ORDER BY tenant_id
$$;
-- +goose StatementEnd

-- The highest stream sequence recorded in any chain: where reconciliation
-- starts reading the stream.
-- +goose StatementBegin
CREATE FUNCTION iam_relay_last_stream_seq() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(max(stream_seq), 0) FROM delta_chains
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION iam_relay_pending(int), iam_relay_pending_count(),
  iam_relay_chain_tenants(), iam_relay_last_stream_seq() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION iam_relay_pending(int), iam_relay_pending_count(),
  iam_relay_chain_tenants(), iam_relay_last_stream_seq() TO iam_app;

GRANT SELECT, INSERT ON delta_system_key TO iam_app;
GRANT SELECT, INSERT, UPDATE ON delta_keys, delta_chains TO iam_app;
GRANT UPDATE (published_at, delta_seq, chain_hash, stream_seq) ON outbox TO iam_app;
