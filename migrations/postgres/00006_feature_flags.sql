-- +goose Up
-- Per-tenant feature flags (docs/feature-flags.md). A row is the rule of one
-- flag: on for an account when enabled and the account's stable bucket
-- (SHA-256 of its id, 0-99) is below rollout_percent. A flag without a row
-- is on for everyone (enabled, 100 %): a new tenant is secure by default.
-- Every change bumps version, writes one audit row and one
-- melmastoon.iam.feature_flag.set.v1 outbox row in the same transaction.
CREATE TABLE feature_flags (
  tenant_id        uuid NOT NULL REFERENCES tenants (id),
  name             text NOT NULL CHECK (name IN ('iam_authentication_enabled',
                                                  'iam_authorization_enabled',
                                                  'iam_permission_caching_enabled')),
  enabled          boolean NOT NULL,
  rollout_percent  int NOT NULL CHECK (rollout_percent BETWEEN 0 AND 100),
  version          bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- The audit actor of the last change: "bootstrap" or an account id.
  updated_by       text,
  PRIMARY KEY (tenant_id, name)
);
SELECT iam_enforce_tenancy('feature_flags'::regclass);
GRANT SELECT, INSERT, UPDATE ON feature_flags TO iam_app;
