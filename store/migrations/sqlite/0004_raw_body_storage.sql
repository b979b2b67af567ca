-- PostgreSQL-only storage tuning; nothing to change in SQLite.
SELECT 1;
