//! The regression gate: a new index generation is compared with the one in service before it goes
//! live.
//!
//! Both generations answer, side by side (two [`Assistant`]s in memory), the labelled question
//! sets kept with the knowledge ([`checks`]) and the distinct questions people asked on real
//! channels lately. The [`Report`] says what changed — questions whose decision or entry differs,
//! grouped by entry, and each labelled set's figures before and after — and why the switch is
//! refused: a labelled set below its floor, or an answered question that now gets a different entry
//! (or none) without being labelled. Whether to switch anyway is the caller's (an operator's
//! `--accept`). Pure comparison: no files, no store.

pub mod checks;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::answer::Decision;
use crate::app::Assistant;
use crate::knowledge::Entry;
use crate::reply::Reply;

pub use checks::LabelledSet;

/// What a generation did with a question: the decision and the entry answered with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Outcome {
    pub decision: Decision,
    pub entry: Option<String>,
}

impl Outcome {
    pub fn of(reply: &Reply) -> Self {
        Self {
            decision: reply.decision,
            entry: reply.entry.as_ref().map(|e| e.id.clone()),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(id) if self.decision == Decision::Answer => f.write_str(id),
            Some(id) => write!(f, "{} ({id})", self.decision.as_str()),
            None => f.write_str(self.decision.as_str()),
        }
    }
}

/// A question the two generations treat differently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changed {
    pub question: String,
    pub before: Outcome,
    pub after: Outcome,
    /// The labelled set the question is in, if any.
    pub labelled: Option<String>,
}

/// Right and wrong answers of one generation on one labelled set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Figures {
    /// In-scope questions answered with an expected entry.
    pub right: usize,
    /// Questions answered with an entry not expected (any entry, for an `OUT` question).
    pub wrong: usize,
}

/// One labelled set, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetResult {
    pub name: String,
    pub questions: usize,
    pub in_scope: usize,
    pub before: Figures,
    pub after: Figures,
    pub min_right: Option<f64>,
    pub max_wrong: Option<f64>,
}

impl SetResult {
    pub fn right_rate(&self, f: Figures) -> f64 {
        f.right as f64 / self.in_scope.max(1) as f64
    }
    pub fn wrong_rate(&self, f: Figures) -> f64 {
        f.wrong as f64 / self.questions.max(1) as f64
    }
}

