-- Telegram updates received by webhook (#15), kept before they are acknowledged so that a retried
-- or duplicated update (same `update_id`) is processed once, by whichever process claims it.
-- `chat` keeps each chat's updates in order: an update is claimed only when no older update of
-- its chat is still not done. A lease (`lease_owner`, `lease_until`) hands an update to one
-- worker; a lease that ran out (the process died) makes it claimable again. Done rows are removed
-- by the retention purge after a day.
CREATE TABLE telegram_inbox (
    update_id INTEGER PRIMARY KEY,
    chat INTEGER NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    done_at TEXT
);
-- The claim: the oldest update not done, and whether its chat has an older one not done.
CREATE INDEX telegram_inbox_due ON telegram_inbox(update_id) WHERE done_at IS NULL;
CREATE INDEX telegram_inbox_chat_due ON telegram_inbox(chat, update_id) WHERE done_at IS NULL;
CREATE INDEX telegram_inbox_done ON telegram_inbox(done_at) WHERE done_at IS NOT NULL;
