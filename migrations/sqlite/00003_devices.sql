-- +goose Up
-- Devices at the edge (issue 6, docs/devices-edge.md): the Device entity and
-- the tenant CA that edge/devsync checks device certificates against, plus
-- the signed deltas a device receives exactly as core signed them. Like
-- every entity table (00001_replica.sql), uniqueness lives in a UNIQUE
-- INDEX so a snapshot bulk load can drop and rebuild it.

-- The tenant's latest published CA (tenant_ca.published.v1): generation and
-- bundle, the canonical encoding of a syncproto/devcert TrustBundle built
-- from every root and intermediate of the payload (expired ones kept:
-- verification refuses them anyway). edge/devsync rebuilds it with
-- devcert.ParseTrustBundle.
CREATE TABLE tenant_cas (
  tenant_id  TEXT NOT NULL,
  generation INTEGER NOT NULL,
  bundle     BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX tenant_cas_pk ON tenant_cas (tenant_id);

-- device.enrolled / renewed / revoked (devproto.DevicePayload).
-- not_after is RFC 3339 text; status is active or revoked.
CREATE TABLE devices (
  tenant_id   TEXT NOT NULL,
  id          TEXT NOT NULL,
  account_id  TEXT NOT NULL,
  name        TEXT NOT NULL,
  platform    TEXT NOT NULL,
  status      TEXT NOT NULL,
  cert_serial TEXT NOT NULL,
  not_after   TEXT NOT NULL,
  version     INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX devices_pk ON devices (tenant_id, id);

-- The COSE_Sign1 bytes of the newest device.* deltas of each device (at
-- most 16, by version), as received from the stream. Snapshots carry no
-- raw deltas; a snapshot load keeps these rows (they stay valid signed
-- history) and only the tenant tombstone removes them.
CREATE TABLE device_deltas (
  tenant_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  version   INTEGER NOT NULL,
  type      TEXT NOT NULL,
  raw       BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX device_deltas_pk ON device_deltas (tenant_id, device_id, version);

-- The tenant's root-signed key rotation deltas (raw COSE_Sign1, by tenant
-- sequence), so a device can learn delta-signing keys introduced after its
-- enrollment. Kept across snapshot loads; removed by the tenant tombstone.
CREATE TABLE tenant_key_rotations (
  tenant_id TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  raw       BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX tenant_key_rotations_pk ON tenant_key_rotations (tenant_id, seq);
