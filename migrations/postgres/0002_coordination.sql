-- Several processes over one store (#15), as SQLite's ../0010_coordination.sql: leases on relays
-- and unpicked choices (claimed with FOR UPDATE SKIP LOCKED, due again when the lease runs out),
-- operators' console sessions by the SHA-256 of their token, rate-limit windows, shared settings.
ALTER TABLE tickets ADD COLUMN relay_lease_until TIMESTAMPTZ;
ALTER TABLE clarifies ADD COLUMN lease_until TIMESTAMPTZ;

CREATE TABLE sessions (
    token_sha256  TEXT PRIMARY KEY,
    operator      TEXT NOT NULL,
    csrf          TEXT NOT NULL,
    expires       TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires);

-- A fixed window per scope and key that starts at its first request and ends at `until_ms` (Unix
-- milliseconds), with the requests counted in it.
CREATE TABLE rate_windows (
    scope     TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    until_ms  BIGINT  NOT NULL,
    hits      BIGINT  NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX rate_windows_until ON rate_windows(until_ms);

-- Values shared by every process (`live_generation`: the index generation last published).
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
