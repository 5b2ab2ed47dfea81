//! Rows as read: tickets, logged questions, times and guesses, with an error naming a column that
//! does not hold what this version writes.

use chrono::{DateTime, Utc};

use crate::tickets::{CloseReason, Guess, QuestionRecord, StaleClarify, Ticket, TicketReason, TicketState};

pub(super) const TICKET_COLUMNS: &str = "id, opened_at, channel, chat, question, reason, guesses, state, answer, answered_by, \
     answered_at, relayed_at, closed_at, close_reason, promoted_to, notice_message_id, overdue_announced, \
     COALESCE(access_key, ''), question_id";

pub(super) fn row_ticket(r: &rusqlite::Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: r.get(0)?,
        opened_at: time(r, 1)?,
        channel: r.get(2)?,
        chat: r.get(3)?,
        question: r.get(4)?,
        reason: parsed(r, 5, TicketReason::parse)?,
        guesses: guesses(&r.get::<_, String>(6)?),
        state: parsed(r, 7, TicketState::parse)?,
        answer: r.get(8)?,
        answered_by: r.get(9)?,
        answered_at: optional_time(r, 10)?,
        relayed_at: optional_time(r, 11)?,
        closed_at: optional_time(r, 12)?,
        close_reason: r
            .get::<_, Option<String>>(13)?
            .map(|s| CloseReason::parse(&s).ok_or_else(|| bad_value(13, &s)))
            .transpose()?,
        promoted_to: r.get(14)?,
        notice_message_id: r.get(15)?,
        overdue_announced: r.get(16)?,
        access_key: r.get(17)?,
        question_id: r.get(18)?,
    })
}

/// A logged question from the columns `channel, chat, question, decision, entry, confidence,
/// latency_ms`, starting at column `first`.
/// A set of choices nobody picked, from `id, channel, chat, question, candidates, question_id`.
pub(super) fn row_stale_clarify(r: &rusqlite::Row<'_>) -> rusqlite::Result<StaleClarify> {
    Ok(StaleClarify {
        id: r.get(0)?,
        channel: r.get(1)?,
        chat: r.get(2)?,
        question: r.get(3)?,
        candidates: guesses(&r.get::<_, String>(4)?),
        question_id: r.get(5)?,
    })
}

pub(super) fn row_question(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<QuestionRecord> {
    Ok(QuestionRecord {
        channel: r.get(first)?,
        chat: r.get(first + 1)?,
        question: r.get(first + 2)?,
        decision: r.get(first + 3)?,
        entry: r.get(first + 4)?,
        confidence: r.get(first + 5)?,
        latency_ms: r.get(first + 6)?,
        provenance: None,
    })
}

/// A column that does not hold what this version writes: an error naming the column and value.
fn bad_value(column: usize, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("unexpected value `{value}`").into(),
    )
}

pub(super) fn parsed<T>(r: &rusqlite::Row<'_>, column: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let s: String = r.get(column)?;
    parse(&s).ok_or_else(|| bad_value(column, &s))
}

pub(super) fn time(r: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<DateTime<Utc>> {
    parsed(r, column, |s| {
        DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
    })
}

pub(super) fn optional_time(r: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match r.get::<_, Option<String>>(column)? {
        None => Ok(None),
        Some(_) => time(r, column).map(Some),
    }
}

/// Guesses as stored (a JSON array of `{id, title, …}`; older rows may lack titles). Unreadable
/// JSON is no guesses rather than a ticket that cannot be shown.
pub(super) fn guesses(json: &str) -> Vec<Guess> {
    serde_json::from_str(json).unwrap_or_default()
}
