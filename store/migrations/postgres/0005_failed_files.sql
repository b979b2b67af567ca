-- Whole files a channel could not read (corrupt, password-protected, no
-- description column…): moved aside to failed/, and recorded here so that
-- `quarantine list` shows them beside quarantined items and `reprocess`
-- can take them back. One row per file set aside (moved_to is unique).
CREATE TABLE failed_files (
    id            BIGSERIAL PRIMARY KEY,
    channel       TEXT NOT NULL,
    source        TEXT NOT NULL,
    name          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    original_path TEXT NOT NULL,
    moved_to      TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('failed', 'retried', 'resolved')),
    attempts      INTEGER NOT NULL DEFAULT 1,
    failed_at     TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX failed_files_sha256 ON failed_files (sha256);
CREATE INDEX failed_files_open ON failed_files (status, id) WHERE status = 'failed';
