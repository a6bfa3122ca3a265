-- +goose Up
-- The edge replica (edge/replica): the tenant-scoped state that deltas
-- carry (docs/deltas.md), each tenant's verified delta chain, and the
-- stream cursor. Entity tables are rowid tables whose (tenant_id, id)
-- uniqueness lives in a UNIQUE INDEX rather than a PRIMARY KEY, so a
-- snapshot bulk load can drop every index, insert, and build the indexes
-- afterwards (edge/replica.LoadSnapshot reads the index SQL back from
-- sqlite_master, so this file stays the only definition).

CREATE TABLE tenants (
  id      TEXT NOT NULL PRIMARY KEY,
  slug    TEXT NOT NULL,
  name    TEXT NOT NULL,
  status  TEXT NOT NULL,
  version INTEGER NOT NULL
) STRICT;

CREATE TABLE organizations (
  tenant_id TEXT NOT NULL,
  id        TEXT NOT NULL,
  parent_id TEXT,
  name      TEXT NOT NULL,
  depth     INTEGER NOT NULL,
  version   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX organizations_pk ON organizations (tenant_id, id);
CREATE INDEX organizations_parent ON organizations (tenant_id, parent_id);

CREATE TABLE accounts (
  tenant_id TEXT NOT NULL,
  id        TEXT NOT NULL,
  status    TEXT NOT NULL,
  version   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX accounts_pk ON accounts (tenant_id, id);

CREATE TABLE roles (
  tenant_id TEXT NOT NULL,
  id        TEXT NOT NULL,
  name      TEXT NOT NULL,
  version   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX roles_pk ON roles (tenant_id, id);

CREATE TABLE role_permissions (
  tenant_id  TEXT NOT NULL,
  role_id    TEXT NOT NULL,
  permission TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX role_permissions_pk ON role_permissions (tenant_id, role_id, permission);

CREATE TABLE role_bindings (
  tenant_id       TEXT NOT NULL,
  id              TEXT NOT NULL,
  account_id      TEXT NOT NULL,
  role_id         TEXT NOT NULL,
  organization_id TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX role_bindings_pk ON role_bindings (tenant_id, id);
CREATE INDEX role_bindings_account ON role_bindings (tenant_id, account_id);
CREATE INDEX role_bindings_role ON role_bindings (tenant_id, role_id);

CREATE TABLE revoked_sessions (
  tenant_id  TEXT NOT NULL,
  id         TEXT NOT NULL,
  account_id TEXT NOT NULL,
  revoked_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX revoked_sessions_pk ON revoked_sessions (tenant_id, id);
CREATE INDEX revoked_sessions_account ON revoked_sessions (tenant_id, account_id);

-- Public halves of the tenant's JWT signing keys (signing_key.* deltas).
CREATE TABLE jwt_keys (
  tenant_id  TEXT NOT NULL,
  kid        TEXT NOT NULL,
  public_key BLOB NOT NULL,
  alg        TEXT NOT NULL,
  state      TEXT NOT NULL,
  not_before TEXT,
  retire_at  TEXT
) STRICT;
CREATE UNIQUE INDEX jwt_keys_pk ON jwt_keys (tenant_id, kid);

-- One row per tenant whose chain the replica follows. Kept when the tenant
-- is deleted (tombstone), so later deltas of that chain still verify.
-- anchor and verifier_state are JSON (syncproto.TrustAnchor and
-- syncproto.VerifierState); last_checkpoint_at is the newest accepted signed
-- time in unix milliseconds (0 = none); deleted is 1 after the tenant's
-- tombstone (its staleness no longer counts).
CREATE TABLE tenant_chains (
  tenant_id          TEXT NOT NULL PRIMARY KEY,
  anchor             TEXT NOT NULL,
  verifier_state     TEXT NOT NULL,
  last_checkpoint_at INTEGER NOT NULL DEFAULT 0,
  deleted            INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;

-- The last IAM_DELTAS stream sequence applied (or skipped): one row.
CREATE TABLE stream_cursor (
  id  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL CHECK (seq >= 0)
) STRICT;
INSERT INTO stream_cursor (id, seq) VALUES (1, 0);
