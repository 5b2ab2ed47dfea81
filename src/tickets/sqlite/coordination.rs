//! Several processes over one database (#15): leases on relays and unpicked choices, overdue
//! announcements claimed once, rate-limit windows, console sessions and the live index generation.
//!
//! Each claim is one `UPDATE … RETURNING` statement: SQLite runs it under its write lock, so two
//! processes (or two threads) never get the same row while its lease runs.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::rows::{TICKET_COLUMNS, row_stale_clarify, row_ticket, time};
use super::{SqliteStore, now, stamp};
use crate::ratelimit::Rate;
use crate::tickets::coordination::{RATE_BUDGET, rate_verdict, rate_window_end, token_digest};
use crate::tickets::{OperatorSession, StaleClarify, Ticket};

/// The instant `lease` from now, as stored.
fn lease_end(lease: Duration) -> String {
    stamp(Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::days(1)))
}

impl SqliteStore {
    pub(super) fn lease_relays(&self, channel: &str, lease: Duration) -> anyhow::Result<Vec<Ticket>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "UPDATE tickets SET relay_lease_until = ?3
             WHERE state = 'answered' AND relayed_at IS NULL AND channel = ?1
               AND (relay_lease_until IS NULL OR relay_lease_until <= ?2)
             RETURNING {TICKET_COLUMNS}"
        ))?;
        let rows = stmt.query_map(params![channel, now(), lease_end(lease)], row_ticket)?;
        let mut tickets = rows.collect::<Result<Vec<_>, _>>()?;
        tickets.sort_by(|a, b| a.answered_at.cmp(&b.answered_at).then(a.id.cmp(&b.id)));
        Ok(tickets)
    }

    pub(super) fn end_relay_lease(&self, id: i64) -> anyhow::Result<()> {
        self.conn()?
            .execute("UPDATE tickets SET relay_lease_until = NULL WHERE id = ?1", [id])?;
        Ok(())
    }

    pub(super) fn take_overdue(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "UPDATE tickets SET overdue_announced = 1
             WHERE state = 'open' AND overdue_announced = 0 AND opened_at < ?1
             RETURNING {TICKET_COLUMNS}"
        ))?;
        let rows = stmt.query_map([stamp(cutoff)], row_ticket)?;
        let mut tickets = rows.collect::<Result<Vec<_>, _>>()?;
        tickets.sort_by(|a, b| a.opened_at.cmp(&b.opened_at).then(a.id.cmp(&b.id)));
        Ok(tickets)
    }

    pub(super) fn lease_stale_clarifies(
        &self,
        cutoff: DateTime<Utc>,
        lease: Duration,
    ) -> anyhow::Result<Vec<StaleClarify>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "UPDATE clarifies SET lease_until = ?3
             WHERE picked = 0 AND ticket_id IS NULL AND at < ?1 AND (lease_until IS NULL OR lease_until <= ?2)
             RETURNING id, channel, chat, question, candidates, question_id, at",
        )?;
        let rows = stmt.query_map(params![stamp(cutoff), now(), lease_end(lease)], |r| {
            Ok((time(r, 6)?, row_stale_clarify(r)?))
        })?;
        let mut sets = rows.collect::<Result<Vec<_>, _>>()?;
        sets.sort_by(|(a, x), (b, y)| a.cmp(b).then(x.id.cmp(&y.id)));
        Ok(sets.into_iter().map(|(_, s)| s).collect())
    }

    pub(super) fn count_hit(&self, scope: &str, key: &str, limit: u32, window: Duration) -> anyhow::Result<Rate> {
        if limit == 0 {
            return Ok(Rate::Allowed);
        }
        let now_ms = Utc::now().timestamp_millis();
        let until = rate_window_end(now_ms, window);
        // One statement: the window (started by its first request) and its count move together
        // under SQLite's write lock, whichever process counts.
        // On the request's path: within a short budget under a write-locked database (the caller
        // lets the request through when the store fails).
        let hits: i64 = self.write_with_retry(RATE_BUDGET, |conn| {
            conn.prepare_cached(
                "INSERT INTO rate_windows (scope, key, until_ms, hits) VALUES (?1, ?2, ?4, 1)
                 ON CONFLICT (scope, key) DO UPDATE SET
                     hits = CASE WHEN until_ms > ?3 THEN hits + 1 ELSE 1 END,
                     until_ms = CASE WHEN until_ms > ?3 THEN until_ms ELSE excluded.until_ms END
                 RETURNING hits",
            )?
            .query_row(params![scope, key, now_ms, until], |r| r.get(0))
        })?;
        Ok(rate_verdict(hits, limit))
    }

    pub(super) fn put_session(&self, token: &str, session: &OperatorSession) -> anyhow::Result<()> {
        self.conn()?.execute(
            "INSERT INTO sessions (token_sha256, operator, csrf, expires) VALUES (?1, ?2, ?3, ?4)",
            params![
                token_digest(token),
                session.operator,
                session.csrf,
                stamp(session.expires)
            ],
        )?;
        Ok(())
    }

    pub(super) fn get_session(&self, token: &str) -> anyhow::Result<Option<OperatorSession>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT operator, csrf, expires FROM sessions WHERE token_sha256 = ?1 AND expires > ?2",
                params![token_digest(token), now()],
                |r| {
                    Ok(OperatorSession {
                        operator: r.get(0)?,
                        csrf: r.get(1)?,
                        expires: time(r, 2)?,
                    })
                },
            )
            .optional()?)
    }

    pub(super) fn delete_session(&self, token: &str) -> anyhow::Result<()> {
        self.conn()?
            .execute("DELETE FROM sessions WHERE token_sha256 = ?1", [token_digest(token)])?;
        Ok(())
    }

    pub(super) fn put_setting(&self, name: &str, value: &str) -> anyhow::Result<()> {
        self.conn()?.execute(
            "INSERT INTO settings (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }

    pub(super) fn get_setting(&self, name: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()?
            .query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| r.get(0))
            .optional()?)
    }

    /// Removes expired console sessions and rate-limit windows (inside the purge's transaction).
    pub(super) fn remove_expired(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        tx.execute("DELETE FROM sessions WHERE expires <= ?1", [now()])?;
        tx.execute(
            "DELETE FROM rate_windows WHERE until_ms <= ?1",
            [Utc::now().timestamp_millis()],
        )?;
        Ok(())
    }
}
