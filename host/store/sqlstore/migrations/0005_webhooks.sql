-- Merchant webhooks: the tenants' endpoints, the outbox of events (written in
-- the transaction of the change each describes), one delivery per event and
-- matching endpoint, and every HTTP attempt of a delivery.

CREATE TABLE webhook_endpoints (
    seq         {{AUTOID}},
    id          TEXT    NOT NULL UNIQUE,
    tenant      TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    events      TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    secret      TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL DEFAULT 0,
    updated_at  BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant, status, seq);

CREATE TABLE events (
    seq         {{AUTOID}},
    id          TEXT    NOT NULL UNIQUE,
    tenant      TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    object_type TEXT    NOT NULL DEFAULT '',
    object_id   TEXT    NOT NULL DEFAULT '',
    data        TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX events_tenant ON events (tenant, seq);
CREATE INDEX events_tenant_type ON events (tenant, type, seq);
CREATE INDEX events_object ON events (object_id, seq);

CREATE TABLE webhook_deliveries (
    id               {{AUTOID}},
    event_id         TEXT    NOT NULL REFERENCES events (id),
    endpoint_id      TEXT    NOT NULL REFERENCES webhook_endpoints (id),
    tenant           TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL DEFAULT 0,
    claim_token      TEXT    NOT NULL DEFAULT '',
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    created_at       BIGINT  NOT NULL DEFAULT 0,
    updated_at       BIGINT  NOT NULL DEFAULT 0,
    delivered_at     BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status);

CREATE TABLE webhook_attempts (
    id            {{AUTOID}},
    delivery_id   BIGINT  NOT NULL REFERENCES webhook_deliveries (id),
    attempt       INTEGER NOT NULL,
    status_code   INTEGER NOT NULL DEFAULT 0,
    error_message TEXT    NOT NULL DEFAULT '',
    response_body TEXT    NOT NULL DEFAULT '',
    duration_ms   BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