/// What the gate found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub sets: Vec<SetResult>,
    pub changed: Vec<Changed>,
    /// Distinct questions from the log replayed, and how many days back they go.
    pub logged: usize,
    pub days: u32,
    /// Why the new generation must not go live without an operator accepting it (empty: it may).
    pub refusals: Vec<String>,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Report {
    pub fn refused(&self) -> bool {
        !self.refusals.is_empty()
    }

    /// The report for people, one line each (the CLI, the console and the audit trail show it).
    pub fn lines(&self) -> Vec<String> {
        let pct = |x: f64| format!("{:.1}%", 100.0 * x);
        let mut out = Vec::new();
        let labelled: usize = self.sets.iter().map(|s| s.questions).sum();
        out.push(format!(
            "replayed {labelled} labelled question(s) and {} asked in the last {} days on both generations in {:.1} s",
            self.logged,
            self.days,
            self.elapsed.as_secs_f64()
        ));
        for s in &self.sets {
            let floor = s.min_right.map_or(String::new(), |f| format!(" (floor {})", pct(f)));
            let ceiling = s.max_wrong.map_or(String::new(), |f| format!(" (ceiling {})", pct(f)));
            out.push(format!(
                "  {}: right {} → {}{floor}, wrong {} → {}{ceiling} ({} questions)",
                s.name,
                pct(s.right_rate(s.before)),
                pct(s.right_rate(s.after)),
                pct(s.wrong_rate(s.before)),
                pct(s.wrong_rate(s.after)),
                s.questions
            ));
        }
        if self.changed.is_empty() {
            out.push("no question changes its decision or entry".into());
        } else {
            out.push(format!("{} question(s) change (old → new):", self.changed.len()));
            for ((before, after), list) in self.groups() {
                out.push(format!("  {before} → {after} ({}):", list.len()));
                const SHOWN: usize = 8;
                for c in list.iter().take(SHOWN) {
                    let label = c.labelled.as_ref().map_or(String::new(), |l| format!("  [{l}]"));
                    out.push(format!("    「{}」{label}", shorten(&c.question)));
                }
                if list.len() > SHOWN {
                    out.push(format!("    … and {} more", list.len() - SHOWN));
                }
            }
        }
        for r in &self.refusals {
            out.push(format!("refused: {r}"));
        }
        out
    }

    /// The changed questions grouped by entry (old → new), the largest group first.
    pub fn groups(&self) -> Vec<((String, String), Vec<&Changed>)> {
        let mut groups: BTreeMap<(String, String), Vec<&Changed>> = BTreeMap::new();
        for c in &self.changed {
            groups
                .entry((c.before.to_string(), c.after.to_string()))
                .or_default()
                .push(c);
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        groups
    }
}

/// Replays the labelled sets and the `logged` questions (asked in the last `days` days) on both
/// generations and says what changed and whether the switch is refused.
pub fn replay(old: &Assistant, new: &Assistant, sets: &[LabelledSet], logged: &[String], days: u32) -> Report {
    let started = Instant::now();
    // Every distinct question once, with the first labelled set it is in.
    let mut labelled: HashMap<&str, &str> = HashMap::new();
    let mut questions: Vec<&str> = Vec::new();
    for set in sets {
        for case in &set.cases {
            if !labelled.contains_key(case.question.as_str()) {
                labelled.insert(&case.question, &set.name);
                questions.push(&case.question);
            }
        }
    }
    let mut seen: std::collections::HashSet<&str> = questions.iter().copied().collect();
    for q in logged {
        if seen.insert(q) {
            questions.push(q);
        }
    }
    let outcomes = answer_all(old, new, &questions);
    let by_question: HashMap<&str, &(Outcome, Outcome)> = questions.iter().copied().zip(&outcomes).collect();

    let mut refusals = Vec::new();
    let mut results = Vec::new();
    for set in sets {
        let mut r = SetResult {
            name: set.name.clone(),
            questions: set.cases.len(),
            in_scope: set.cases.iter().filter(|c| !c.expected.is_empty()).count(),
            before: Figures::default(),
            after: Figures::default(),
            min_right: set.min_right,
            max_wrong: set.max_wrong,
        };
        for case in &set.cases {
            let (before, after) = by_question[case.question.as_str()];
            score(&mut r.before, case, before);
            score(&mut r.after, case, after);
        }
        if let Some(floor) = r.min_right.filter(|&f| r.right_rate(r.after) < f) {
            refusals.push(format!(
                "{}: right answers {:.1}% are below the floor {:.1}%",
                r.name,
                100.0 * r.right_rate(r.after),
                100.0 * floor
            ));
        }
        if let Some(ceiling) = r.max_wrong.filter(|&c| r.wrong_rate(r.after) > c) {
            refusals.push(format!(
                "{}: wrong answers {:.1}% are above the ceiling {:.1}%",
                r.name,
                100.0 * r.wrong_rate(r.after),
                100.0 * ceiling
            ));
        }
        results.push(r);
    }
    let changed: Vec<Changed> = questions
        .iter()
        .zip(&outcomes)
        .filter(|(_, (b, a))| b != a)
        .map(|(q, (b, a))| Changed {
            question: q.to_string(),
            before: b.clone(),
            after: a.clone(),
            labelled: labelled.get(q).map(|s| s.to_string()),
        })
        .collect();
    let moved = changed
        .iter()
        .filter(|c| c.labelled.is_none() && c.before.decision == Decision::Answer)
        .count();
    if moved > 0 {
        refusals.push(format!(
            "{moved} question(s) people asked that were answered now get a different entry or none, and are not labelled"
        ));
    }
    Report {
        sets: results,
        changed,
        logged: logged.len(),
        days,
        refusals,
        elapsed: started.elapsed(),
    }
}

/// A question as listed: long messages cut to their first 60 characters.
fn shorten(q: &str) -> String {
    const SHOWN: usize = 60;
    match q.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &q[..at]),
        None => q.to_string(),
    }
}

fn score(f: &mut Figures, case: &checks::Case, got: &Outcome) {
    if got.decision != Decision::Answer {
        return;
    }
    match &got.entry {
        Some(id) if case.expected.contains(id) => f.right += 1,
        _ => f.wrong += 1,
    }
}

/// Both generations' outcome for every question, on as many threads as there are cores (a few
/// thousand questions take seconds).
fn answer_all(old: &Assistant, new: &Assistant, questions: &[&str]) -> Vec<(Outcome, Outcome)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunk = questions.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = questions
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|q| (Outcome::of(&old.ask(q)), Outcome::of(&new.ask(q))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Entries added, changed and removed between two sets of entries (by content hash), sorted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EntryDiff {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Whether the lexicon (dictionary, synonyms, stopwords, redirects) changed too.
    pub lexicon: bool,
}

/// What the audit trail lists for a lexicon change among the entries changed outside customs-bot.
pub const LEXICON: &str = "lexicon/";

impl EntryDiff {
    pub fn between(old: &[Entry], new: &[Entry]) -> Self {
        let old: HashMap<&str, String> = old.iter().map(|e| (e.id.as_str(), e.content_hash())).collect();
        let new: HashMap<&str, String> = new.iter().map(|e| (e.id.as_str(), e.content_hash())).collect();
        let mut d = EntryDiff::default();
        for (id, hash) in &new {
            match old.get(id) {
                None => d.added.push(id.to_string()),
                Some(h) if h != hash => d.changed.push(id.to_string()),
                Some(_) => {}
            }
        }
        d.removed = old
            .keys()
            .filter(|id| !new.contains_key(*id))
            .map(|id| id.to_string())
            .collect();
        d.added.sort();
        d.changed.sort();
        d.removed.sort();
        d
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty() && !self.lexicon
    }

    /// Every entry named, once.
    pub fn all(&self) -> Vec<String> {
        let mut all: Vec<String> = [&self.added, &self.changed, &self.removed]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        all.sort();
        all
    }

    /// `added: a, b; changed: c; removed: none`.
    pub fn line(&self) -> String {
        let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        format!(
            "entries added: {}; changed: {}; removed: {}{}",
            list(&self.added),
            list(&self.changed),
            list(&self.removed),
            if self.lexicon { "; the lexicon changed" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests;
