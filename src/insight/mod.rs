//! Operators' insight: what the question log says beyond one ticket at a time.
//!
//! - [`gaps`]: the questions the bot could not answer well (handed off, referred, marked 没帮助,
//!   choices left unpicked) grouped by what they are about — their content words after the same
//!   normalisation, segmentation and synonym folding the answering path uses (`text::Analyzer`) —
//!   and ranked by how many people asked.
//! - [`helpfulness`]: per entry, how often it was answered, 有帮助 / 没帮助, and how often a
//!   follow-up or a hand-off came right after it; least helpful first.
//! - [`trends`]: per day and channel, questions by outcome and tickets opened, closed, answered
//!   (median time) and overdue; as rows for charts and CSV.
//!
//! Pure over plain records: the store is read once through `TicketStore::question_log` and
//! `tickets_since` (the loaders here), the grouping happens in Rust. Fronts (the console, `gaps` /
//! `stats`, Telegram's `/gaps`) only render what these return.

pub mod gaps;
pub mod helpfulness;
pub mod trends;

use chrono::{DateTime, Utc};

use crate::text::Analyzer;
use crate::tickets::{Ticket, TicketStore};

pub use gaps::{Gap, GapQuestion, Why};
pub use helpfulness::EntryHelpfulness;
pub use trends::Day;

/// The longest period insight looks back over (days).
pub const MAX_DAYS: u32 = 366;

/// The instant `days` days before `now` (at most [`MAX_DAYS`]).
pub fn since(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - chrono::Duration::days(days.clamp(1, MAX_DAYS).into())
}

/// The knowledge gaps of the last `days` days, most people first.
pub fn load_gaps(
    store: &dyn TicketStore,
    analyzer: &Analyzer,
    days: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Gap>> {
    // The week before this one is compared, so read at least two weeks.
    let log = store.question_log(since(now, days.max(14)))?;
    Ok(gaps::find(&log, analyzer, since(now, days), now))
}

/// Helpfulness per entry over the last `days` days, least helpful first. `idle` is how long a
/// conversation waits for its next turn (`[conversation] idle_minutes`).
pub fn load_helpfulness(
    store: &dyn TicketStore,
    days: u32,
    idle: chrono::Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<EntryHelpfulness>> {
    let from = since(now, days);
    let log = store.question_log(from)?;
    let tickets = store.tickets_since(from)?;
    Ok(helpfulness::per_entry(&log, &tickets, idle))
}

/// Per-day figures over the last `days` days (today included), per channel and for all channels.
/// `overdue_at` is the office's overdue rule for a ticket still open at an instant.
pub fn load_trends(
    store: &dyn TicketStore,
    clock: crate::duty::OfficeClock,
    days: u32,
    now: DateTime<Utc>,
    overdue_at: &dyn Fn(&Ticket, DateTime<Utc>) -> bool,
) -> anyhow::Result<Vec<Day>> {
    let days = days.clamp(1, MAX_DAYS);
    let to = clock.local(now).date_naive();
    let from = to - chrono::Duration::days(i64::from(days) - 1);
    // From the start of the first day in the office's time.
    let start = trends::day_start(clock, from);
    let log = store.question_log(start)?;
    let tickets = store.tickets_since(start)?;
    Ok(trends::per_day(
        &log,
        &tickets,
        &trends::Period { clock, from, to, now },
        overdue_at,
    ))
}

#[cfg(test)]
mod tests;
