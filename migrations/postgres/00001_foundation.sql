-- +goose Up
-- The service role. It owns no table and cannot bypass row-level security;
-- core switches to it (SET ROLE) on every pooled connection. Production
-- grants it to a login role: GRANT iam_app TO iam_login.
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'iam_app') THEN
    CREATE ROLE iam_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;
-- +goose StatementEnd

-- The tenant of the current transaction, set by core with
-- set_config('iam.tenant_id', <uuid>, true). NULL when unset: RLS then
-- matches no row.
-- +goose StatementBegin
CREATE FUNCTION iam_current_tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT NULLIF(current_setting('iam.tenant_id', true), '')::uuid
$$;
-- +goose StatementEnd

CREATE TABLE tenants (
  id          uuid PRIMARY KEY,
  slug        text NOT NULL CHECK (slug ~ '^[a-z][a-z0-9-]{1,61}[a-z0-9]$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted')),
  version     bigint NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);
-- A deleted tenant frees its slug.
CREATE UNIQUE INDEX tenants_slug_live ON tenants (slug) WHERE status <> 'deleted';

CREATE TABLE organizations (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  id          uuid NOT NULL,
  parent_id   uuid,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- Materialized path: the ids from the root down to this node, each
  -- followed by '/'. Byte order (COLLATE "C") makes a subtree one index range
  -- in depth-first order.
  path        text COLLATE "C" NOT NULL,
  depth       int NOT NULL CHECK (depth >= 0),
  version     bigint NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, parent_id) REFERENCES organizations (tenant_id, id),
  CHECK (parent_id IS DISTINCT FROM id)
);
CREATE UNIQUE INDEX organizations_path ON organizations (tenant_id, path);
CREATE UNIQUE INDEX organizations_sibling_name ON organizations (tenant_id, parent_id, name) NULLS NOT DISTINCT;

CREATE TABLE accounts (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  id            uuid NOT NULL,
  username      text NOT NULL CHECK (length(username) BETWEEN 1 AND 100),
  email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  display_name  text NOT NULL DEFAULT '',
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'locked', 'disabled')),
  version       bigint NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX accounts_username ON accounts (tenant_id, lower(username));

CREATE TABLE permissions (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  -- Dotted lowercase segments (news.publish); a final ".*" makes a wildcard (iam.*).
  name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$' AND name LIKE '%.%'),
  description text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE roles (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  id          uuid NOT NULL,
  name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_.-]{0,99}$'),
  version     bigint NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE role_permissions (
  tenant_id   uuid NOT NULL,
  role_id     uuid NOT NULL,
  permission  text NOT NULL,
  PRIMARY KEY (tenant_id, role_id, permission),
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, permission) REFERENCES permissions (tenant_id, name)
);

CREATE TABLE role_bindings (
  tenant_id        uuid NOT NULL,
  id               uuid NOT NULL,
  account_id       uuid NOT NULL,
  role_id          uuid NOT NULL,
  organization_id  uuid NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, account_id, role_id, organization_id),
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX role_bindings_org ON role_bindings (tenant_id, organization_id);
CREATE INDEX role_bindings_role ON role_bindings (tenant_id, role_id);

