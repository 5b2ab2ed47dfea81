//! The one place a question travels: normalise → search → decide → reply.
//!
//! [`Assistant::ask`] is the single answering function behind `customs-bot ask`, `chat` and every
//! front end, so a CLI test exercises exactly the bot's decision path. The assistant holds the
//! current index generation behind a lock-free-for-readers swap (`RwLock<Arc<…>>`, held only to
//! clone the `Arc`), so a reindex never makes a question fail. `prepare_index` builds the index
//! when it is missing or stale, so a newcomer never has to run `reindex` first.

mod converse;

pub use converse::Turn;

use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;

use crate::answer::{self, Decision, Scored, Specific};
use crate::config::Config;
use crate::index::{self, SearchIndex};
use crate::knowledge::{self, Kind};
use crate::reply::{Body, Candidate, EntryRef, HandoffReason, Reply};
use crate::text;

/// How many distinct entries are considered per question.
const CONSIDERED: usize = 5;

/// The assistant: configuration plus the index generation in service.
pub struct Assistant {
    config: Config,
    index: RwLock<Arc<SearchIndex>>,
}

/// Today's date in China, for entries' effective/expires dates: regulations take effect on
/// China's calendar, whatever the office's own clock.
pub fn today() -> NaiveDate {
    crate::duty::OfficeClock::CHINA.today()
}

/// Why the index could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("the knowledge folder has {} problem(s) and there is no earlier index to serve:\n{}", .0.len(), .0.join("\n"))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Loads and validates the knowledge folder named in the configuration.
pub fn load_knowledge(config: &Config) -> knowledge::Loaded {
    knowledge::load(&config.knowledge.dir, &config.placeholder_names(), today())
}

/// Makes sure there is an index to answer from; builds it (one log line) when it is missing, from
/// an older version or damaged. A *stale* index (the knowledge changed since the last reindex) is
/// not replaced here: only `reindex` publishes a change, through the regression gate. With
/// `preview` (the staff's `ask` and `chat`) a stale index is answered from a private build of the
/// knowledge as it is now, which nobody else sees; otherwise (`serve`) the published index keeps
/// serving. When the knowledge has errors (including files or folders that cannot be read), an
/// earlier index keeps serving (with the problems logged) and only a missing or unusable index is
/// an error.
pub fn prepare_index(config: &Config, preview: bool) -> Result<SearchIndex, PrepareError> {
    let root = &config.index.dir;
    let fingerprint = knowledge::fingerprint(&config.knowledge.dir);
    let why = match (index::current_meta(root), &fingerprint) {
        (None, _) => Some("missing"),
        (Some(m), _) if m.schema_version != index::SCHEMA_VERSION => Some("from an older version"),
        (Some(_), Err(_)) => Some("possibly stale (the knowledge folder cannot be read)"),
        (Some(m), Ok(f)) if m.fingerprint != *f => Some("stale (the knowledge folder changed)"),
        (Some(_), Ok(_)) => None,
    };
    if let Some(why) = why {
        let loaded = load_knowledge(config);
        if loaded.has_errors() {
            let problems: Vec<String> = loaded.errors().map(|p| p.to_string()).collect();
            if index::current_meta(root).is_some_and(|m| m.schema_version == index::SCHEMA_VERSION) {
                tracing::warn!(
                    problems = problems.len(),
                    "the index is {why}, but the knowledge folder has errors (run `customs-bot check`); serving the previous index"
                );
                log_problems(&problems);
            } else {
                return Err(PrepareError::Invalid(problems));
            }
        } else if why.contains("stale") {
            if preview {
                // Staged and opened, then its folder removed: the open files stay readable, and
                // `CURRENT` never names it.
                let staged = index::stage(&loaded.knowledge, root)?;
                let index = staged.open(None)?;
                drop(staged);
                tracing::info!(
                    "the index is {why}: answering from a private build of the knowledge as it is now (not published: `customs-bot reindex` publishes it through the regression gate)"
                );
                return Ok(index);
            }
            tracing::warn!(
                "the index is {why}: serving the published index until `customs-bot reindex` publishes the change through the regression gate"
            );
        } else {
            return rebuild(&loaded, root, why);
        }
    }
    match SearchIndex::open(root) {
        Ok(index) => Ok(index),
        Err(e) => {
            // A damaged generation (a file missing or corrupted): rebuild it when the knowledge
            // allows, otherwise say which file is the matter and why it cannot be rebuilt.
            let damage = format!("{e:#}");
            let loaded = load_knowledge(config);
            if loaded.has_errors() {
                let problems: Vec<String> = loaded.errors().map(|p| p.to_string()).collect();
                return Err(PrepareError::Other(anyhow::anyhow!(
                    "the index cannot be opened ({damage}) and cannot be rebuilt because the knowledge folder has {} problem(s):\n{}",
                    problems.len(),
                    problems.join("\n")
                )));
            }
            tracing::warn!(error = %damage, "the index cannot be opened");
            rebuild(&loaded, root, "damaged")
        }
    }
}

