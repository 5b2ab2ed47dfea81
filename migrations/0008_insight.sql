-- Operators' insight (knowledge gaps, helpfulness per entry) reads each question with its ticket
-- and its choices: look those up by question.
CREATE INDEX IF NOT EXISTS tickets_question ON tickets(question_id);
CREATE INDEX IF NOT EXISTS clarifies_question ON clarifies(question_id);