CREATE TABLE sessions (
  tenant_id     uuid NOT NULL,
  id            uuid NOT NULL,
  account_id    uuid NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  revoke_reason text,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_account ON sessions (tenant_id, account_id);

CREATE TABLE devices (
  tenant_id     uuid NOT NULL,
  id            uuid NOT NULL,
  account_id    uuid NOT NULL,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  platform      text NOT NULL DEFAULT '',
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  cert_serial   text,
  not_after     timestamptz,
  last_seen     timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX devices_account ON devices (tenant_id, account_id);

-- Idempotency keys. tenant_id is the nil UUID for calls outside a tenant
-- (POST /api/v1/tenants). The row is claimed inside the mutation's own
-- transaction, so a concurrent duplicate waits on it and then replays.
CREATE TABLE idempotency_keys (
  tenant_id      uuid NOT NULL,
  key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash   bytea NOT NULL,
  status_code    int NOT NULL DEFAULT 0,
  response_body  bytea,
  response_headers jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Transactional outbox. txid records the writing transaction so the relay
-- can publish in commit order without skipping a slow transaction's row.
CREATE TABLE outbox (
  tenant_id    uuid NOT NULL,
  id           bigint GENERATED ALWAYS AS IDENTITY,
  event_id     uuid NOT NULL UNIQUE,
  type         text NOT NULL CHECK (type ~ '^melmastoon\.iam\.[a-z_]+\.[a-z_]+\.v[0-9]+$'),
  subject      text NOT NULL,
  data         jsonb NOT NULL,
  traceparent  text NOT NULL DEFAULT '',
  txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_unpublished ON outbox (txid, id) WHERE published_at IS NULL;

-- Audit trail: partitioned by month, append-only.
CREATE TABLE audit_events (
  tenant_id    uuid NOT NULL,
  id           uuid NOT NULL,
  occurred_at  timestamptz NOT NULL DEFAULT now(),
  actor        text NOT NULL,
  action       text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
  target_type  text NOT NULL,
  target_id    text NOT NULL,
  outcome      text NOT NULL DEFAULT 'success' CHECK (outcome IN ('success', 'failure')),
  source_ip    text NOT NULL DEFAULT '',
  traceparent  text NOT NULL DEFAULT '',
  details      jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, occurred_at, id)
) PARTITION BY RANGE (occurred_at);

-- +goose StatementBegin
CREATE FUNCTION iam_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION iam_audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION iam_audit_append_only();

-- Row-level security on one table: enabled, forced, one tenant policy.
-- +goose StatementBegin
CREATE FUNCTION iam_enforce_tenancy(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = tbl AND polname = 'tenant_isolation') THEN
    EXECUTE format('CREATE POLICY tenant_isolation ON %s USING (tenant_id = iam_current_tenant()) WITH CHECK (tenant_id = iam_current_tenant())', tbl);
  END IF;
END
$$;
-- +goose StatementEnd

-- Monthly audit partitions from this month to months_ahead ahead. Each
-- partition gets forced RLS and the truncate guard (statement triggers do
-- not propagate), and the service role gets no direct access to it.
-- SECURITY DEFINER so the service role's maintenance routine may call it.
-- +goose StatementBegin
CREATE FUNCTION iam_ensure_audit_partitions(months_ahead int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  m date := date_trunc('month', now())::date;
  last date := (date_trunc('month', now()) + make_interval(months => months_ahead))::date;
  part text;
  made int := 0;
BEGIN
  WHILE m <= last LOOP
    part := format('audit_events_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
                     part, m, (m + interval '1 month')::date);
      PERFORM iam_enforce_tenancy(part::regclass);
      EXECUTE format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION iam_audit_append_only()', part);
      EXECUTE format('REVOKE ALL ON %I FROM iam_app', part);
      made := made + 1;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
  RETURN made;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION iam_ensure_audit_partitions(int) FROM PUBLIC;

-- Expired idempotency keys of every tenant (maintenance; RLS would limit the
-- service role to one tenant at a time).
-- +goose StatementBegin
CREATE FUNCTION iam_purge_idempotency_keys() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH gone AS (DELETE FROM idempotency_keys WHERE expires_at <= now() RETURNING 1)
  SELECT count(*) FROM gone
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION iam_purge_idempotency_keys() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION iam_purge_idempotency_keys() TO iam_app;
GRANT EXECUTE ON FUNCTION iam_ensure_audit_partitions(int) TO iam_app;

SELECT iam_enforce_tenancy(t::regclass) FROM unnest(ARRAY[
  'organizations', 'accounts', 'permissions', 'roles', 'role_permissions',
  'role_bindings', 'sessions', 'devices', 'idempotency_keys', 'outbox', 'audit_events'
]) AS t;
SELECT iam_ensure_audit_partitions(6);

GRANT SELECT, INSERT, UPDATE ON tenants TO iam_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON organizations, accounts, permissions, roles,
  role_permissions, role_bindings, sessions, devices, idempotency_keys TO iam_app;
GRANT SELECT, INSERT ON outbox TO iam_app;
GRANT SELECT, INSERT ON audit_events TO iam_app;
GRANT SELECT ON goose_db_version TO iam_app;
