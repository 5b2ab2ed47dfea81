-- Several processes over one store (#15): work done once, state shared.
--
-- A relay (an answered ticket not yet told to the person) and an unpicked set of choices are
-- leased to the process that takes them until the lease runs out (RFC 3339 UTC, like every time):
-- a process that dies mid-send leaves them due again for the others.
ALTER TABLE tickets ADD COLUMN relay_lease_until TEXT;
ALTER TABLE clarifies ADD COLUMN lease_until TEXT;

-- Operators' console sessions, keyed by the SHA-256 (hex) of the cookie's token: the token itself
-- is never stored.
CREATE TABLE sessions (
    token_sha256  TEXT PRIMARY KEY,
    operator      TEXT NOT NULL,
    csrf          TEXT NOT NULL,
    expires       TEXT NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires);

-- Rate limits per scope ("telegram", "web", "login") and key (a chat, an IP address): a fixed
-- window that starts at its first request and ends at `until_ms` (Unix milliseconds), with the
-- requests counted in it.
CREATE TABLE rate_windows (
    scope     TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    until_ms  INTEGER NOT NULL,
    hits      INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX rate_windows_until ON rate_windows(until_ms);

-- Values shared by every process, one row per name (`live_generation`: the index generation last
-- published).
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
