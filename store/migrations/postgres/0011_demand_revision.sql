-- A demand's revision: 1 when inserted, one more on every UPDATE of its
-- row, whatever statement makes it (progress, a replay of the rules, a
-- duplicate linked, a ticket's follow-up). The tracking table carries the
-- revision it was exported at, so that a cell edited in the file for a
-- record changed since is a conflict, not an overwrite. A trigger rather
-- than a column each UPDATE sets: no update path, present or future, can
-- forget it.
ALTER TABLE demands ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;

CREATE FUNCTION demands_next_revision() RETURNS trigger AS $$
BEGIN
    NEW.revision := OLD.revision + 1;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER demands_revision BEFORE UPDATE ON demands
    FOR EACH ROW EXECUTE FUNCTION demands_next_revision();
