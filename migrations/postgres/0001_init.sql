-- The PostgreSQL store's schema: the same tables, columns and indexes as the SQLite store after its
-- migrations 0001–0009 (see ../0001_init.sql … ../0009_popular_index.sql for what each is for).
-- Applied once, in a transaction holding the store's advisory lock; `schema_migrations` records it.
-- Times are TIMESTAMPTZ; JSON is kept as text, exactly as written by the SQLite store.

-- The question log: each question asked on a real channel, masked, with where its reply came from.
CREATE TABLE questions (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    channel     TEXT    NOT NULL,   -- telegram, web, …
    chat        TEXT    NOT NULL,   -- the channel's chat id
    question    TEXT    NOT NULL,   -- masked
    decision    TEXT    NOT NULL,
    entry       TEXT,
    confidence  REAL    NOT NULL,
    latency_ms  REAL    NOT NULL,
    ref_key     TEXT,               -- the web's random reference to the question
    uid         TEXT,               -- a random id per question: a spool replay stores it once
    generation  TEXT,               -- provenance: the index generation,
    reply       TEXT,               -- the reply as sent (masked),
    sources     TEXT                -- and the entries used (JSON)
);
CREATE INDEX questions_at ON questions(at);
CREATE UNIQUE INDEX questions_ref_key ON questions(ref_key);
CREATE UNIQUE INDEX questions_uid ON questions(uid);
CREATE INDEX questions_answered ON questions(decision, entry, at, channel, chat);

CREATE TABLE tickets (
    id                 BIGSERIAL PRIMARY KEY,
    opened_at          TIMESTAMPTZ NOT NULL,
    channel            TEXT    NOT NULL,
    chat               TEXT    NOT NULL,
    question           TEXT    NOT NULL,  -- masked
    reason             TEXT    NOT NULL,  -- handoff, asked, not_helpful, internal, unpicked_clarify, specific
    guesses            TEXT    NOT NULL,  -- JSON array of {id, title}
    question_id        BIGINT  REFERENCES questions(id),
    state              TEXT    NOT NULL DEFAULT 'open',  -- open, answered, closed
    answer             TEXT,
    answered_by        TEXT,
    answered_at        TIMESTAMPTZ,
    relayed_at         TIMESTAMPTZ,
    closed_at          TIMESTAMPTZ,
    close_reason       TEXT,
    notice_message_id  BIGINT,
    overdue_announced  BOOLEAN NOT NULL DEFAULT FALSE,
    promoted_to        TEXT,
    access_key         TEXT               -- the secret that opens the ticket's web page
);
CREATE INDEX tickets_state ON tickets(state, opened_at);
CREATE INDEX tickets_notice ON tickets(notice_message_id);
CREATE INDEX tickets_question ON tickets(question_id);

CREATE TABLE feedback (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    question_id  BIGINT  NOT NULL UNIQUE REFERENCES questions(id),
    helpful      BOOLEAN NOT NULL
);

-- Choices offered, until picked or turned into a ticket.
CREATE TABLE clarifies (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    channel      TEXT    NOT NULL,
    chat         TEXT    NOT NULL,
    question     TEXT    NOT NULL,  -- masked
    candidates   TEXT    NOT NULL,  -- JSON
    question_id  BIGINT  REFERENCES questions(id),
    picked       BOOLEAN NOT NULL DEFAULT FALSE,
    ticket_id    BIGINT  REFERENCES tickets(id)
);
CREATE INDEX clarifies_open ON clarifies(picked, ticket_id, at);
CREATE INDEX clarifies_chat ON clarifies(channel, chat);
CREATE INDEX clarifies_question ON clarifies(question_id);

-- The state of each conversation between turns (JSON), one row per chat.
CREATE TABLE conversations (
    channel     TEXT NOT NULL,
    chat        TEXT NOT NULL,
    state       TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, chat)
);

-- The audit trail of knowledge changes.
CREATE TABLE knowledge_changes (
    id                  BIGSERIAL PRIMARY KEY,
    at                  TIMESTAMPTZ NOT NULL,
    who                 TEXT    NOT NULL,   -- operator name, or cli:$USER
    action              TEXT    NOT NULL,   -- reindex, promote
    fingerprint_before  TEXT,
    fingerprint_after   TEXT    NOT NULL,
    added               TEXT    NOT NULL,   -- JSON arrays of entry ids
    changed             TEXT    NOT NULL,
    removed             TEXT    NOT NULL,
    outside             TEXT    NOT NULL,
    gate                TEXT    NOT NULL,   -- first, passed, accepted, refused
    detail              TEXT    NOT NULL
);
CREATE INDEX knowledge_changes_at ON knowledge_changes(at);
