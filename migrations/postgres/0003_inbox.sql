-- Telegram updates received by webhook (#15), as SQLite's ../0011_inbox.sql: kept once by
-- `update_id`, claimed one at a time in each chat's order under a lease (FOR UPDATE SKIP LOCKED),
-- done rows removed by the retention purge after a day.
CREATE TABLE telegram_inbox (
    update_id    BIGINT PRIMARY KEY,
    chat         BIGINT NOT NULL,
    payload      TEXT   NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    done_at      TIMESTAMPTZ
);
CREATE INDEX telegram_inbox_due ON telegram_inbox(update_id) WHERE done_at IS NULL;
CREATE INDEX telegram_inbox_chat_due ON telegram_inbox(chat, update_id) WHERE done_at IS NULL;
CREATE INDEX telegram_inbox_done ON telegram_inbox(done_at) WHERE done_at IS NOT NULL;
