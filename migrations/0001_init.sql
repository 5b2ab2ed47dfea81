-- The question log, tickets and feedback. Applied once; `PRAGMA user_version` records the step.
CREATE TABLE questions (
    id          INTEGER PRIMARY KEY,
    at          TEXT    NOT NULL,   -- RFC 3339, UTC
    channel     TEXT    NOT NULL,   -- telegram, web, …
    chat        TEXT    NOT NULL,   -- the channel's chat id
    question    TEXT    NOT NULL,   -- masked
    decision    TEXT    NOT NULL,
    entry       TEXT,
    confidence  REAL    NOT NULL,
    latency_ms  REAL    NOT NULL
);
CREATE INDEX questions_at ON questions(at);

CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY,
    opened_at     TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    chat          TEXT    NOT NULL,
    question      TEXT    NOT NULL,  -- masked
    reason        TEXT    NOT NULL,  -- handoff, not_helpful, unpicked_clarify, asked
    guesses       TEXT    NOT NULL,  -- JSON array of {id, title, score}
    question_id   INTEGER REFERENCES questions(id),
    state         TEXT    NOT NULL DEFAULT 'open',  -- open, answered, closed
    answer        TEXT,
    answered_by   TEXT,
    answered_at   TEXT,
    relayed_at    TEXT,
    closed_at     TEXT,
    close_reason  TEXT
);
CREATE INDEX tickets_state ON tickets(state, opened_at);

CREATE TABLE feedback (
    id           INTEGER PRIMARY KEY,
    at           TEXT    NOT NULL,
    question_id  INTEGER NOT NULL UNIQUE REFERENCES questions(id),
    helpful      INTEGER NOT NULL
);
