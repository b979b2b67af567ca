-- Placeholder for 0008 (report_runs), made on the report branch: this
-- branch needs a version 8 so that its 0009 applies. Delete this file when
-- merging with the branch that has the real 0008.
SELECT 1;
