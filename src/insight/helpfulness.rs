//! Helpfulness per entry: how often each entry was answered, what people said (有帮助 / 没帮助),
//! and what they did right after — a follow-up question or a hand-off in the same conversation
//! within its idle window, both signs the answer did not satisfy.
//!
//! "Right after" is the next thing that happened in the same chat (channel + chat) within
//! `[conversation] idle_minutes` of the answer: the next logged question (a hand-off when the bot
//! handed it to a person, a follow-up otherwise) or a request for a person (a ticket of reason
//! `asked`, which has no logged question), whichever came first.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::tickets::{LoggedQuestion, Ticket, TicketReason};

/// How many of the questions that led to an entry are kept.
const QUESTIONS_KEPT: usize = 8;

/// One entry's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EntryHelpfulness {
    pub entry: String,
    /// Times it was the answer.
    pub answered: usize,
    pub helpful: usize,
    pub not_helpful: usize,
    /// Answers followed right after by another question (not a hand-off).
    pub followed_up: usize,
    /// Answers followed right after by a hand-off or a request for a person.
    pub handed_off_after: usize,
    /// Answers marked 没帮助, or followed right after by a hand-off (each answer once).
    pub unsatisfied: usize,
    /// The questions that led to it: those whose answer was marked 没帮助 or followed by a hand-off
    /// first, then the most asked; at most a few.
    pub questions: Vec<LedHere>,
}

impl EntryHelpfulness {
    /// Answers that showed they did not satisfy (没帮助, or a hand-off right after), as a share.
    pub fn unsatisfied_share(&self) -> f64 {
        share(self.unsatisfied, self.answered)
    }

    /// Answers followed right after by another question, as a share.
    pub fn follow_up_share(&self) -> f64 {
        share(self.followed_up, self.answered)
    }
}

fn share(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// A question that was answered with the entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedHere {
    pub question: String,
    /// Times asked (same text after normalisation).
    pub times: usize,
    /// Times its answer was marked 没帮助 or followed by a hand-off.
    pub unsatisfied: usize,
}

/// A question answered with an entry: (its normalised text, its text, whether it was unsatisfied).
type Led = (String, String, bool);

/// What came right after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Nothing,
    FollowUp,
    HandOff,
}

/// Figures for every entry answered in `log`, least helpful first: by the share of unsatisfied
/// answers, then the share followed up, then the most answered.
pub fn per_entry(log: &[LoggedQuestion], tickets: &[Ticket], idle: chrono::Duration) -> Vec<EntryHelpfulness> {
    let mut chats: HashMap<(&str, &str), Vec<&LoggedQuestion>> = HashMap::new();
    for q in log {
        chats.entry((&q.channel, &q.chat)).or_default().push(q);
    }
    let mut asked: HashMap<(&str, &str), Vec<DateTime<Utc>>> = HashMap::new();
    for t in tickets.iter().filter(|t| t.reason == TicketReason::Asked) {
        asked.entry((&t.channel, &t.chat)).or_default().push(t.opened_at);
    }
    let mut per: BTreeMap<&str, (EntryHelpfulness, Vec<Led>)> = BTreeMap::new();
    for (chat, qs) in &mut chats {
        qs.sort_by_key(|q| (q.at, q.id));
        let requests = asked.get(chat).map(Vec::as_slice).unwrap_or_default();
        for (i, q) in qs.iter().enumerate() {
            let Some(entry) = q.entry.as_deref().filter(|_| q.decision == "answer") else {
                continue;
            };
            let after = what_came_after(q, qs.get(i + 1).copied(), requests, idle);
            let (e, led) = per.entry(entry).or_insert_with(|| {
                (
                    EntryHelpfulness {
                        entry: entry.to_string(),
                        ..Default::default()
                    },
                    Vec::new(),
                )
            });
            e.answered += 1;
            match q.helpful {
                Some(true) => e.helpful += 1,
                Some(false) => e.not_helpful += 1,
                None => {}
            }
            match after {
                After::FollowUp => e.followed_up += 1,
                After::HandOff => e.handed_off_after += 1,
                After::Nothing => {}
            }
            let unsatisfied = q.helpful == Some(false) || after == After::HandOff;
            e.unsatisfied += usize::from(unsatisfied);
            led.push((crate::text::normalize(&q.question), q.question.clone(), unsatisfied));
        }
    }
    let mut out: Vec<EntryHelpfulness> = per
        .into_values()
        .map(|(mut e, led)| {
            e.questions = led_here(led);
            e
        })
        .collect();
    out.sort_by(|a, b| {
        b.unsatisfied_share()
            .total_cmp(&a.unsatisfied_share())
            .then(b.follow_up_share().total_cmp(&a.follow_up_share()))
            .then(b.answered.cmp(&a.answered))
            .then(a.entry.cmp(&b.entry))
    });
    out
}

fn what_came_after(
    q: &LoggedQuestion,
    next: Option<&LoggedQuestion>,
    requests: &[DateTime<Utc>],
    idle: chrono::Duration,
) -> After {
    let window_end = q.at + idle;
    let next = next.filter(|n| n.at <= window_end);
    let until = next.map_or(window_end, |n| n.at);
    if requests.iter().any(|&t| t > q.at && t <= until) {
        return After::HandOff;
    }
    match next {
        None => After::Nothing,
        Some(n) if n.decision == "handoff" => After::HandOff,
        Some(_) => After::FollowUp,
    }
}

/// The questions that led to an entry: unsatisfied ones first, then the most asked.
fn led_here(led: Vec<Led>) -> Vec<LedHere> {
    let mut by_text: Vec<(String, LedHere)> = Vec::new();
    for (key, question, unsatisfied) in led {
        match by_text.iter_mut().find(|(k, _)| *k == key) {
            Some((_, l)) => {
                l.times += 1;
                l.unsatisfied += usize::from(unsatisfied);
            }
            None => by_text.push((
                key,
                LedHere {
                    question,
                    times: 1,
                    unsatisfied: usize::from(unsatisfied),
                },
            )),
        }
    }
    let mut out: Vec<LedHere> = by_text.into_iter().map(|(_, l)| l).collect();
    out.sort_by(|a, b| b.unsatisfied.cmp(&a.unsatisfied).then(b.times.cmp(&a.times)));
    out.truncate(QUESTIONS_KEPT);
    out
}
