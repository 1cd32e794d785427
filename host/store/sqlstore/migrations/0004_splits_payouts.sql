-- Splits and their receivers, payouts, and POS terminals.

-- The split ledger of a payment: split_reserved is the sum of the splits
-- not failed, split_amount of their succeeded records. Refunds and splits
-- share the amount: refund_reserved + split_reserved <= amount is kept by
-- the conditional updates that reserve either.
ALTER TABLE payments ADD COLUMN split_reserved BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN split_amount BIGINT NOT NULL DEFAULT 0;
-- When the engine executes the split the rules decided (0 = none due).
ALTER TABLE payments ADD COLUMN split_due_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN terminal_id TEXT NOT NULL DEFAULT '';
CREATE INDEX payments_split_due ON payments (split_due_at, seq) WHERE split_due_at <> 0;

CREATE TABLE split_receivers (
    seq             {{AUTOID}},
    id              TEXT    NOT NULL UNIQUE,
    tenant          TEXT    NOT NULL,
    account         TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    plugin          TEXT    NOT NULL DEFAULT '',
    provider_id     TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    kind            TEXT    NOT NULL DEFAULT '',
    channel         TEXT    NOT NULL DEFAULT '',
    account_no      TEXT    NOT NULL DEFAULT '',
    account_name    TEXT    NOT NULL DEFAULT '',
    relation        TEXT    NOT NULL DEFAULT '',
    relation_name   TEXT    NOT NULL DEFAULT '',
    group_id        TEXT    NOT NULL DEFAULT '',
    ratio_ppm       BIGINT  NOT NULL DEFAULT 0,
    failure_code    TEXT    NOT NULL DEFAULT '',
    failure_message TEXT    NOT NULL DEFAULT '',
    provider_data   TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL DEFAULT 0,
    -- one receiver name may be bound once per wallet (channel) of an account
    UNIQUE (tenant, account, name, channel)
);

CREATE TABLE splits (
    seq             {{AUTOID}},
    id              TEXT    NOT NULL UNIQUE,
    tenant          TEXT    NOT NULL,
    payment_id      TEXT    NOT NULL REFERENCES payments (id),
    account         TEXT    NOT NULL DEFAULT '',
    plugin          TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    amount          BIGINT  NOT NULL CHECK (amount > 0),
    currency        TEXT    NOT NULL DEFAULT '',
    provider_id     TEXT    NOT NULL DEFAULT '',
    records         TEXT    NOT NULL DEFAULT '',
    failure_code    TEXT    NOT NULL DEFAULT '',
    failure_message TEXT    NOT NULL DEFAULT '',
    provider_code   TEXT    NOT NULL DEFAULT '',
    provider_data   TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL DEFAULT 0,
    next_poll_at    BIGINT  NOT NULL DEFAULT 0,
    poll_attempts   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX splits_payment ON splits (payment_id, created_at, seq);
CREATE INDEX splits_poll ON splits (next_poll_at, seq) WHERE next_poll_at <> 0;
-- the rules' split of a payment is executed once, whatever the number of nodes
CREATE UNIQUE INDEX splits_rules_once ON splits (payment_id) WHERE source = 'rules';

CREATE TABLE payouts (
    seq             {{AUTOID}},
    id              TEXT    NOT NULL UNIQUE,
    tenant          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL DEFAULT '',
    account         TEXT    NOT NULL DEFAULT '',
    plugin          TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL,
    amount          BIGINT  NOT NULL CHECK (amount > 0),
    fee_amount      BIGINT  NOT NULL DEFAULT 0,
    currency        TEXT    NOT NULL DEFAULT '',
    destination     TEXT    NOT NULL DEFAULT '',
    description     TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    provider_id     TEXT    NOT NULL DEFAULT '',
    failure_code    TEXT    NOT NULL DEFAULT '',
    failure_message TEXT    NOT NULL DEFAULT '',
    provider_code   TEXT    NOT NULL DEFAULT '',
    provider_data   TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL DEFAULT 0,
    completed_at    BIGINT  NOT NULL DEFAULT 0,
    next_poll_at    BIGINT  NOT NULL DEFAULT 0,
    poll_attempts   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX payouts_poll ON payouts (next_poll_at, seq) WHERE next_poll_at <> 0;

CREATE TABLE terminals (
    seq           {{AUTOID}},
    id            TEXT    NOT NULL UNIQUE,
    tenant        TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    device_no     TEXT    NOT NULL,
    kind          TEXT    NOT NULL DEFAULT '',
    serial_no     TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT '',
    store_name    TEXT    NOT NULL DEFAULT '',
    provider_id   TEXT    NOT NULL DEFAULT '',
    provider_data TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL DEFAULT 0,
    updated_at    BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (account, device_no)
);
