-- Replies attach to the demand they answer: a follow-up raw item points at
-- its demand, and mail is found by its Message-ID (kept in ref).
ALTER TABLE raw_items ADD COLUMN demand_id BIGINT REFERENCES demands (id);
CREATE INDEX raw_items_ref ON raw_items (channel, ref);
