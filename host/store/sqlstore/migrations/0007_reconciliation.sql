-- Reconciliation reports (payhost reconcile, POST /admin/reconciliations):
-- one row per comparison of a provider statement with Payhost's records of
-- one day, the report as JSON. Nothing here changes a payment or a refund.
-- day is YYYY-MM-DD in the account's time zone.

CREATE TABLE reconciliations (
    seq        {{AUTOID}},
    id         TEXT    NOT NULL UNIQUE,
    account    TEXT    NOT NULL,
    plugin     TEXT    NOT NULL DEFAULT '',
    day        TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    report     TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX reconciliations_account_day ON reconciliations (account, day, seq);

-- An account's activity of a day: payments by paid time, refunds by
-- success time.
CREATE INDEX payments_account_paid ON payments (account, paid_at) WHERE paid_at <> 0;
CREATE INDEX refunds_succeeded ON refunds (succeeded_at) WHERE succeeded_at <> 0;
