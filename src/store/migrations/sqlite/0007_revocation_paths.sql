-- Writes that changed what authentication reads and left no feed row (found in review), now each leave one:
-- an UPDATE that changes a user's id (the old id is the one cached) and an UPDATE that moves a refresh
-- token to another session or user (its old session loses it). SQLite has no TRUNCATE: a DELETE with
-- no WHERE fires the row triggers when there are any.
DROP TRIGGER revocations_user_update;
CREATE TRIGGER revocations_user_update AFTER UPDATE ON users
BEGIN
  INSERT INTO revocations (user_id) VALUES (OLD.id);
  INSERT INTO revocations (user_id) SELECT NEW.id WHERE NEW.id IS NOT OLD.id;
END;
CREATE TRIGGER revocations_session_moved AFTER UPDATE OF family_id, user_id ON refresh_tokens
  WHEN OLD.family_id IS NOT NEW.family_id OR OLD.user_id IS NOT NEW.user_id
BEGIN INSERT INTO revocations (session_id) VALUES (OLD.family_id); END;
-- REPLACE (INSERT OR REPLACE, REPLACE INTO, UPDATE OR REPLACE) deletes the rows in its way without firing
-- their delete triggers (recursive_triggers is off): the rows about to be replaced are recorded first.
-- A statement that fails instead takes its triggers' rows with it; an insert that conflicts and does nothing
-- (ON CONFLICT DO NOTHING, a re-run import) still leaves a row, which only drops a cached entry.
CREATE TRIGGER revocations_user_replaced BEFORE INSERT ON users
BEGIN INSERT INTO revocations (user_id) SELECT id FROM users WHERE id = NEW.id OR lower(email) = lower(NEW.email); END;
CREATE TRIGGER revocations_user_email_replaced BEFORE UPDATE OF email ON users
BEGIN INSERT INTO revocations (user_id) SELECT id FROM users WHERE lower(email) = lower(NEW.email) AND id IS NOT OLD.id; END;
CREATE TRIGGER revocations_session_replaced BEFORE INSERT ON refresh_tokens
BEGIN INSERT INTO revocations (session_id) SELECT family_id FROM refresh_tokens WHERE id = NEW.id; END;
CREATE TRIGGER revocations_session_id_replaced BEFORE UPDATE OF id ON refresh_tokens
BEGIN INSERT INTO revocations (session_id) SELECT family_id FROM refresh_tokens WHERE id = NEW.id AND id IS NOT OLD.id; END;
