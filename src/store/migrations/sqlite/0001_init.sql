-- Users and their rotating refresh tokens (one family per login: a session). Ids are never reused (AUTOINCREMENT), so a token
-- minted for a deleted account can never name a newer one.
CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT    NOT NULL,
  email         TEXT    NOT NULL,
  password_hash TEXT    NOT NULL,
  bio           TEXT    NOT NULL DEFAULT '',
  role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  image_version INTEGER,                     -- the picture's current version; NULL when none
  image_counter INTEGER NOT NULL DEFAULT 0,  -- versions handed out so far, so none is ever reused
  token_version INTEGER NOT NULL DEFAULT 0,
  created_at    TEXT    NOT NULL,
  updated_at    TEXT    NOT NULL
);
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

CREATE TABLE refresh_tokens (
  id          TEXT    PRIMARY KEY,
  family_id   TEXT    NOT NULL,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- the user's token_version when the family began: a family from before a password change is dead
  user_version INTEGER NOT NULL,
  secret_hash TEXT    NOT NULL,
  expires_at  TEXT    NOT NULL,
  used_at     TEXT,
  created_at  TEXT    NOT NULL
);
-- (family_id, user_id): the per-request session check must not walk a user's every token.
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id, user_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
