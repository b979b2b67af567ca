-- Raw items: every item as it came from its channel, kept whatever became of it.
CREATE TABLE raw_items (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel      TEXT NOT NULL,
    source       TEXT NOT NULL,
    external_key TEXT NOT NULL,
    ref          TEXT NOT NULL DEFAULT '',
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL,
    origin       TEXT NOT NULL DEFAULT 'raised',
    status       TEXT NOT NULL CHECK (status IN ('ok', 'quarantined', 'ignored')),
    reason       TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 1,
    received_at  TIMESTAMP NOT NULL,
    created_at   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (channel, external_key)
);
CREATE INDEX raw_items_not_ok ON raw_items (status, id) WHERE status <> 'ok';

CREATE TABLE demands (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    code              TEXT NOT NULL UNIQUE,
    raw_item_id       BIGINT UNIQUE REFERENCES raw_items (id),
    customer_name     TEXT NOT NULL DEFAULT '',
    customer_industry TEXT NOT NULL DEFAULT '',
    contact_name      TEXT NOT NULL DEFAULT '',
    contact_email     TEXT NOT NULL DEFAULT '',
    contact_phone     TEXT NOT NULL DEFAULT '',
    customer_tier     TEXT NOT NULL DEFAULT '',
    title             TEXT NOT NULL DEFAULT '',
    body              TEXT NOT NULL DEFAULT '',
    scenario          TEXT NOT NULL DEFAULT '',
    pain_point        TEXT NOT NULL DEFAULT '',
    goal              TEXT NOT NULL DEFAULT '',
    language          TEXT NOT NULL DEFAULT '',
    attachments       TEXT NOT NULL DEFAULT '[]',
    channel           TEXT NOT NULL,
    source_name       TEXT NOT NULL,
    origin            TEXT NOT NULL,
    external_ref      TEXT NOT NULL DEFAULT '',
    received_at       TIMESTAMP NOT NULL,
    urgency           TEXT NOT NULL,
    type              TEXT NOT NULL,
    importance        TEXT NOT NULL,
    priority          TEXT NOT NULL,
    department        TEXT NOT NULL DEFAULT '',
    due_at            TIMESTAMP,
    sla               TEXT NOT NULL DEFAULT '',
    pain_score        INTEGER NOT NULL DEFAULT 0,
    business_value    INTEGER NOT NULL DEFAULT 0,
    tags              TEXT NOT NULL DEFAULT '[]',
    reasons           TEXT NOT NULL DEFAULT '[]',
    status            TEXT NOT NULL DEFAULT 'new',
    response_plan     TEXT NOT NULL DEFAULT '',
    feedback_result   TEXT NOT NULL DEFAULT '',
    satisfaction      INTEGER NOT NULL DEFAULT 0,
    duplicate_of      BIGINT REFERENCES demands (id),
    occurrences       INTEGER NOT NULL DEFAULT 1,
    fingerprint       TEXT NOT NULL DEFAULT '',
    extra             TEXT NOT NULL DEFAULT '[]',
    flags             TEXT NOT NULL DEFAULT '[]',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    last_activity_at  TIMESTAMP NOT NULL
);
CREATE INDEX demands_received_at ON demands (received_at);
CREATE INDEX demands_fingerprint ON demands (fingerprint) WHERE fingerprint <> '' AND duplicate_of IS NULL;

-- Demand codes: the last sequence number used per period (yyyymm).
CREATE TABLE code_sequences (
    period     TEXT PRIMARY KEY,
    last_value BIGINT NOT NULL
);

-- Channel cursors, written in the transaction of the batch they acknowledge.
CREATE TABLE checkpoints (
    source_key TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Source leases, so that one replica at a time polls a source.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at  TIMESTAMP NOT NULL
);
