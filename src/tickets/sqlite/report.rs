//! Figures over the log (`stats`) and retention (`purge`).

use rusqlite::params;

use super::{SqliteStore, cutoff};
use crate::tickets::Stats;

impl SqliteStore {
    pub(super) fn figures(&self, days: u32) -> anyhow::Result<Stats> {
        let since = cutoff(days);
        let conn = self.conn()?;
        let count = |sql: &str| -> anyhow::Result<i64> { Ok(conn.query_row(sql, [&since], |r| r.get(0))?) };
        let by_decision = |d: &str| -> anyhow::Result<i64> {
            Ok(conn.query_row(
                "SELECT COUNT(*) FROM questions WHERE at >= ?1 AND decision = ?2",
                params![since, d],
                |r| r.get(0),
            )?)
        };
        let mut minutes: Vec<f64> = {
            let mut stmt = conn.prepare(
                "SELECT (julianday(answered_at) - julianday(opened_at)) * 1440.0 FROM tickets
                 WHERE answered_at IS NOT NULL AND opened_at >= ?1",
            )?;
            let rows = stmt.query_map([&since], |r| r.get::<_, f64>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let median = crate::tickets::median(&mut minutes);
        let top = |sql: &str| -> anyhow::Result<Vec<(String, i64)>> {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([&since], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        };
        Ok(Stats {
            days,
            questions: count("SELECT COUNT(*) FROM questions WHERE at >= ?1")?,
            answered: by_decision("answer")?,
            clarified: by_decision("clarify")?,
            handed_off: by_decision("handoff")?,
            smalltalk: by_decision("smalltalk")?,
            tickets_opened: count("SELECT COUNT(*) FROM tickets WHERE opened_at >= ?1")?,
            tickets_open: conn.query_row("SELECT COUNT(*) FROM tickets WHERE state = 'open'", [], |r| r.get(0))?,
            median_minutes_to_answer: median,
            top_entries: top(
                "SELECT entry, COUNT(*) AS n FROM questions WHERE at >= ?1 AND decision = 'answer' AND entry IS NOT NULL
                 GROUP BY entry ORDER BY n DESC, entry LIMIT 10",
            )?,
            top_unanswered: top(
                "SELECT question, COUNT(*) AS n FROM questions WHERE at >= ?1 AND decision = 'handoff'
                 GROUP BY question ORDER BY n DESC, question LIMIT 10",
            )?,
            helpful: count("SELECT COUNT(*) FROM feedback WHERE at >= ?1 AND helpful = 1")?,
            not_helpful: count("SELECT COUNT(*) FROM feedback WHERE at >= ?1 AND helpful = 0")?,
        })
    }

    /// Entries answered since `since` (stored form), by the number of conversations they were
    /// answered in: only answers and chosen entries (decision `answer` with an entry) count.
    pub(super) fn popular(&self, since: &str, limit: usize) -> anyhow::Result<Vec<(String, u64)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT entry, COUNT(DISTINCT channel || ':' || chat) AS n FROM questions
             WHERE at >= ?1 AND decision = 'answer' AND entry IS NOT NULL
             GROUP BY entry ORDER BY n DESC, entry LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![since, limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn remove_older_than(&self, days: u32) -> anyhow::Result<usize> {
        let cutoff = cutoff(days);
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let mut removed = tx.execute(
            "DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE at < ?1)",
            [&cutoff],
        )?;
        tx.execute(
            "DELETE FROM clarifies WHERE at < ?1 OR ticket_id IN (SELECT id FROM tickets WHERE state = 'closed' AND opened_at < ?1)",
            [&cutoff],
        )?;
        removed += tx.execute(
            "DELETE FROM tickets WHERE state = 'closed' AND opened_at < ?1",
            [&cutoff],
        )?;
        tx.execute(
            "UPDATE tickets SET question_id = NULL WHERE question_id IN (SELECT id FROM questions WHERE at < ?1)",
            [&cutoff],
        )?;
        removed += tx.execute("DELETE FROM questions WHERE at < ?1", [&cutoff])?;
        tx.execute("DELETE FROM conversations WHERE updated_at < ?1", [&cutoff])?;
        removed += tx.execute("DELETE FROM knowledge_changes WHERE at < ?1", [&cutoff])?;
        Self::remove_expired(&tx)?;
        // Webhook updates are kept only to recognise Telegram's retries: a day is plenty.
        tx.execute(
            "DELETE FROM telegram_inbox WHERE done_at IS NOT NULL AND done_at < ?1",
            [super::cutoff(1)],
        )?;
        tx.commit()?;
        Ok(removed)
    }
}
