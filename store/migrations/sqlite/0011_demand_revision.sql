-- A demand's revision: 1 when inserted, one more on every UPDATE of its
-- row, whatever statement makes it (progress, a replay of the rules, a
-- duplicate linked, a ticket's follow-up). The tracking table carries the
-- revision it was exported at, so that a cell edited in the file for a
-- record changed since is a conflict, not an overwrite. A trigger rather
-- than a column each UPDATE sets: no update path, present or future, can
-- forget it. SQLite cannot change NEW in a trigger, so the trigger updates
-- the row again; its WHEN keeps that second update from firing it once
-- more (were recursive_triggers on), and a statement that sets revision
-- itself is left alone.
ALTER TABLE demands ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

CREATE TRIGGER demands_revision AFTER UPDATE ON demands
    FOR EACH ROW WHEN NEW.revision = OLD.revision
BEGIN
    UPDATE demands SET revision = OLD.revision + 1 WHERE id = NEW.id;
END;
