//! The question log as operators' insight reads it: each question with its feedback, the choices
//! nobody picked and its latest ticket, in one query (grouping is done by `crate::insight`).

use chrono::{DateTime, Utc};

use super::PgStore;
use super::rows::{guesses, parsed};
use crate::tickets::{LoggedQuestion, TicketLink, TicketReason};

const LOG: &str = "SELECT q.id, q.at, q.channel, q.chat, q.question, q.decision, q.entry,
        (SELECT f.helpful FROM feedback f WHERE f.question_id = q.id),
        (SELECT c.candidates FROM clarifies c WHERE c.question_id = q.id AND NOT c.picked ORDER BY c.id DESC LIMIT 1),
        t.id, t.reason, t.guesses, t.answer
    FROM questions q
    LEFT JOIN tickets t ON t.id = (SELECT MAX(x.id) FROM tickets x WHERE x.question_id = q.id)
    WHERE q.at >= $1
    ORDER BY q.at, q.id";

impl PgStore {
    pub(super) fn log_since(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<LoggedQuestion>> {
        let rows = self.conn()?.query(LOG, &[&since])?;
        rows.iter()
            .map(|r| {
                let ticket = match r.try_get::<_, Option<i64>>(9)? {
                    None => None,
                    Some(id) => Some(TicketLink {
                        id,
                        reason: parsed(r, 10, "reason", TicketReason::parse)?,
                        guesses: guesses(r.try_get(11)?),
                        answer: r.try_get(12)?,
                    }),
                };
                Ok(LoggedQuestion {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    channel: r.try_get(2)?,
                    chat: r.try_get(3)?,
                    question: r.try_get(4)?,
                    decision: r.try_get(5)?,
                    entry: r.try_get(6)?,
                    helpful: r.try_get(7)?,
                    unpicked: r.try_get::<_, Option<&str>>(8)?.map(guesses).unwrap_or_default(),
                    ticket,
                })
            })
            .collect()
    }
}
