//! Several processes over one database (#15): leases on relays and unpicked choices, overdue
//! announcements claimed once, rate-limit windows, console sessions, the live index generation,
//! and the Telegram updates received by webhook.
//!
//! Each claim is one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING` statement:
//! a row another process is claiming at that moment is skipped, not waited for, and a row whose
//! lease runs is not due — so two processes never get the same row while its lease runs.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::PgStore;
use super::rows::{TICKET_COLUMNS, row_stale_clarify, row_ticket};
use crate::ratelimit::Rate;
use crate::tickets::coordination::{RATE_BUDGET, rate_verdict, rate_window_end, token_digest};
use crate::tickets::{InboxUpdate, OperatorSession, StaleClarify, Ticket};

/// The name under which the live index generation is kept in `settings`.
pub(super) const LIVE_GENERATION: &str = "live_generation";

/// The instant `lease` from now.
fn lease_end(lease: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::days(1))
}

impl PgStore {
    pub(super) fn lease_relays(&self, channel: &str, lease: Duration) -> anyhow::Result<Vec<Ticket>> {
        let rows = self.conn()?.query(
            &format!(
                "UPDATE tickets SET relay_lease_until = $3 WHERE id IN (
                     SELECT id FROM tickets
                     WHERE state = 'answered' AND relayed_at IS NULL AND channel = $1
                       AND (relay_lease_until IS NULL OR relay_lease_until <= $2)
                     FOR UPDATE SKIP LOCKED)
                 RETURNING {TICKET_COLUMNS}"
            ),
            &[&channel, &Utc::now(), &lease_end(lease)],
        )?;
        let mut tickets = rows.iter().map(row_ticket).collect::<anyhow::Result<Vec<_>>>()?;
        tickets.sort_by(|a, b| a.answered_at.cmp(&b.answered_at).then(a.id.cmp(&b.id)));
        Ok(tickets)
    }

    pub(super) fn end_relay_lease(&self, id: i64) -> anyhow::Result<()> {
        self.conn()?
            .execute("UPDATE tickets SET relay_lease_until = NULL WHERE id = $1", &[&id])?;
        Ok(())
    }

    pub(super) fn take_overdue(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>> {
        let rows = self.conn()?.query(
            &format!(
                "UPDATE tickets SET overdue_announced = TRUE WHERE id IN (
                     SELECT id FROM tickets
                     WHERE state = 'open' AND NOT overdue_announced AND opened_at < $1
                     FOR UPDATE SKIP LOCKED)
                 AND NOT overdue_announced
                 RETURNING {TICKET_COLUMNS}"
            ),
            &[&cutoff],
        )?;
        let mut tickets = rows.iter().map(row_ticket).collect::<anyhow::Result<Vec<_>>>()?;
        tickets.sort_by(|a, b| a.opened_at.cmp(&b.opened_at).then(a.id.cmp(&b.id)));
        Ok(tickets)
    }

    pub(super) fn lease_stale_clarifies(
        &self,
        cutoff: DateTime<Utc>,
        lease: Duration,
    ) -> anyhow::Result<Vec<StaleClarify>> {
        let rows = self.conn()?.query(
            "UPDATE clarifies SET lease_until = $3 WHERE id IN (
                 SELECT id FROM clarifies
                 WHERE NOT picked AND ticket_id IS NULL AND at < $1 AND (lease_until IS NULL OR lease_until <= $2)
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, channel, chat, question, candidates, question_id, at",
            &[&cutoff, &Utc::now(), &lease_end(lease)],
        )?;
        let mut sets = rows
            .iter()
            .map(|r| Ok((r.try_get::<_, DateTime<Utc>>(6)?, row_stale_clarify(r)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        sets.sort_by(|(a, x), (b, y)| a.cmp(b).then(x.id.cmp(&y.id)));
        Ok(sets.into_iter().map(|(_, s)| s).collect())
    }

    pub(super) fn count_hit(&self, scope: &str, key: &str, limit: u32, window: Duration) -> anyhow::Result<Rate> {
        if limit == 0 {
            return Ok(Rate::Allowed);
        }
        let now_ms = Utc::now().timestamp_millis();
        let until = rate_window_end(now_ms, window);
        // One statement: the window (started by its first request) and its count move together,
        // whichever process counts (the row is locked by the upsert).
        let hits: i64 = self.within(RATE_BUDGET, |tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO rate_windows (scope, key, until_ms, hits) VALUES ($1, $2, $4, 1)
                     ON CONFLICT (scope, key) DO UPDATE SET
                         hits = CASE WHEN rate_windows.until_ms > $3 THEN rate_windows.hits + 1 ELSE 1 END,
                         until_ms = CASE WHEN rate_windows.until_ms > $3 THEN rate_windows.until_ms
                                         ELSE excluded.until_ms END
                     RETURNING hits",
                    &[&scope, &key, &now_ms, &until],
                )?
                .get(0))
        })?;
        Ok(rate_verdict(hits, limit))
    }

    pub(super) fn put_session(&self, token: &str, session: &OperatorSession) -> anyhow::Result<()> {
        self.conn()?.execute(
            "INSERT INTO sessions (token_sha256, operator, csrf, expires) VALUES ($1, $2, $3, $4)",
            &[&token_digest(token), &session.operator, &session.csrf, &session.expires],
        )?;
        Ok(())
    }

    pub(super) fn get_session(&self, token: &str) -> anyhow::Result<Option<OperatorSession>> {
        let row = self.conn()?.query_opt(
            "SELECT operator, csrf, expires FROM sessions WHERE token_sha256 = $1 AND expires > $2",
            &[&token_digest(token), &Utc::now()],
        )?;
        row.map(|r| {
            Ok(OperatorSession {
                operator: r.try_get(0)?,
                csrf: r.try_get(1)?,
                expires: r.try_get(2)?,
            })
        })
        .transpose()
    }

    pub(super) fn delete_session(&self, token: &str) -> anyhow::Result<()> {
        self.conn()?
            .execute("DELETE FROM sessions WHERE token_sha256 = $1", &[&token_digest(token)])?;
        Ok(())
    }

    pub(super) fn put_setting(&self, name: &str, value: &str) -> anyhow::Result<()> {
        self.conn()?.execute(
            "INSERT INTO settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[&name, &value],
        )?;
        Ok(())
    }

    pub(super) fn get_setting(&self, name: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()?
            .query_opt("SELECT value FROM settings WHERE name = $1", &[&name])?
            .map(|r| r.get(0)))
    }

    pub(super) fn put_update(&self, update: &InboxUpdate) -> anyhow::Result<bool> {
        let inserted = self.conn()?.execute(
            "INSERT INTO telegram_inbox (update_id, chat, payload, received_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (update_id) DO NOTHING",
            &[&update.update_id, &update.chat, &update.payload, &Utc::now()],
        )?;
        Ok(inserted == 1)
    }

    pub(super) fn claim_update(&self, owner: &str, lease: Duration) -> anyhow::Result<Option<InboxUpdate>> {
        // The oldest due update whose chat has nothing older still to do; one another worker is
        // claiming right now is skipped (and its chat's later updates wait for it).
        let row = self.conn()?.query_opt(
            "UPDATE telegram_inbox SET lease_owner = $1, lease_until = $2
             WHERE update_id = (
                 SELECT i.update_id FROM telegram_inbox i
                 WHERE i.done_at IS NULL AND (i.lease_until IS NULL OR i.lease_until <= $3)
                   AND NOT EXISTS (
                       SELECT 1 FROM telegram_inbox o
                       WHERE o.chat = i.chat AND o.done_at IS NULL AND o.update_id < i.update_id)
                 ORDER BY i.update_id LIMIT 1
                 FOR UPDATE SKIP LOCKED)
             RETURNING update_id, chat, payload",
            &[&owner, &lease_end(lease), &Utc::now()],
        )?;
        row.map(|r| {
            Ok(InboxUpdate {
                update_id: r.try_get(0)?,
                chat: r.try_get(1)?,
                payload: r.try_get(2)?,
            })
        })
        .transpose()
    }

    pub(super) fn update_done(&self, update_id: i64) -> anyhow::Result<()> {
        self.conn()?.execute(
            "UPDATE telegram_inbox SET done_at = $2, lease_owner = NULL, lease_until = NULL
             WHERE update_id = $1 AND done_at IS NULL",
            &[&update_id, &Utc::now()],
        )?;
        Ok(())
    }

    pub(super) fn renew_update(&self, update_id: i64, owner: &str, lease: Duration) -> anyhow::Result<bool> {
        let renewed = self.conn()?.execute(
            "UPDATE telegram_inbox SET lease_until = $3
             WHERE update_id = $1 AND lease_owner = $2 AND done_at IS NULL",
            &[&update_id, &owner, &lease_end(lease)],
        )?;
        Ok(renewed == 1)
    }

    pub(super) fn release_updates(&self, owner: &str) -> anyhow::Result<()> {
        self.conn()?.execute(
            "UPDATE telegram_inbox SET lease_owner = NULL, lease_until = NULL
             WHERE lease_owner = $1 AND done_at IS NULL",
            &[&owner],
        )?;
        Ok(())
    }
}
