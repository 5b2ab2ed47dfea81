-- The state of each conversation between turns (the topic, the question that led to it, the
-- choices last offered), as JSON. One row per chat; a row older than the idle expiry is ignored
-- and removed by the retention purge.
CREATE TABLE conversations (
    channel TEXT NOT NULL,
    chat TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (channel, chat)
);
