-- Nodes: every engine records its heartbeat here. An in-progress
-- idempotency key remembers the node of its owner; when that node has not
-- been seen for the node timeout (it crashed), a retry takes the key over
-- at once instead of waiting for the key's lease to run out.
CREATE TABLE nodes (
    id      TEXT   PRIMARY KEY,
    seen_at BIGINT NOT NULL
);

ALTER TABLE idempotency_keys ADD COLUMN node TEXT NOT NULL DEFAULT '';
