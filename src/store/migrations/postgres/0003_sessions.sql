-- Sessions users can see and end: each refresh token carries its session's device label, coarse
-- address and last use (copied to its successors), and each account remembers the devices and
-- networks it logged in from lately, so a login from elsewhere can be told to the account's owner.
ALTER TABLE refresh_tokens ADD COLUMN device TEXT;        -- src/auth/device.ts's label: fixed words only
ALTER TABLE refresh_tokens ADD COLUMN ip TEXT;            -- the client address without port; NULL if unknown
ALTER TABLE refresh_tokens ADD COLUMN last_used_at TIMESTAMPTZ; -- written at most once a minute per session

-- The (device label, network) pairs an account logged in from: the last few per account, pruned on login.
CREATE TABLE login_devices (
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  device       TEXT    NOT NULL,
  network      TEXT    NOT NULL,  -- the address's /24 (IPv4) or /64 (IPv6); '' when unknown
  last_seen_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (user_id, device, network)
);
