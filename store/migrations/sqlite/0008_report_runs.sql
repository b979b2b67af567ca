-- Placeholder for 0008_report_runs.sql, made on the report branch (now on
-- main): this branch needs a version 8 for its 0009 to apply. Named as main
-- names it so that a merge conflicts here: take main's file.
SELECT 1;
