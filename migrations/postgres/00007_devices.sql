-- +goose Up
-- Devices (docs/devices.md): each tenant's device certificate authority,
-- the Device entity and the single-use nonces of enrollment, renewal and
-- device token requests.

-- One row per CA generation of a tenant. A generation is a root and an
-- issuing intermediate (core/ca); rotating the intermediate copies the
-- root of the previous generation, rotating the root makes a new one.
-- Private halves are sealed with the KEK (AAD: tenant, role, serial).
-- Generations stay 'active' (trusted, published) until their issuing
-- certificate expires; the newest active generation issues.
CREATE TABLE tenant_cas (
  tenant_id           uuid NOT NULL REFERENCES tenants (id),
  generation          bigint NOT NULL CHECK (generation >= 1),
  root_cert           bytea NOT NULL,
  root_key_sealed     bytea NOT NULL,
  root_kek_id         text NOT NULL,
  issuing_cert        bytea NOT NULL,
  issuing_key_sealed  bytea NOT NULL,
  kek_id              text NOT NULL,
  state               text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
  not_after           timestamptz NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, generation)
);

-- The devices table of 00001 was a placeholder nothing wrote; it gets the
-- columns enrollment needs. A row is active or revoked; revocation is
-- final (a revoked device re-enrolls as a new device).
ALTER TABLE devices
  ADD COLUMN public_key  bytea NOT NULL CHECK (length(public_key) = 32),
  ADD COLUMN version     bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN revoked_at  timestamptz,
  ALTER COLUMN cert_serial SET NOT NULL,
  ALTER COLUMN not_after SET NOT NULL,
  ADD CONSTRAINT devices_platform_length CHECK (length(platform) <= 100),
  ADD CONSTRAINT devices_revoked_at CHECK ((status = 'revoked') = (revoked_at IS NOT NULL));
CREATE UNIQUE INDEX devices_public_key ON devices (tenant_id, public_key) WHERE status = 'active';

-- Single-use nonces, stored as SHA-256. 'enroll' nonces are issued by core
-- to an account (POST …/devices/nonce); 'renew' and 'token' nonces are
-- made by the device (16 random bytes + unix ms) and recorded when used,
-- so a replay within their freshness window finds the row. Expired rows
-- are purged by core's maintenance (iam_purge_device_nonces).
CREATE TABLE device_nonces (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  nonce_hash  bytea NOT NULL CHECK (length(nonce_hash) = 32),
  purpose     text NOT NULL CHECK (purpose IN ('enroll', 'renew', 'token')),
  account_id  uuid,
  device_id   uuid,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  PRIMARY KEY (tenant_id, nonce_hash),
  CHECK ((purpose = 'enroll') = (account_id IS NOT NULL)),
  CHECK ((purpose = 'enroll') = (device_id IS NULL))
);
CREATE INDEX device_nonces_expiry ON device_nonces (expires_at);

SELECT iam_enforce_tenancy(t::regclass) FROM unnest(ARRAY['tenant_cas', 'device_nonces']) AS t;

-- The purge below runs as the owner, and forced RLS applies to the owner
-- too: this policy lets the owner (the role running this migration), and
-- only it, reach every tenant's nonces inside that function.
CREATE POLICY maintenance_owner ON device_nonces TO CURRENT_USER USING (true) WITH CHECK (false);

-- +goose StatementBegin
CREATE FUNCTION iam_purge_device_nonces() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH gone AS (DELETE FROM device_nonces WHERE expires_at <= now() RETURNING 1)
  SELECT count(*) FROM gone
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION iam_purge_device_nonces() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION iam_purge_device_nonces() TO iam_app;

GRANT SELECT, INSERT, UPDATE ON tenant_cas TO iam_app;
GRANT SELECT, INSERT, UPDATE ON device_nonces TO iam_app;