fn rebuild(loaded: &knowledge::Loaded, root: &Path, why: &str) -> Result<SearchIndex, PrepareError> {
    let (report, index) = index::build_and_open(&loaded.knowledge, root)?;
    tracing::info!(
        entries = report.entries,
        ms = report.elapsed.as_millis() as u64,
        "the index was {why}: rebuilt it"
    );
    Ok(index)
}

/// Logs the knowledge folder's errors (the first few) while an earlier index keeps serving.
fn log_problems(problems: &[String]) {
    const SHOWN: usize = 10;
    for p in problems.iter().take(SHOWN) {
        tracing::warn!("{p}");
    }
    if problems.len() > SHOWN {
        tracing::warn!("… and {} more (run `customs-bot check`)", problems.len() - SHOWN);
    }
}

impl Assistant {
    pub fn new(config: Config, index: SearchIndex) -> Self {
        Self {
            config,
            index: RwLock::new(Arc::new(index)),
        }
    }

    /// Prepares the index (building it if missing or damaged) and returns a ready assistant on
    /// the published index.
    pub fn start(config: Config) -> Result<Self, PrepareError> {
        let index = prepare_index(&config, false)?;
        Ok(Self::new(config, index))
    }

    /// [`start`](Self::start) for the staff's panels (`ask`, `chat`): when the knowledge changed
    /// since the last reindex, answers from a private build of it (published by nobody).
    pub fn preview(config: Config) -> Result<Self, PrepareError> {
        let index = prepare_index(&config, true)?;
        Ok(Self::new(config, index))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The generation in service. Cheap: clones an `Arc`.
    pub fn index(&self) -> Arc<SearchIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts a new generation in service; questions in flight finish on the old one.
    pub fn swap_index(&self, new: SearchIndex) {
        *self.index.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
    }

    /// Opens the current generation on disk if it differs from the one in service.
    /// Returns true when it switched.
    pub fn reload_if_changed(&self, root: &Path) -> anyhow::Result<bool> {
        let Some(on_disk) = index::current_meta(root) else {
            return Ok(false);
        };
        if on_disk.built_at == self.index().meta().built_at {
            return Ok(false);
        }
        // The analyzer (jieba dictionary) is shared with the generation in service when the
        // lexicon did not change, so a reindex does not load another one.
        let new = SearchIndex::open_after(root, &self.index())?;
        self.swap_index(new);
        release_freed_memory();
        Ok(true)
    }

    /// Puts generation `name` in service when it is not the one in service (the store named it as
    /// published). Returns true when it switched.
    pub fn reload_to(&self, root: &Path, name: &str) -> anyhow::Result<bool> {
        let current = self.index();
        if current.generation_name() == name {
            return Ok(false);
        }
        let new = SearchIndex::open_generation(root, name, &current)?;
        drop(current);
        self.swap_index(new);
        release_freed_memory();
        Ok(true)
    }

    /// Answers one question. Never fails: an internal error becomes a calm hand-off (logged once).
    pub fn ask(&self, question: &str) -> Reply {
        match self.try_ask(question) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = ?format!("{e:#}"), "answering failed");
                handoff(question, HandoffReason::Internal, Vec::new(), 0.0)
            }
        }
    }

    fn try_ask(&self, question: &str) -> anyhow::Result<Reply> {
        let question = question.trim();
        let normalized = text::normalize(question);
        let t = &self.config.answer;
        if normalized.chars().count() > t.max_question_chars {
            return Ok(handoff(question, HandoffReason::TooLong, Vec::new(), 0.0));
        }
        if answer::wants_human(&normalized) {
            return Ok(handoff(question, HandoffReason::Asked, Vec::new(), 1.0));
        }
        if let Some(kind) = answer::smalltalk(&normalized) {
            return Ok(Reply {
                question: question.to_string(),
                decision: Decision::Smalltalk,
                entry: None,
                candidates: Vec::new(),
                confidence: 1.0,
                body: Body::Smalltalk(kind),
            });
        }
        if let Some(place) = answer::foreign_customs(&normalized) {
            return Ok(redirect(
                question,
                place,
                &format!("{place}海关（或{place}驻华使领馆）"),
            ));
        }
        // 2, 第三个: a choice's number with no choices to refer to (the conversation resolves offered
        // ones before this) asks about nothing.
        if crate::conversation::only_a_number(&normalized) {
            return Ok(handoff(question, HandoffReason::Vague, Vec::new(), 0.0));
        }
        let index = self.index();
        // Another authority's matter — unless the question also asks about filing with customs
        // (营业执照变更了海关备案要变吗, 公司注册后怎么办海关备案; not 出口退税备案): that part is ours when entries
        // answer it or are offered; otherwise the other authority is named as before.
        let redirected = index.analyzer().redirect(&normalized);
        if let Some((term, to)) = redirected {
            let rest = normalized.replacen(term, " ", 1);
            if !CUSTOMS_FILING.iter().any(|cue| rest.contains(cue)) {
                return Ok(redirect(question, term, to));
            }
        }
        let (query, hits) = index.search(question, CONSIDERED, today())?;
        if query.groups.is_empty() {
            return Ok(handoff(question, HandoffReason::Vague, Vec::new(), 0.0));
        }
        let scored: Vec<Scored> = hits
            .iter()
            .map(|h| Scored {
                score: h.rank,
                coverage: h.coverage,
                norm: h.norm,
                matched: h.matched,
            })
            .collect();
        let mut verdict = answer::decide(&scored, t);
        if let Some((term, to)) = redirected
            && verdict.decision == Decision::Handoff
        {
            return Ok(redirect(question, term, to));
        }
        // One bare term that every best entry has in its title (原产地, 担保): which of them?
        if verdict.decision == Decision::Answer
            && let [group] = query.groups.as_slice()
            && bare(&normalized) == group.word
            && answer::names_a_family(
                &group.word,
                hits.iter().map(|h| text::normalize(&index.entry(h.entry).title)),
            )
        {
            verdict.decision = Decision::Clarify;
            verdict.picks = (0..hits.len().min(t.max_choices)).collect();
        }
        // One product of one country: a person's lookup — unless the entry answered is about that
        // very product (日本水产品), and so holds its status.
        let specific = answer::specific_request(&normalized).filter(|&kind| {
            let held = kind == Specific::Admission
                && verdict.decision == Decision::Answer
                && hits.get(verdict.picks[0]).is_some_and(|h| {
                    let e = index.entry(h.entry);
                    let terms = std::iter::once(e.title.as_str()).chain(e.keywords.iter().map(String::as_str));
                    answer::holds_the_admission(&normalized, terms)
                });
            !held
        });
        let mut candidates: Vec<Candidate> = hits
            .iter()
            .zip(&scored)
            .map(|(h, s)| {
                let e = index.entry(h.entry);
                Candidate {
                    id: e.id.clone(),
                    title: e.title.clone(),
                    score: round3(answer::confidence(s)),
                }
            })
            .collect();
        if let Some(kind) = specific {
            // Background only: the best guess is named when it is at least plausible.
            let plausible = verdict.decision != Decision::Handoff;
            let background = if plausible {
                candidates.into_iter().take(1).collect()
            } else {
                Vec::new()
            };
            return Ok(handoff(
                question,
                HandoffReason::Specific(kind),
                background,
                verdict.confidence,
            ));
        }
        let reply = match verdict.decision {
            Decision::Answer => {
                let hit = &hits[verdict.picks[0]];
                let e = index.entry(hit.entry).clone();
                // A rule no longer in force is answered with the one that replaced it.
                let body = match hit.superseded {
                    Some(old) => Body::Superseded {
                        old: Box::new(index.entry(old).clone()),
                        entry: Box::new(e.clone()),
                    },
                    None => Body::Answer(Box::new(e.clone())),
                };
                Reply {
                    question: question.to_string(),
                    decision: Decision::Answer,
                    entry: Some(EntryRef {
                        id: e.id.clone(),
                        kind: e.kind,
                        title: e.title.clone(),
                    }),
                    candidates,
                    confidence: verdict.confidence,
                    body,
                }
            }
            Decision::Clarify => {
                // The offered choices first, then the rest in rank order.
                let offered: Vec<Candidate> = verdict.picks.iter().map(|&i| candidates[i].clone()).collect();
                let mut rest: Vec<Candidate> = candidates
                    .drain(..)
                    .enumerate()
                    .filter(|(i, _)| !verdict.picks.contains(i))
                    .map(|(_, c)| c)
                    .collect();
                let mut ordered = offered.clone();
                ordered.append(&mut rest);
                Reply {
                    question: question.to_string(),
                    decision: Decision::Clarify,
                    entry: None,
                    candidates: ordered,
                    confidence: verdict.confidence,
                    body: Body::Clarify(offered),
                }
            }
            _ => handoff(question, HandoffReason::NotSure, candidates, verdict.confidence),
        };
        Ok(reply)
    }

    /// The reply for one entry chosen directly (a clarify choice or a browsed topic).
    /// An entry no longer in force is answered by the one that supersedes it, if any.
    pub fn answer_entry(&self, id: &str) -> Option<Reply> {
        let index = self.index();
        let ord = index.position(id)?;
        let now = index.answers_for(ord, today())?;
        let mut reply = Reply::whole_entry(index.entry(now).clone());
        if now != ord {
            let entry = Box::new(index.entry(now).clone());
            reply.body = Body::Superseded {
                old: Box::new(index.entry(ord).clone()),
                entry,
            };
        }
        Some(reply)
    }

    /// Current entries of one kind, by title: (id, title).
    pub fn topics(&self, kind: Kind) -> Vec<(String, String)> {
        let index = self.index();
        let today = today();
        let mut out: Vec<(String, String)> = index
            .entries()
            .iter()
            .filter(|e| e.kind == kind && e.is_current(today))
            .map(|e| (e.id.clone(), e.title.clone()))
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    }
}

