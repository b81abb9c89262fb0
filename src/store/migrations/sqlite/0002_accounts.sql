-- Account lifecycle: verified email addresses, deactivated accounts, the login time a session
-- started with (for changes that need a recent login), and one-time tokens sent by mail.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at TEXT;  -- set while an admin has deactivated the account
ALTER TABLE refresh_tokens ADD COLUMN authenticated_at TEXT;  -- when the family's password check happened

-- Password-reset and email-verification tokens: `id.secret` strings, only a SHA-256 of the secret
-- kept. Each is bound to the address it was mailed to, so it dies when the email changes.
CREATE TABLE account_tokens (
  id          TEXT    PRIMARY KEY,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose     TEXT    NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
  email       TEXT    NOT NULL,
  secret_hash TEXT    NOT NULL,
  expires_at  TEXT    NOT NULL,
  used_at     TEXT,
  created_at  TEXT    NOT NULL
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
-- The admin list is newest first by id; a prefix search on name walks this index.
CREATE INDEX users_name_lower ON users (lower(name));
