-- Account lifecycle: verified email addresses, deactivated accounts, the login time a session
-- started with (for changes that need a recent login), and one-time tokens sent by mail.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;  -- set while an admin has deactivated the account
ALTER TABLE refresh_tokens ADD COLUMN authenticated_at TIMESTAMPTZ;  -- when the family's password check happened

-- Password-reset and email-verification tokens: `id.secret` strings, only a SHA-256 of the secret
-- kept. Each is bound to the address it was mailed to, so it dies when the email changes.
CREATE TABLE account_tokens (
  id          TEXT        PRIMARY KEY,
  user_id     INTEGER     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose     TEXT        NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
  email       TEXT        NOT NULL,
  secret_hash TEXT        NOT NULL,
  expires_at  TIMESTAMPTZ NOT NULL,
  used_at     TIMESTAMPTZ,
  created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
-- The admin list is newest first by id; prefix searches use these (text_pattern_ops for LIKE 'x%').
CREATE INDEX users_name_lower ON users (lower(name) text_pattern_ops);
CREATE INDEX users_email_lower_pattern ON users (lower(email) text_pattern_ops);
