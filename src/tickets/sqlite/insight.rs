//! The question log as operators' insight reads it: each question with its feedback, the choices
//! nobody picked and its latest ticket, in one query (grouping is done by `crate::insight`).

use rusqlite::params;

use super::rows::{guesses, parsed, time};
use super::{SqliteStore, stamp};
use crate::tickets::{LoggedQuestion, TicketLink, TicketReason};

const LOG: &str = "SELECT q.id, q.at, q.channel, q.chat, q.question, q.decision, q.entry,
        (SELECT f.helpful FROM feedback f WHERE f.question_id = q.id),
        (SELECT c.candidates FROM clarifies c WHERE c.question_id = q.id AND c.picked = 0 ORDER BY c.id DESC LIMIT 1),
        t.id, t.reason, t.guesses, t.answer
    FROM questions q
    LEFT JOIN tickets t ON t.id = (SELECT MAX(x.id) FROM tickets x WHERE x.question_id = q.id)
    WHERE q.at >= ?1
    ORDER BY q.at, q.id";

impl SqliteStore {
    pub(super) fn log_since(&self, since: chrono::DateTime<chrono::Utc>) -> anyhow::Result<Vec<LoggedQuestion>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(LOG)?;
        let rows = stmt.query_map(params![stamp(since)], |r| {
            let ticket = match r.get::<_, Option<i64>>(9)? {
                None => None,
                Some(id) => Some(TicketLink {
                    id,
                    reason: parsed(r, 10, TicketReason::parse)?,
                    guesses: guesses(&r.get::<_, String>(11)?),
                    answer: r.get(12)?,
                }),
            };
            Ok(LoggedQuestion {
                id: r.get(0)?,
                at: time(r, 1)?,
                channel: r.get(2)?,
                chat: r.get(3)?,
                question: r.get(4)?,
                decision: r.get(5)?,
                entry: r.get(6)?,
                helpful: r.get(7)?,
                unpicked: r.get::<_, Option<String>>(8)?.map(|c| guesses(&c)).unwrap_or_default(),
                ticket,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
