-- +goose Up
-- The relay reads unpublished outbox rows in id order, a batch at a time
-- (iam_relay_pending, 00005). outbox_unpublished is ordered by txid first,
-- so with a large backlog every batch read and sorted all of it (100-200 ms
-- per batch at 10,000 rows, found by the device fan-out bench). This
-- partial index hands them out in id order and stops at the batch size.
CREATE INDEX outbox_pending_by_id ON outbox (id) WHERE published_at IS NULL;
