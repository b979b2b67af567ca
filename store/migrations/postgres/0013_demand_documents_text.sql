-- The documents of a demand — attachments, tags, reasons, extra, flags —
-- are written and read whole by demandd and never queried inside by SQL:
-- as JSONB each row's five documents were parsed on every insert, half
-- the server's time of a COPY into demands (24 → 12 µs a row measured on
-- a 10,000-row questionnaire import). They are kept as JSON text now, as
-- on SQLite; `reasons::jsonb` still reads one in SQL. The rewrite takes
-- the table's lock for as long as a copy of it takes (seconds per
-- million rows).
ALTER TABLE demands
    ALTER COLUMN attachments TYPE TEXT,
    ALTER COLUMN tags TYPE TEXT,
    ALTER COLUMN reasons TYPE TEXT,
    ALTER COLUMN extra TYPE TEXT,
    ALTER COLUMN flags TYPE TEXT;
