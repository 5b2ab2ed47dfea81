-- Web feedback names its question by a random reference, not by the guessable row id, and is
-- accepted only from the conversation that asked. Choices offered are looked up per conversation.
ALTER TABLE questions ADD COLUMN ref_key TEXT;
CREATE UNIQUE INDEX questions_ref_key ON questions(ref_key);
CREATE INDEX clarifies_chat ON clarifies(channel, chat);
