-- +goose Up
-- Replicated feature flag rules (feature_flag.set deltas,
-- docs/feature-flags.md). A flag without a row is on for everyone. Like
-- every entity table (00001_replica.sql), uniqueness lives in a UNIQUE
-- INDEX so a snapshot bulk load can drop and rebuild it.
CREATE TABLE feature_flags (
  tenant_id       TEXT NOT NULL,
  name            TEXT NOT NULL,
  enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  rollout_percent INTEGER NOT NULL CHECK (rollout_percent BETWEEN 0 AND 100),
  version         INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX feature_flags_pk ON feature_flags (tenant_id, name);
