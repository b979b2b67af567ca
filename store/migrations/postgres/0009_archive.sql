-- Archive bundles. archive_runs claims a period once, so that several serve
-- processes make a period's monthly bundle once; it keeps what was made.
CREATE TABLE archive_runs (
    period          TEXT PRIMARY KEY,
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    bundle          TEXT NOT NULL DEFAULT '',
    manifest_sha256 TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT ''
);

-- archived_in names the verified bundle holding a raw item's bytes (sha256
-- stays their digest); purged_at is when the bytes were then removed from
-- the database, the body left empty.
ALTER TABLE raw_items ADD COLUMN archived_in TEXT NOT NULL DEFAULT '';
ALTER TABLE raw_items ADD COLUMN purged_at TIMESTAMPTZ;
CREATE INDEX raw_items_received_at ON raw_items (received_at);
