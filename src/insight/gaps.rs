//! Knowledge gaps: the questions the bot could not answer well, grouped by what they are about and
//! ranked by how many people asked.
//!
//! A question belongs to a gap when it was handed off (not a person's request for a human, not an
//! internal failure), referred to a person, marked 没帮助, or offered choices nobody picked. Its
//! *content words* are what `text::Analyzer::query` keeps (the answering path's normalisation,
//! segmentation and stopwords), without function words (adverbs, pronouns, particles), each folded
//! to one form of its synonym group. Questions with the same words are one; sets of words that
//! overlap enough (Jaccard ≥ [`NEAR`]) are merged into the gap of the most asked set they resemble
//! — leader clustering, so one short question cannot chain two different gaps together.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::text::Analyzer;
use crate::tickets::{Guess, LoggedQuestion, TicketReason};

/// How much two questions' word sets must overlap (shared / all) to be the same gap.
pub const NEAR: f64 = 0.5;

/// A word's topical weight below this (adverbs, pronouns, particles) does not say what a question
/// is about.
const MIN_WEIGHT: f32 = 0.5;

/// How the desk logs a chosen entry: `[选择] <title>`.
const PICKED: &str = "[选择]";

/// Why a question is in a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    HandedOff,
    Referred,
    NotHelpful,
    Unpicked,
}

impl Why {
    /// As operators read it.
    pub fn label(self) -> &'static str {
        match self {
            Why::HandedOff => "转人工",
            Why::Referred => "转具体个案",
            Why::NotHelpful => "没帮助",
            Why::Unpicked => "选项未选",
        }
    }
}

/// One question of a gap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapQuestion {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub channel: String,
    pub chat: String,
    pub question: String,
    pub why: Why,
    /// The ticket it opened, when one did.
    pub ticket: Option<i64>,
}

/// Questions about the same thing that the bot did not answer well.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// Names the gap in forms (`g` and its oldest question's id); stable while new questions join.
    pub key: String,
    /// Its most frequent content words, most frequent first.
    pub words: Vec<String>,
    /// Distinct people (channel + chat) who asked in the period.
    pub people: usize,
    /// Distinct people who asked in the last 7 days, and in the 7 days before.
    pub this_week: usize,
    pub last_week: usize,
    /// Newest first.
    pub questions: Vec<GapQuestion>,
    /// The entries the bot guessed, most often first, with how often.
    pub guesses: Vec<(Guess, usize)>,
    /// Operators' answers already given to its tickets (distinct, oldest first).
    pub answers: Vec<String>,
}

impl Gap {
    /// The gap's questions as distinct texts, most asked first (then first asked first). Of the
    /// spellings of one question, the first asked is kept, unless a later one is already in the
    /// normalised form (simplified characters, half-width): that one reads best as a title. A
    /// chosen entry logged as `[选择] <title>` is not a way people asked, and is left out.
    pub fn distinct_questions(&self) -> Vec<String> {
        let mut counts: Vec<(String, usize, String)> = Vec::new();
        for q in self.questions.iter().rev().filter(|q| !q.question.starts_with(PICKED)) {
            let (text, key) = (q.question.trim(), crate::text::normalize(&q.question));
            match counts.iter_mut().find(|(k, ..)| *k == key) {
                Some((_, n, kept)) => {
                    *n += 1;
                    if crate::text::normalize(kept) != *kept && key == text {
                        *kept = text.to_string();
                    }
                }
                None => counts.push((key, 1, text.to_string())),
            }
        }
        // Stable: equal counts stay in the order first asked.
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        counts.into_iter().map(|(.., q)| q).collect()
    }
}

