-- The change feed of what authentication reads (src/auth/session-cache.ts): every change to a user
-- row and every refresh token deleted (a session ended) leaves a numbered row, written by triggers in
-- the writer's own transaction, so no write path (the CLI, a second process, a hand edit) can skip it.
-- AUTOINCREMENT: an id is never reused after old rows are pruned, so a reader's cursor only grows.
CREATE TABLE revocations (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id    INTEGER,
  session_id TEXT,
  at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX revocations_at ON revocations (at);
CREATE TRIGGER revocations_user_update AFTER UPDATE ON users
BEGIN INSERT INTO revocations (user_id) VALUES (NEW.id); END;
CREATE TRIGGER revocations_user_delete AFTER DELETE ON users
BEGIN INSERT INTO revocations (user_id) VALUES (OLD.id); END;
CREATE TRIGGER revocations_session_end AFTER DELETE ON refresh_tokens
BEGIN INSERT INTO revocations (session_id) VALUES (OLD.family_id); END;
