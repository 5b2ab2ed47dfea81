-- Operators: notices in the operators' chat, overdue re-announcement, promotion, unpicked clarifies.
ALTER TABLE tickets ADD COLUMN notice_message_id INTEGER;
ALTER TABLE tickets ADD COLUMN overdue_announced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN promoted_to TEXT;
CREATE INDEX tickets_notice ON tickets(notice_message_id);

CREATE TABLE clarifies (
    id           INTEGER PRIMARY KEY,
    at           TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    chat         TEXT    NOT NULL,
    question     TEXT    NOT NULL,  -- masked
    candidates   TEXT    NOT NULL,  -- JSON
    question_id  INTEGER REFERENCES questions(id),
    picked       INTEGER NOT NULL DEFAULT 0,
    ticket_id    INTEGER REFERENCES tickets(id)
);
CREATE INDEX clarifies_open ON clarifies(picked, ticket_id, at);
