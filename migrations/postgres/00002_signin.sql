-- +goose Up
-- Credentials and throttling state on the account.
ALTER TABLE accounts
  ADD COLUMN password_hash        text,
  ADD COLUMN password_changed_at  timestamptz,
  ADD COLUMN failed_logins        int NOT NULL DEFAULT 0,
  ADD COLUMN locked_until         timestamptz,
  ADD COLUMN lock_count           int NOT NULL DEFAULT 0,
  -- TOTP secret sealed with the key-encryption key; confirmed when the
  -- first code was accepted; the last accepted time step refuses replays.
  ADD COLUMN totp_secret_sealed   bytea,
  ADD COLUMN totp_confirmed_at    timestamptz,
  ADD COLUMN totp_last_step       bigint NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
  tenant_id   uuid NOT NULL,
  account_id  uuid NOT NULL,
  idx         int NOT NULL,
  code_hash   bytea NOT NULL,
  used_at     timestamptz,
  PRIMARY KEY (tenant_id, account_id, idx),
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);

-- Short-lived tickets between a correct password and the second factor.
CREATE TABLE mfa_tickets (
  tenant_id    uuid NOT NULL,
  ticket_hash  bytea NOT NULL,
  account_id   uuid NOT NULL,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  attempts     int NOT NULL DEFAULT 0,
  used_at      timestamptz,
  PRIMARY KEY (tenant_id, ticket_hash),
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);

-- A session is a refresh-token family.
ALTER TABLE sessions
  ADD COLUMN amr               text[] NOT NULL DEFAULT '{}',
  ADD COLUMN source_ip         text NOT NULL DEFAULT '',
  ADD COLUMN user_agent        text NOT NULL DEFAULT '',
  ADD COLUMN last_refreshed_at timestamptz;

-- Refresh tokens, stored as SHA-256 hashes. A rotated token keeps, for a
-- short grace window, its successor pair sealed with the KEK so a retry
-- (two tabs, a lost response) gets the same new pair instead of a logout.
CREATE TABLE refresh_tokens (
  tenant_id        uuid NOT NULL,
  token_hash       bytea NOT NULL,
  session_id       uuid NOT NULL,
  created_at       timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  rotated_at       timestamptz,
  successor_sealed bytea,
  PRIMARY KEY (tenant_id, token_hash),
  FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (tenant_id, session_id);

-- Token-signing keys; the private half is sealed with the KEK.
CREATE TABLE signing_keys (
  tenant_id       uuid NOT NULL REFERENCES tenants (id),
  kid             text NOT NULL,
  public_key      bytea NOT NULL CHECK (length(public_key) = 32),
  private_sealed  bytea NOT NULL,
  kek_id          text NOT NULL,
  state           text NOT NULL CHECK (state IN ('next', 'active', 'retiring', 'retired')),
  published_at    timestamptz NOT NULL,
  not_before      timestamptz NOT NULL,
  retire_at       timestamptz,
  PRIMARY KEY (tenant_id, kid)
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (tenant_id) WHERE state = 'active';

SELECT iam_enforce_tenancy(t::regclass) FROM unnest(ARRAY[
  'recovery_codes', 'mfa_tickets', 'refresh_tokens', 'signing_keys'
]) AS t;

GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes, mfa_tickets, refresh_tokens, signing_keys TO iam_app;
