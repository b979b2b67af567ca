-- Leases: several `serve` processes on one PostgreSQL share the polled
-- sources (mailboxes, folders) by claiming each through its row here. The
-- holder renews expires_at while it lives; once it runs out, another
-- process takes the row over and resumes from the last committed
-- checkpoint. token grows by one at every acquisition: a batch commits only
-- while its source's row still has the holder's owner and token and has not
-- expired (the fence in SaveBatch), so a process that lost its lease cannot
-- commit after the next holder started. Times are the database's clock.
-- 0001 made a leases table that nothing ever wrote: it is replaced.
DROP TABLE IF EXISTS leases;
CREATE TABLE leases (
    source_key  TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    token       BIGINT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    renewed_at  TIMESTAMPTZ NOT NULL
);
