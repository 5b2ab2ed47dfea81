-- A random id per logged question. A question kept in the spool (the database was locked or full
-- when it was asked) is replayed later — perhaps twice, after a crash — and stored only once.
ALTER TABLE questions ADD COLUMN uid TEXT;
CREATE UNIQUE INDEX questions_uid ON questions(uid);
