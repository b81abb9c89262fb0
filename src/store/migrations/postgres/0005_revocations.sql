-- The change feed of what authentication reads (src/auth/session-cache.ts): every change to a user
-- row and every refresh token deleted (a session ended) leaves a numbered row, written by triggers in
-- the writer's own transaction, so no write path (the CLI, another instance, a hand edit) can skip it.
CREATE TABLE revocations (
  id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    INTEGER,
  session_id TEXT,
  at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX revocations_at ON revocations (at);
CREATE FUNCTION revocations_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO revocations (user_id) VALUES (OLD.id);
  ELSE
    INSERT INTO revocations (user_id) VALUES (NEW.id);
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION revocations_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO revocations (session_id) VALUES (OLD.family_id);
  RETURN NULL;
END $$;
CREATE TRIGGER revocations_user AFTER UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION revocations_user();
CREATE TRIGGER revocations_session AFTER DELETE ON refresh_tokens
  FOR EACH ROW EXECUTE FUNCTION revocations_session();
