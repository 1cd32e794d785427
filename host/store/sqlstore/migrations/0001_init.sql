-- Payhost store, version 1. Portable across SQLite and PostgreSQL:
-- {{AUTOID}} and {{BLOB}} are replaced per dialect; money is BIGINT in
-- minor units, times are BIGINT Unix microseconds (0 = unset), maps are
-- JSON in TEXT ('' = empty), booleans are SMALLINT.

CREATE TABLE idempotency_keys (
    tenant          TEXT     NOT NULL,
    idem_key        TEXT     NOT NULL,
    operation       TEXT     NOT NULL DEFAULT '',
    request_hash    TEXT     NOT NULL DEFAULT '',
    state           TEXT     NOT NULL,
    resource_id     TEXT     NOT NULL DEFAULT '',
    response_status INTEGER  NOT NULL DEFAULT 0,
    response_body   {{BLOB}},
    locked_until    BIGINT   NOT NULL DEFAULT 0,
    created_at      BIGINT   NOT NULL DEFAULT 0,
    updated_at      BIGINT   NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, idem_key)
);

CREATE TABLE payments (
    seq               {{AUTOID}},
    id                TEXT    NOT NULL UNIQUE,
    tenant            TEXT    NOT NULL,
    merchant_order_id TEXT    NOT NULL DEFAULT '',
    idempotency_key   TEXT    NOT NULL DEFAULT '',
    amount            BIGINT  NOT NULL CHECK (amount >= 0),
    currency          TEXT    NOT NULL DEFAULT '',
    method            TEXT    NOT NULL DEFAULT '',
    description       TEXT    NOT NULL DEFAULT '',
    metadata          TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL,
    plugin            TEXT    NOT NULL DEFAULT '',
    account           TEXT    NOT NULL DEFAULT '',
    provider_id       TEXT    NOT NULL DEFAULT '',
    channel_trade_no  TEXT    NOT NULL DEFAULT '',
    pay_info          TEXT    NOT NULL DEFAULT '',
    decision          TEXT    NOT NULL DEFAULT '',
    fee_amount        BIGINT  NOT NULL DEFAULT 0,
    refunded_amount   BIGINT  NOT NULL DEFAULT 0,
    refund_reserved   BIGINT  NOT NULL DEFAULT 0,
    failure_code      TEXT    NOT NULL DEFAULT '',
    failure_message   TEXT    NOT NULL DEFAULT '',
    provider_data     TEXT    NOT NULL DEFAULT '',
    created_at        BIGINT  NOT NULL DEFAULT 0,
    updated_at        BIGINT  NOT NULL DEFAULT 0,
    paid_at           BIGINT  NOT NULL DEFAULT 0,
    next_poll_at      BIGINT  NOT NULL DEFAULT 0,
    poll_attempts     BIGINT  NOT NULL DEFAULT 0,
    CHECK (refund_reserved >= 0 AND refund_reserved <= amount),
    CHECK (refunded_amount >= 0 AND refunded_amount <= refund_reserved)
);
CREATE UNIQUE INDEX payments_tenant_merchant_order ON payments (tenant, merchant_order_id) WHERE merchant_order_id <> '';
CREATE INDEX payments_poll ON payments (next_poll_at, seq) WHERE next_poll_at <> 0;

CREATE TABLE refunds (
    seq             {{AUTOID}},
    id              TEXT    NOT NULL UNIQUE,
    tenant          TEXT    NOT NULL,
    payment_id      TEXT    NOT NULL REFERENCES payments (id),
    idempotency_key TEXT    NOT NULL DEFAULT '',
    amount          BIGINT  NOT NULL CHECK (amount > 0),
    currency        TEXT    NOT NULL DEFAULT '',
    reason          TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    provider_id     TEXT    NOT NULL DEFAULT '',
    failure_code    TEXT    NOT NULL DEFAULT '',
    failure_message TEXT    NOT NULL DEFAULT '',
    provider_data   TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL DEFAULT 0,
    succeeded_at    BIGINT  NOT NULL DEFAULT 0,
    next_poll_at    BIGINT  NOT NULL DEFAULT 0,
    poll_attempts   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at, seq);
CREATE INDEX refunds_poll ON refunds (next_poll_at, seq) WHERE next_poll_at <> 0;

CREATE TABLE attempts (
    id            {{AUTOID}},
    object_id     TEXT    NOT NULL,
    operation     TEXT    NOT NULL DEFAULT '',
    channel       TEXT    NOT NULL DEFAULT '',
    outcome       TEXT    NOT NULL DEFAULT '',
    error_message TEXT    NOT NULL DEFAULT '',
    duration_ms   BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX attempts_object ON attempts (object_id, created_at, id);

CREATE TABLE transitions (
    id          {{AUTOID}},
    object_type TEXT     NOT NULL DEFAULT '',
    object_id   TEXT     NOT NULL,
    from_status TEXT     NOT NULL DEFAULT '',
    to_status   TEXT     NOT NULL DEFAULT '',
    source      TEXT     NOT NULL DEFAULT '',
    applied     SMALLINT NOT NULL DEFAULT 0,
    detail      TEXT     NOT NULL DEFAULT '',
    created_at  BIGINT   NOT NULL DEFAULT 0
);
CREATE INDEX transitions_object ON transitions (object_id, created_at, id);

CREATE TABLE notifications (
    id          {{AUTOID}},
    account     TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    object_type TEXT    NOT NULL DEFAULT '',
    object_id   TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL DEFAULT '',
    body        {{BLOB}},
    result      TEXT    NOT NULL DEFAULT '',
    received_at BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (account, event_id)
);
CREATE INDEX notifications_object ON notifications (object_id, received_at, id);