/// Why a logged question is in a gap, if it is.
pub fn why(q: &LoggedQuestion) -> Option<Why> {
    if q.decision == "smalltalk" {
        return None;
    }
    match q.ticket.as_ref().map(|t| t.reason) {
        Some(TicketReason::Specific) => return Some(Why::Referred),
        Some(TicketReason::NotHelpful) => return Some(Why::NotHelpful),
        Some(TicketReason::UnpickedClarify) => return Some(Why::Unpicked),
        Some(TicketReason::Handoff) => return Some(Why::HandedOff),
        // A person's request for a human, or a failure inside: no missing knowledge.
        Some(TicketReason::Asked | TicketReason::Internal) => return None,
        None => {}
    }
    if q.helpful == Some(false) {
        Some(Why::NotHelpful)
    } else if !q.unpicked.is_empty() {
        Some(Why::Unpicked)
    } else if q.decision == "handoff" {
        Some(Why::HandedOff)
    } else {
        None
    }
}

/// What a question is about: its content words, each folded to one form of its synonym group.
pub fn content_words(analyzer: &Analyzer, question: &str) -> BTreeSet<String> {
    // A chosen entry is logged as `[选择] <title>`: the title is what it is about.
    let question = question.strip_prefix(PICKED).unwrap_or(question);
    analyzer
        .query(question)
        .groups
        .into_iter()
        .filter(|g| g.weight >= MIN_WEIGHT)
        .map(|g| {
            g.synonyms
                .iter()
                .chain(std::iter::once(&g.word))
                .min()
                .cloned()
                .unwrap_or(g.word)
        })
        .collect()
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let shared = a.intersection(b).count();
    let all = a.len() + b.len() - shared;
    if all == 0 { 0.0 } else { shared as f64 / all as f64 }
}

