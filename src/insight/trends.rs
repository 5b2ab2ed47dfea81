//! Trends: per day (in the office's time) and per channel, how questions were handled and how the
//! operators kept up — the rows behind the console's charts, `stats --json` and `--csv`.
//!
//! A question counts once, by outcome: referred (its ticket is a `specific` one: a person's own
//! case), else answered, clarified (choices offered), handed off or small talk. Tickets count on
//! the day they were opened, closed and answered (the median minutes to an operator's answer over
//! the tickets answered that day); a ticket is overdue on a day when, at the day's end (or now,
//! for today), it was still waiting for an answer and the office's overdue rule says so.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::duty::OfficeClock;
use crate::tickets::{LoggedQuestion, Ticket, TicketReason};

/// The channel name of the rows that sum every channel.
pub const ALL: &str = "all";

/// The days to count, in the office's time.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub clock: OfficeClock,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub now: DateTime<Utc>,
}

/// One day's figures for one channel (or [`ALL`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Day {
    pub date: NaiveDate,
    pub channel: String,
    pub questions: usize,
    pub answered: usize,
    pub clarified: usize,
    pub handed_off: usize,
    pub referred: usize,
    pub smalltalk: usize,
    pub tickets_opened: usize,
    pub tickets_closed: usize,
    /// Median minutes from opening to an operator's answer, over the tickets answered that day.
    pub median_minutes_to_answer: Option<f64>,
    /// Tickets overdue at the end of the day.
    pub overdue: usize,
}

/// The first instant of `day` in the office's time.
pub fn day_start(clock: OfficeClock, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (midnight - clock.offset).and_utc()
}

/// Rows for every day of the period: first every day for [`ALL`], then for each channel seen
/// (in name order).
pub fn per_day(
    log: &[LoggedQuestion],
    tickets: &[Ticket],
    period: &Period,
    overdue_at: &dyn Fn(&Ticket, DateTime<Utc>) -> bool,
) -> Vec<Day> {
    let channels: BTreeSet<&str> = log
        .iter()
        .map(|q| q.channel.as_str())
        .chain(tickets.iter().map(|t| t.channel.as_str()))
        .collect();
    let mut out = Vec::new();
    for channel in std::iter::once(ALL).chain(channels) {
        let mine = |c: &str| channel == ALL || c == channel;
        let log: Vec<&LoggedQuestion> = log.iter().filter(|q| mine(&q.channel)).collect();
        let tickets: Vec<&Ticket> = tickets.iter().filter(|t| mine(&t.channel)).collect();
        let mut day = period.from;
        while day <= period.to {
            out.push(one_day(&log, &tickets, period, day, channel, overdue_at));
            day = day.succ_opt().unwrap_or(day);
            if day == NaiveDate::MAX {
                break;
            }
        }
    }
    out
}

fn one_day(
    log: &[&LoggedQuestion],
    tickets: &[&Ticket],
    period: &Period,
    date: NaiveDate,
    channel: &str,
    overdue_at: &dyn Fn(&Ticket, DateTime<Utc>) -> bool,
) -> Day {
    let on = |t: DateTime<Utc>| period.clock.local(t).date_naive() == date;
    let mut d = Day {
        date,
        channel: channel.to_string(),
        ..Default::default()
    };
    for q in log.iter().filter(|q| on(q.at)) {
        d.questions += 1;
        let referred = q.ticket.as_ref().is_some_and(|t| t.reason == TicketReason::Specific);
        match q.decision.as_str() {
            _ if referred => d.referred += 1,
            "answer" => d.answered += 1,
            "clarify" => d.clarified += 1,
            "handoff" => d.handed_off += 1,
            _ => d.smalltalk += 1,
        }
    }
    let end = day_start(period.clock, date + chrono::Duration::days(1)).min(period.now);
    let mut minutes = Vec::new();
    for t in tickets {
        d.tickets_opened += usize::from(on(t.opened_at));
        d.tickets_closed += usize::from(t.closed_at.is_some_and(on));
        if let Some(a) = t.answered_at.filter(|&a| on(a)) {
            minutes.push((a - t.opened_at).num_seconds() as f64 / 60.0);
        }
        let waiting = t.opened_at < end && t.answered_at.is_none_or(|a| a > end) && t.closed_at.is_none_or(|c| c > end);
        d.overdue += usize::from(waiting && overdue_at(t, end));
    }
    d.median_minutes_to_answer = crate::tickets::median(&mut minutes);
    d
}

/// The rows as CSV, with a header line (the numbers behind the charts).
pub fn csv(days: &[Day]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "date",
        "channel",
        "questions",
        "answered",
        "clarified",
        "handed_off",
        "referred",
        "smalltalk",
        "tickets_opened",
        "tickets_closed",
        "median_minutes_to_answer",
        "overdue",
    ])?;
    for d in days {
        w.write_record([
            d.date.to_string(),
            d.channel.clone(),
            d.questions.to_string(),
            d.answered.to_string(),
            d.clarified.to_string(),
            d.handed_off.to_string(),
            d.referred.to_string(),
            d.smalltalk.to_string(),
            d.tickets_opened.to_string(),
            d.tickets_closed.to_string(),
            d.median_minutes_to_answer.map_or(String::new(), |m| format!("{m:.1}")),
            d.overdue.to_string(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
