-- The daily report (需求日报): one row per day it covers. The primary key
-- is what makes the run happen once when several `serve` processes share
-- the register: a process claims a day by inserting its row, and takes a
-- row over only when it failed or its holder's lease ran out.
CREATE TABLE report_runs (
    day             TEXT PRIMARY KEY, -- YYYY-MM-DD
    status          TEXT NOT NULL CHECK (status IN ('claimed', 'written', 'delivered', 'failed')),
    claimed_by      TEXT NOT NULL,
    claimed_at      TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 1,
    file            TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    -- '' (no mail configured), pending, delivered or failed
    delivery_status TEXT NOT NULL DEFAULT '' CHECK (delivery_status IN ('', 'pending', 'delivered', 'failed')),
    delivery_error  TEXT NOT NULL DEFAULT '',
    updated_at      TIMESTAMP NOT NULL
);