/// Groups the gap questions of `log` asked at or after `from` into gaps, most people first (then
/// most questions, then most recent). `now` splits this week from last week; questions of the
/// week before `from` count only for last week's figure.
pub fn find(log: &[LoggedQuestion], analyzer: &Analyzer, from: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Gap> {
    let week_ago = now - chrono::Duration::days(7);
    let two_weeks_ago = now - chrono::Duration::days(14);
    // Questions with the same words are one set.
    let mut sets: BTreeMap<BTreeSet<String>, Vec<(&LoggedQuestion, Why)>> = BTreeMap::new();
    for q in log.iter().filter(|q| q.at >= from.min(two_weeks_ago)) {
        let Some(why) = why(q) else { continue };
        let words = content_words(analyzer, &q.question);
        if !words.is_empty() {
            sets.entry(words).or_default().push((q, why));
        }
    }
    // Leaders: the most asked sets first (then the longer, then in word order).
    let mut order: Vec<&BTreeSet<String>> = sets.keys().collect();
    order.sort_by(|a, b| sets[*b].len().cmp(&sets[*a].len()).then(b.len().cmp(&a.len())));
    let mut leaders: Vec<&BTreeSet<String>> = Vec::new();
    let mut members: Vec<Vec<&BTreeSet<String>>> = Vec::new();
    let mut by_word: HashMap<&str, Vec<usize>> = HashMap::new();
    for set in order {
        let mut best: Option<(usize, f64)> = None;
        let near: HashSet<usize> = set
            .iter()
            .filter_map(|w| by_word.get(w.as_str()))
            .flatten()
            .copied()
            .collect();
        for i in near {
            let s = jaccard(set, leaders[i]);
            if s >= NEAR && best.is_none_or(|(j, b)| s > b || (s == b && i < j)) {
                best = Some((i, s));
            }
        }
        match best {
            Some((i, _)) => members[i].push(set),
            None => {
                for w in set {
                    by_word.entry(w.as_str()).or_default().push(leaders.len());
                }
                leaders.push(set);
                members.push(vec![set]);
            }
        }
    }
    let mut gaps: Vec<Gap> = members
        .into_iter()
        .filter_map(|group| {
            let qs: Vec<(&LoggedQuestion, Why)> = group.iter().flat_map(|s| sets[*s].iter().copied()).collect();
            let counted: Vec<(&BTreeSet<String>, usize)> = group
                .iter()
                .map(|s| (*s, sets[*s].iter().filter(|(q, _)| q.at >= from).count()))
                .collect();
            gap(&counted, &qs, from, week_ago, two_weeks_ago)
        })
        .collect();
    gaps.sort_by(|a, b| {
        b.people
            .cmp(&a.people)
            .then(b.questions.len().cmp(&a.questions.len()))
            .then(b.questions[0].at.cmp(&a.questions[0].at))
    });
    gaps
}

/// One gap from its word sets and their questions; none when no question falls in the period.
fn gap(
    sets: &[(&BTreeSet<String>, usize)],
    qs: &[(&LoggedQuestion, Why)],
    from: DateTime<Utc>,
    week_ago: DateTime<Utc>,
    two_weeks_ago: DateTime<Utc>,
) -> Option<Gap> {
    let person = |q: &LoggedQuestion| (q.channel.clone(), q.chat.clone());
    let people_between = |a: DateTime<Utc>, b: Option<DateTime<Utc>>| {
        qs.iter()
            .filter(|(q, _)| q.at >= a && b.is_none_or(|b| q.at < b))
            .map(|(q, _)| person(q))
            .collect::<HashSet<_>>()
            .len()
    };
    let mut in_period: Vec<&(&LoggedQuestion, Why)> = qs.iter().filter(|(q, _)| q.at >= from).collect();
    if in_period.is_empty() {
        return None;
    }
    in_period.sort_by(|a, b| b.0.at.cmp(&a.0.at).then(b.0.id.cmp(&a.0.id)));
    let mut word_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (s, n) in sets {
        for w in s.iter() {
            *word_counts.entry(w.as_str()).or_default() += n;
        }
    }
    // The leader's words first (they name the gap), then the others by frequency.
    let leader = sets[0].0;
    let mut words: Vec<String> = leader.iter().cloned().collect();
    let mut rest: Vec<(&str, usize)> = word_counts
        .into_iter()
        .filter(|(w, n)| *n > 0 && !leader.contains(*w))
        .collect();
    rest.sort_by_key(|r| std::cmp::Reverse(r.1));
    words.extend(rest.into_iter().take(3).map(|(w, _)| w.to_string()));
    let mut guesses: Vec<(Guess, usize)> = Vec::new();
    let mut answers: Vec<String> = Vec::new();
    let mut by_time: Vec<&&(&LoggedQuestion, Why)> = in_period.iter().collect();
    by_time.sort_by_key(|(q, _)| (q.at, q.id));
    for (q, _) in by_time {
        for g in guessed(q) {
            match guesses.iter_mut().find(|(x, _)| x.id == g.id) {
                Some((x, n)) => {
                    *n += 1;
                    if x.title.is_empty() {
                        x.title = g.title.clone();
                    }
                }
                None => guesses.push((g, 1)),
            }
        }
        if let Some(a) = q.ticket.as_ref().and_then(|t| t.answer.as_deref()).map(str::trim)
            && !a.is_empty()
            && !answers.iter().any(|x| x == a)
        {
            answers.push(a.to_string());
        }
    }
    guesses.sort_by_key(|g| std::cmp::Reverse(g.1));
    let oldest = qs.iter().map(|(q, _)| q.id).min().unwrap_or_default();
    Some(Gap {
        key: format!("g{oldest}"),
        words,
        people: people_between(from, None),
        this_week: people_between(week_ago, None),
        last_week: people_between(two_weeks_ago, Some(week_ago)),
        questions: in_period
            .iter()
            .map(|(q, why)| GapQuestion {
                id: q.id,
                at: q.at,
                channel: q.channel.clone(),
                chat: q.chat.clone(),
                question: q.question.clone(),
                why: *why,
                ticket: q.ticket.as_ref().map(|t| t.id),
            })
            .collect(),
        guesses,
        answers,
    })
}

/// The entries the bot guessed for a question: its ticket's guesses, the choices offered, or the
/// entry answered (for 没帮助).
fn guessed(q: &LoggedQuestion) -> Vec<Guess> {
    if let Some(t) = q.ticket.as_ref().filter(|t| !t.guesses.is_empty()) {
        return t.guesses.clone();
    }
    if !q.unpicked.is_empty() {
        return q.unpicked.clone();
    }
    q.entry
        .iter()
        .map(|e| Guess {
            id: e.clone(),
            title: String::new(),
        })
        .collect()
}
