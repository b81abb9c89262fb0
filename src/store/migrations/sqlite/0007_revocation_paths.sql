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
