//! Figures over the log (`stats`), the kiosk's popular entries and retention (`purge`).

use chrono::{DateTime, Utc};

use super::{PgStore, cutoff};
use crate::tickets::Stats;

impl PgStore {
    pub(super) fn figures(&self, days: u32) -> anyhow::Result<Stats> {
        let since = cutoff(days);
        let mut conn = self.conn()?;
        // One snapshot for every figure.
        let mut tx = conn.build_transaction().read_only(true).start()?;
        let mut count = |sql: &str| -> anyhow::Result<i64> { Ok(tx.query_one(sql, &[&since])?.get(0)) };
        let questions = count("SELECT COUNT(*) FROM questions WHERE at >= $1")?;
        let tickets_opened = count("SELECT COUNT(*) FROM tickets WHERE opened_at >= $1")?;
        let helpful = count("SELECT COUNT(*) FROM feedback WHERE at >= $1 AND helpful")?;
        let not_helpful = count("SELECT COUNT(*) FROM feedback WHERE at >= $1 AND NOT helpful")?;
        let mut by_decision = |d: &str| -> anyhow::Result<i64> {
            Ok(tx
                .query_one(
                    "SELECT COUNT(*) FROM questions WHERE at >= $1 AND decision = $2",
                    &[&since, &d],
                )?
                .get(0))
        };
        let (answered, clarified, handed_off, smalltalk) = (
            by_decision("answer")?,
            by_decision("clarify")?,
            by_decision("handoff")?,
            by_decision("smalltalk")?,
        );
        let tickets_open: i64 = tx
            .query_one("SELECT COUNT(*) FROM tickets WHERE state = 'open'", &[])?
            .get(0);
        let mut minutes: Vec<f64> = tx
            .query(
                "SELECT (EXTRACT(EPOCH FROM (answered_at - opened_at)) / 60.0)::float8 FROM tickets
                 WHERE answered_at IS NOT NULL AND opened_at >= $1",
                &[&since],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let median = crate::tickets::median(&mut minutes);
        let mut top = |sql: &str| -> anyhow::Result<Vec<(String, i64)>> {
            Ok(tx.query(sql, &[&since])?.iter().map(|r| (r.get(0), r.get(1))).collect())
        };
        let top_entries = top(
            "SELECT entry, COUNT(*) AS n FROM questions WHERE at >= $1 AND decision = 'answer' AND entry IS NOT NULL
             GROUP BY entry ORDER BY n DESC, entry LIMIT 10",
        )?;
        let top_unanswered = top(
            "SELECT question, COUNT(*) AS n FROM questions WHERE at >= $1 AND decision = 'handoff'
             GROUP BY question ORDER BY n DESC, question LIMIT 10",
        )?;
        tx.commit()?;
        Ok(Stats {
            days,
            questions,
            answered,
            clarified,
            handed_off,
            smalltalk,
            tickets_opened,
            tickets_open,
            median_minutes_to_answer: median,
            top_entries,
            top_unanswered,
            helpful,
            not_helpful,
        })
    }

    /// Entries answered since `since`, by the number of conversations they were answered in: only
    /// answers and chosen entries (decision `answer` with an entry) count.
    pub(super) fn popular(&self, since: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<(String, u64)>> {
        let rows = self.conn()?.query(
            "SELECT entry, COUNT(DISTINCT channel || ':' || chat) AS n FROM questions
             WHERE at >= $1 AND decision = 'answer' AND entry IS NOT NULL
             GROUP BY entry ORDER BY n DESC, entry LIMIT $2",
            &[&since, &(limit as i64)],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    pub(super) fn remove_older_than(&self, days: u32) -> anyhow::Result<usize> {
        let cutoff = cutoff(days);
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let mut removed = tx.execute(
            "DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE at < $1)",
            &[&cutoff],
        )?;
        tx.execute(
            "DELETE FROM clarifies WHERE at < $1 OR ticket_id IN (SELECT id FROM tickets WHERE state = 'closed' AND opened_at < $1)",
            &[&cutoff],
        )?;
        removed += tx.execute(
            "DELETE FROM tickets WHERE state = 'closed' AND opened_at < $1",
            &[&cutoff],
        )?;
        tx.execute(
            "UPDATE tickets SET question_id = NULL WHERE question_id IN (SELECT id FROM questions WHERE at < $1)",
            &[&cutoff],
        )?;
        removed += tx.execute("DELETE FROM questions WHERE at < $1", &[&cutoff])?;
        tx.execute("DELETE FROM conversations WHERE updated_at < $1", &[&cutoff])?;
        removed += tx.execute("DELETE FROM knowledge_changes WHERE at < $1", &[&cutoff])?;
        let now = Utc::now();
        tx.execute("DELETE FROM sessions WHERE expires <= $1", &[&now])?;
        tx.execute(
            "DELETE FROM rate_windows WHERE until_ms <= $1",
            &[&now.timestamp_millis()],
        )?;
        // Webhook updates are kept only to recognise Telegram's retries: a day is plenty.
        tx.execute(
            "DELETE FROM telegram_inbox WHERE done_at IS NOT NULL AND done_at < $1",
            &[&super::cutoff(1)],
        )?;
        tx.commit()?;
        Ok(removed as usize)
    }
}
