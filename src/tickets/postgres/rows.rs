//! Reading rows into the store's records: tickets, logged questions, guesses as stored.

use postgres::Row;

use crate::tickets::{CloseReason, Guess, QuestionRecord, StaleClarify, Ticket, TicketReason, TicketState};

pub(super) const TICKET_COLUMNS: &str = "id, opened_at, channel, chat, question, reason, guesses, state, answer, answered_by, \
     answered_at, relayed_at, closed_at, close_reason, promoted_to, notice_message_id, overdue_announced, \
     COALESCE(access_key, ''), question_id";

/// A column that does not hold what this version writes: an error naming the column and value.
fn bad_value(column: &str, value: &str) -> anyhow::Error {
    anyhow::anyhow!("the column `{column}` holds an unexpected value `{value}`")
}

pub(super) fn parsed<T>(r: &Row, column: usize, name: &str, parse: fn(&str) -> Option<T>) -> anyhow::Result<T> {
    let s: String = r.try_get(column)?;
    parse(&s).ok_or_else(|| bad_value(name, &s))
}

pub(super) fn row_ticket(r: &Row) -> anyhow::Result<Ticket> {
    Ok(Ticket {
        id: r.try_get(0)?,
        opened_at: r.try_get(1)?,
        channel: r.try_get(2)?,
        chat: r.try_get(3)?,
        question: r.try_get(4)?,
        reason: parsed(r, 5, "reason", TicketReason::parse)?,
        guesses: guesses(r.try_get(6)?),
        state: parsed(r, 7, "state", TicketState::parse)?,
        answer: r.try_get(8)?,
        answered_by: r.try_get(9)?,
        answered_at: r.try_get(10)?,
        relayed_at: r.try_get(11)?,
        closed_at: r.try_get(12)?,
        close_reason: r
            .try_get::<_, Option<String>>(13)?
            .map(|s| CloseReason::parse(&s).ok_or_else(|| bad_value("close_reason", &s)))
            .transpose()?,
        promoted_to: r.try_get(14)?,
        notice_message_id: r.try_get(15)?,
        overdue_announced: r.try_get(16)?,
        access_key: r.try_get(17)?,
        question_id: r.try_get(18)?,
    })
}

/// A logged question from the columns `channel, chat, question, decision, entry, confidence,
/// latency_ms`, starting at column `first`.
/// A set of choices nobody picked, from `id, channel, chat, question, candidates, question_id`.
pub(super) fn row_stale_clarify(r: &Row) -> anyhow::Result<StaleClarify> {
    Ok(StaleClarify {
        id: r.try_get(0)?,
        channel: r.try_get(1)?,
        chat: r.try_get(2)?,
        question: r.try_get(3)?,
        candidates: guesses(r.try_get(4)?),
        question_id: r.try_get(5)?,
    })
}

pub(super) fn row_question(r: &Row, first: usize) -> anyhow::Result<QuestionRecord> {
    Ok(QuestionRecord {
        channel: r.try_get(first)?,
        chat: r.try_get(first + 1)?,
        question: r.try_get(first + 2)?,
        decision: r.try_get(first + 3)?,
        entry: r.try_get(first + 4)?,
        confidence: r.try_get(first + 5)?,
        latency_ms: r.try_get(first + 6)?,
        provenance: None,
    })
}

/// Guesses as stored (a JSON array of `{id, title, …}`). Unreadable JSON is no guesses rather than
/// a ticket that cannot be shown.
pub(super) fn guesses(json: &str) -> Vec<Guess> {
    serde_json::from_str(json).unwrap_or_default()
}
