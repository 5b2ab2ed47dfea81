//! Telegram updates received by webhook (`telegram_inbox`, migration 0011): kept once by
//! `update_id`, claimed under a lease one at a time in each chat's order, marked done, released on
//! a graceful drain.

use std::time::Duration;

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, now, stamp};
use crate::tickets::InboxUpdate;

impl SqliteStore {
    pub(super) fn put_update(&self, update: &InboxUpdate) -> anyhow::Result<bool> {
        // Telegram waits for the answer: a locked database is retried for as long as any
        // statement waits, then the route answers 500 and Telegram sends the update again.
        let received = now();
        let inserted = self.write_with_retry(self.options.busy_timeout, |conn| {
            conn.prepare_cached(
                "INSERT INTO telegram_inbox (update_id, chat, payload, received_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (update_id) DO NOTHING",
            )?
            .execute(params![update.update_id, update.chat, update.payload, received])
        })?;
        Ok(inserted == 1)
    }

    pub(super) fn claim_update(&self, owner: &str, lease: Duration) -> anyhow::Result<Option<InboxUpdate>> {
        let at = chrono::Utc::now();
        let until = at + chrono::Duration::from_std(lease)?;
        // One statement: SQLite's write lock makes the choice and the lease one step, so two
        // workers (or processes) never claim the same update.
        let claimed = self.write_with_retry(self.options.busy_timeout, |conn| {
            conn.prepare_cached(
                "UPDATE telegram_inbox SET lease_owner = ?1, lease_until = ?2
                 WHERE update_id = (
                     SELECT i.update_id FROM telegram_inbox i
                     WHERE i.done_at IS NULL AND (i.lease_until IS NULL OR i.lease_until <= ?3)
                       AND NOT EXISTS (
                           SELECT 1 FROM telegram_inbox o
                           WHERE o.chat = i.chat AND o.done_at IS NULL AND o.update_id < i.update_id)
                     ORDER BY i.update_id LIMIT 1)
                 RETURNING update_id, chat, payload",
            )?
            .query_row(params![owner, stamp(until), stamp(at)], |r| {
                Ok(InboxUpdate {
                    update_id: r.get(0)?,
                    chat: r.get(1)?,
                    payload: r.get(2)?,
                })
            })
            .optional()
        })?;
        Ok(claimed)
    }

    pub(super) fn update_done(&self, update_id: i64) -> anyhow::Result<()> {
        self.write_with_retry(self.options.busy_timeout, |conn| {
            conn.prepare_cached(
                "UPDATE telegram_inbox SET done_at = ?2, lease_owner = NULL, lease_until = NULL
                 WHERE update_id = ?1 AND done_at IS NULL",
            )?
            .execute(params![update_id, now()])
        })?;
        Ok(())
    }

    pub(super) fn renew_update(&self, update_id: i64, owner: &str, lease: Duration) -> anyhow::Result<bool> {
        let until = chrono::Utc::now() + chrono::Duration::from_std(lease)?;
        let renewed = self.write_with_retry(self.options.busy_timeout, |conn| {
            conn.prepare_cached(
                "UPDATE telegram_inbox SET lease_until = ?3
                 WHERE update_id = ?1 AND lease_owner = ?2 AND done_at IS NULL",
            )?
            .execute(params![update_id, owner, stamp(until)])
        })?;
        Ok(renewed == 1)
    }

    pub(super) fn release_updates(&self, owner: &str) -> anyhow::Result<()> {
        self.write_with_retry(self.options.busy_timeout, |conn| {
            conn.prepare_cached(
                "UPDATE telegram_inbox SET lease_owner = NULL, lease_until = NULL
                 WHERE lease_owner = ?1 AND done_at IS NULL",
            )?
            .execute([owner])
        })?;
        Ok(())
    }
}
