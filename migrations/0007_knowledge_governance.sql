-- Answer provenance: each logged reply keeps the index generation it came from, the reply text as
-- sent (masked like the question) and, per entry used, its id, `updated` date and content hash
-- (JSON), so `review why` shows what a person was told even after the entry changed.
ALTER TABLE questions ADD COLUMN generation TEXT;
ALTER TABLE questions ADD COLUMN reply TEXT;
ALTER TABLE questions ADD COLUMN sources TEXT;

-- The audit trail of knowledge changes: every reindex and promotion, who made it, the knowledge
-- fingerprint before and after, the entries added / changed / removed (JSON arrays of ids), those
-- changed outside customs-bot (edited in the files directly), and the regression gate's result.
CREATE TABLE knowledge_changes (
    id                  INTEGER PRIMARY KEY,
    at                  TEXT    NOT NULL,   -- RFC 3339, UTC
    who                 TEXT    NOT NULL,   -- operator name, or cli:$USER
    action              TEXT    NOT NULL,   -- reindex, promote
    fingerprint_before  TEXT,
    fingerprint_after   TEXT    NOT NULL,
    added               TEXT    NOT NULL,
    changed             TEXT    NOT NULL,
    removed             TEXT    NOT NULL,
    outside             TEXT    NOT NULL,
    gate                TEXT    NOT NULL,   -- first, passed, accepted, refused
    detail              TEXT    NOT NULL    -- the gate's figures and changed questions, for people
);
CREATE INDEX knowledge_changes_at ON knowledge_changes(at);