/// Checks every `every` whether another generation should be in service and switches to it;
/// questions in flight finish on the old one. `live` names the generation last published, as the
/// ticket store records it for every process (#15); when it names none (or cannot say), `CURRENT`
/// in the index folder decides. Runs until its task is stopped.
pub async fn watch_index<F>(assistant: Arc<Assistant>, every: std::time::Duration, live: F)
where
    F: Fn() -> anyhow::Result<Option<String>> + Send + Sync + 'static,
{
    let root = assistant.config().index.dir.clone();
    let live = Arc::new(live);
    // The same failure is logged once, not every few seconds.
    let mut last_error = None;
    loop {
        tokio::time::sleep(every).await;
        let (a, root, live) = (assistant.clone(), root.clone(), live.clone());
        let switched = tokio::task::spawn_blocking(move || {
            let named = live().unwrap_or_else(|e| {
                tracing::debug!(error = %format!("{e:#}"), "the live generation could not be read; following CURRENT");
                None
            });
            match named {
                Some(name) => a.reload_to(&root, &name),
                None => a.reload_if_changed(&root),
            }
        });
        match switched.await {
            Ok(Ok(true)) => {
                last_error = None;
                tracing::info!(generation = %assistant.index().generation_name(), "switched to the new index")
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                let e = format!("{e:#}");
                if last_error.as_ref() != Some(&e) {
                    tracing::warn!(error = %e, "a new index could not be opened; keeping the current one");
                    last_error = Some(e);
                }
            }
            Err(e) => tracing::warn!(error = %e, "index watcher failed"),
        }
    }
}

