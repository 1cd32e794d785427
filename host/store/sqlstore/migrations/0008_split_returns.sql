-- Split returns (分账退回): money a split gave a receiver, taken back so
-- that the merchant can refund it. A return is reserved against the
-- receiver's succeeded record of the split (returns not failed never exceed
-- it; the insert checks it with the split's row locked); a succeeded
-- return takes its amount off the payment's split_amount and
-- split_reserved in the transaction of the status change.

CREATE TABLE split_returns (
    seq               {{AUTOID}},
    id                TEXT    NOT NULL UNIQUE,
    tenant            TEXT    NOT NULL,
    idempotency_key   TEXT    NOT NULL DEFAULT '',
    split_id          TEXT    NOT NULL REFERENCES splits (id),
    payment_id        TEXT    NOT NULL REFERENCES payments (id),
    account           TEXT    NOT NULL DEFAULT '',
    plugin            TEXT    NOT NULL DEFAULT '',
    receiver          TEXT    NOT NULL DEFAULT '',
    receiver_id       TEXT    NOT NULL,
    provider_receiver TEXT    NOT NULL DEFAULT '',
    amount            BIGINT  NOT NULL CHECK (amount > 0),
    currency          TEXT    NOT NULL DEFAULT '',
    reason            TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL,
    provider_id       TEXT    NOT NULL DEFAULT '',
    failure_code      TEXT    NOT NULL DEFAULT '',
    failure_message   TEXT    NOT NULL DEFAULT '',
    provider_code     TEXT    NOT NULL DEFAULT '',
    provider_data     TEXT    NOT NULL DEFAULT '',
    created_at        BIGINT  NOT NULL DEFAULT 0,
    updated_at        BIGINT  NOT NULL DEFAULT 0,
    next_poll_at      BIGINT  NOT NULL DEFAULT 0,
    poll_attempts     BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX split_returns_split ON split_returns (split_id, receiver_id);
CREATE INDEX split_returns_payment ON split_returns (payment_id, created_at, seq);
CREATE INDEX split_returns_poll ON split_returns (next_poll_at, seq) WHERE next_poll_at <> 0;
