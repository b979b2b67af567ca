-- Leases: see the PostgreSQL migration. On SQLite only one `serve` runs on
-- a database (it holds an exclusive lock on DATABASE.lock and then clears
-- the leases a killed predecessor left), so the leases never wait here;
-- they keep one code path for both databases. Times are milliseconds since
-- the Unix epoch by SQLite's clock, which compare as numbers.
-- 0001 made a leases table that nothing ever wrote: it is replaced.
DROP TABLE IF EXISTS leases;
CREATE TABLE leases (
    source_key  TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    token       INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    renewed_at  INTEGER NOT NULL
);
