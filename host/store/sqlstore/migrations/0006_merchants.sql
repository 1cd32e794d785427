-- Merchant onboarding: applications per tenant, the documents uploaded for
-- them (references only: the content went to the provider), and their
-- asynchronous requests (channel activations, real-name authentications,
-- settlement account changes) with the state of each channel or wallet.
-- application is the application with personal data masked; sealed holds it
-- in full only until the provider has received it ('' afterwards).

CREATE TABLE merchants (
    seq             {{AUTOID}},
    id              TEXT    NOT NULL UNIQUE,
    tenant          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL DEFAULT '',
    account         TEXT    NOT NULL,
    plugin          TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL DEFAULT '',
    name            TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    stage           TEXT    NOT NULL DEFAULT '',
    application     TEXT    NOT NULL DEFAULT '',
    sealed          TEXT    NOT NULL DEFAULT '',
    provider_id     TEXT    NOT NULL DEFAULT '',
    issued          TEXT    NOT NULL DEFAULT '',
    provider_data   TEXT    NOT NULL DEFAULT '',
    message         TEXT    NOT NULL DEFAULT '',
    failure_code    TEXT    NOT NULL DEFAULT '',
    failure_message TEXT    NOT NULL DEFAULT '',
    provider_code   TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL DEFAULT 0,
    submitted_at    BIGINT  NOT NULL DEFAULT 0,
    next_poll_at    BIGINT  NOT NULL DEFAULT 0,
    poll_attempts   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX merchants_tenant ON merchants (tenant, seq);
CREATE INDEX merchants_poll ON merchants (next_poll_at, seq) WHERE next_poll_at <> 0;

CREATE TABLE merchant_documents (
    seq                  {{AUTOID}},
    id                   TEXT    NOT NULL UNIQUE,
    merchant_id          TEXT    NOT NULL REFERENCES merchants (id),
    doc_type             TEXT    NOT NULL,
    file_name            TEXT    NOT NULL DEFAULT '',
    content_type         TEXT    NOT NULL DEFAULT '',
    size                 BIGINT  NOT NULL DEFAULT 0 CHECK (size >= 0),
    sha256               TEXT    NOT NULL DEFAULT '',
    description          TEXT    NOT NULL DEFAULT '',
    provider_document_id TEXT    NOT NULL DEFAULT '',
    created_at           BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX merchant_documents_merchant ON merchant_documents (merchant_id, seq);

CREATE TABLE merchant_requests (
    seq             {{AUTOID}},
    id              TEXT    NOT NULL UNIQUE,
    tenant          TEXT    NOT NULL,
    merchant_id     TEXT    NOT NULL REFERENCES merchants (id),
    kind            TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    params          TEXT    NOT NULL DEFAULT '',
    account_id      TEXT    NOT NULL DEFAULT '',
    message         TEXT    NOT NULL DEFAULT '',
    failure_code    TEXT    NOT NULL DEFAULT '',
    failure_message TEXT    NOT NULL DEFAULT '',
    provider_code   TEXT    NOT NULL DEFAULT '',
    provider_data   TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL DEFAULT 0,
    next_poll_at    BIGINT  NOT NULL DEFAULT 0,
    poll_attempts   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX merchant_requests_merchant ON merchant_requests (merchant_id, seq);
CREATE INDEX merchant_requests_poll ON merchant_requests (next_poll_at, seq) WHERE next_poll_at <> 0;

CREATE TABLE merchant_request_items (
    request_id        TEXT    NOT NULL REFERENCES merchant_requests (id),
    name              TEXT    NOT NULL,
    seq               BIGINT  NOT NULL DEFAULT 0,
    status            TEXT    NOT NULL,
    message           TEXT    NOT NULL DEFAULT '',
    sub_merchant_code TEXT    NOT NULL DEFAULT '',
    qr_code           TEXT    NOT NULL DEFAULT '',
    apply_state       TEXT    NOT NULL DEFAULT '',
    authorize_state   TEXT    NOT NULL DEFAULT '',
    updated_at        BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (request_id, name)
);
