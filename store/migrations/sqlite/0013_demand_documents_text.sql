-- PostgreSQL's 0013 turns the demand documents from JSONB into TEXT; on
-- SQLite they were TEXT from the start. Kept so that both dialects count
-- the same schema versions.
SELECT 1;