/// [`watch_index`] following `CURRENT` alone, on a task of its own (a process without a store).
pub fn spawn_index_watcher(assistant: Arc<Assistant>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(watch_index(assistant, every, || Ok(None)))
}

/// Gives memory freed by an old generation back to the system. The glibc allocator keeps freed
/// memory in per-thread arenas, so without this a long-running `serve` rests at its peak after each
/// reindex; see BENCHMARKS.md for the figures.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: malloc_trim has no preconditions; it only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

/// The reply when a question could not be kept at all (neither the question log nor its spool took
/// it): log-before-reply cannot be kept, so instead of an answer the person gets the calm hand-off
/// with the hotline.
pub fn unrecorded_reply(question: &str) -> Reply {
    handoff(question, HandoffReason::Internal, Vec::new(), 0.0)
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// Words of a filing with customs: a question naming another authority's matter (a business
/// licence, registering a company) that also has one of these asks about customs too. Filing
/// alone is not enough: 出口退税备案 is the tax authority's own filing.
const CUSTOMS_FILING: [&str; 8] = [
    "海关备案",
    "报关备案",
    "报关单位备案",
    "海关的备案",
    "海关登记",
    "海关注册",
    "报关注册",
    "报关注册登记",
];

/// The reply for a matter of another authority (`to`), shown by `term`.
fn redirect(question: &str, term: &str, to: &str) -> Reply {
    Reply {
        question: question.to_string(),
        decision: Decision::Handoff,
        entry: None,
        candidates: Vec::new(),
        confidence: 1.0,
        body: Body::Redirect {
            term: term.to_string(),
            to: to.to_string(),
        },
    }
}

fn handoff(question: &str, reason: HandoffReason, candidates: Vec<Candidate>, confidence: f32) -> Reply {
    Reply {
        question: question.to_string(),
        decision: Decision::Handoff,
        entry: None,
        candidates,
        confidence,
        body: Body::Handoff(reason),
    }
}

/// A question's letters and digits without a closing particle (原产地呢 → 原产地): what is left
/// of a question that is one bare term.
fn bare(normalized: &str) -> String {
    let core = text::letters(normalized);
    core.trim_end_matches(['呢', '吗', '啊', '呀']).to_string()
}
