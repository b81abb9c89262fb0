-- Writes that changed what authentication reads and left no feed row (found in review), now each leave one:
-- an UPDATE that changes a user's id (the old id is the one cached), an UPDATE that moves a refresh token
-- to another session or user (its old session loses it), a TRUNCATE (no row triggers fire: a row with
-- neither user nor session means "everything"; truncating the feed itself leaves one too, since rows
-- not yet read went with it), and writes made with session_replication_role = replica (logical
-- replication's apply, bulk loaders), which skip ordinary triggers: these fire ALWAYS. (A later change of
-- refresh_tokens.family_id's or user_id's type must drop and re-create revocations_session_moved, which names them.)
CREATE OR REPLACE FUNCTION revocations_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO revocations (user_id) VALUES (OLD.id);
  IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
    INSERT INTO revocations (user_id) VALUES (NEW.id);
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION revocations_everything() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO revocations (user_id, session_id) VALUES (NULL, NULL);
  RETURN NULL;
END $$;
CREATE TRIGGER revocations_session_moved AFTER UPDATE OF family_id, user_id ON refresh_tokens
  FOR EACH ROW WHEN (OLD.family_id IS DISTINCT FROM NEW.family_id OR OLD.user_id IS DISTINCT FROM NEW.user_id)
  EXECUTE FUNCTION revocations_session();
CREATE TRIGGER revocations_truncate AFTER TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION revocations_everything();
CREATE TRIGGER revocations_truncate AFTER TRUNCATE ON refresh_tokens FOR EACH STATEMENT EXECUTE FUNCTION revocations_everything();
CREATE TRIGGER revocations_truncate AFTER TRUNCATE ON revocations FOR EACH STATEMENT EXECUTE FUNCTION revocations_everything();
ALTER TABLE users ENABLE ALWAYS TRIGGER revocations_user;
ALTER TABLE users ENABLE ALWAYS TRIGGER revocations_truncate;
ALTER TABLE refresh_tokens ENABLE ALWAYS TRIGGER revocations_session;
ALTER TABLE refresh_tokens ENABLE ALWAYS TRIGGER revocations_session_moved;
ALTER TABLE refresh_tokens ENABLE ALWAYS TRIGGER revocations_truncate;
ALTER TABLE revocations ENABLE ALWAYS TRIGGER revocations_truncate;
-- The functions name `revocations` unqualified, which a writer's own search_path resolved: another
-- schema's table of that name, or none (logical replication's apply runs with an empty search_path, and
-- these now fire there). They keep the search_path the migrations ran with, the service's.
ALTER FUNCTION revocations_user() SET search_path FROM CURRENT;
ALTER FUNCTION revocations_session() SET search_path FROM CURRENT;
ALTER FUNCTION revocations_everything() SET search_path FROM CURRENT;
