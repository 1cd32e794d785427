-- The token of the claimant that owns an in-progress idempotency key: link,
-- finish and release are conditional on it, so an owner whose lease was taken
-- over cannot act on the key any more.
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT NOT NULL DEFAULT '';
