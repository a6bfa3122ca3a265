-- +goose Up
-- Edges report their replica position over NATS (iam.edge.status.<name>);
-- core keeps the latest report here for GET /api/v1/edges. Not tenant data.
CREATE TABLE edges (
  name               text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  stream_seq         bigint NOT NULL DEFAULT 0,
  tenants            int NOT NULL DEFAULT 0,
  staleness_ms       bigint NOT NULL DEFAULT 0,
  version            text NOT NULL DEFAULT '',
  first_seen         timestamptz NOT NULL DEFAULT now(),
  last_contact       timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON edges TO iam_app;
