-- A person's type and urgency of a demand (the API, a returned tracking
-- table): confirmed labels kept beside the rules' answer. The effective
-- type and urgency columns take the confirmed value too; a replay of the
-- rules never overwrites a confirmed one. '' means not confirmed.
ALTER TABLE demands ADD COLUMN confirmed_type TEXT NOT NULL DEFAULT '';
ALTER TABLE demands ADD COLUMN confirmed_urgency TEXT NOT NULL DEFAULT '';
ALTER TABLE demands ADD COLUMN confirmed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE demands ADD COLUMN confirmed_at TIMESTAMPTZ;
