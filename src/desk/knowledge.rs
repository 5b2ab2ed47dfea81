//! Knowledge changes made through the desk: reindex (validate, build a generation, pass the
//! regression gate, switch) and promotion of a ticket into knowledge (the same gate). Every one is
//! recorded in the audit trail. Synchronous (the CLI calls them as they are); a running assistant
//! picks the new generation up through `Desk::reload` or its index watcher.

use std::path::PathBuf;

use anyhow::Context as _;

use super::cases::Cases;
use crate::app::{Assistant, load_knowledge, today};
use crate::config::Config;
use crate::gate::{self, EntryDiff};
use crate::index::{self, BuildReport, SearchIndex};
use crate::knowledge::{Kind, Loaded, edit};
use crate::reply::Reply;
use crate::tickets::{CloseReason, EntryVersion, KnowledgeChange, Provenance, TicketStore};

/// Why a reindex did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReindexError {
    /// The knowledge folder does not validate: every problem (errors and warnings) as
    /// `path:line: what — fix`, and how many are errors. The previous index keeps serving.
    #[error("the knowledge folder has {errors} error(s):\n{}", .problems.join("\n"))]
    Invalid { problems: Vec<String>, errors: usize },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What a reindex may do when the regression gate refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Switch only when the gate passes.
    Gated,
    /// Switch even when the gate refuses (an operator accepted the diff). With a fingerprint, only
    /// when the knowledge is still the one whose diff was accepted; otherwise as `Gated`.
    Accept(Option<String>),
    /// Show what would change; switch nothing, record nothing.
    DryRun,
}

/// How a reindex ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The new generation is in service (the gate passed, or there was nothing to compare with).
    Switched,
    /// The gate refused and an operator accepted: the new generation is in service.
    Accepted,
    /// The gate refused: the previous generation keeps serving.
    Refused,
    /// A dry run: nothing switched.
    DryRun,
}

impl Outcome {
    pub fn published(self) -> bool {
        matches!(self, Outcome::Switched | Outcome::Accepted)
    }
}

/// A validated reindex: the knowledge's warnings, what changed and the gate's report.
#[derive(Debug)]
pub struct Reindexed {
    pub warnings: Vec<String>,
    pub outcome: Outcome,
    /// The generation built (in service when the outcome is published; removed otherwise).
    pub report: BuildReport,
    /// Entries added / changed / removed against the generation in service.
    pub diff: EntryDiff,
    /// The gate's report; None when there was no generation to compare with.
    pub gate: Option<gate::Report>,
    /// The knowledge fingerprint built: what a confirm step sends back to accept this diff.
    pub fingerprint: String,
}

impl Reindexed {
    /// The diff and the gate's report for people, one line each.
    pub fn lines(&self) -> Vec<String> {
        match &self.gate {
            Some(g) => std::iter::once(self.diff.line()).chain(g.lines()).collect(),
            None => vec![format!(
                "no index in service to compare with: {} entries, nothing replayed",
                self.report.entries
            )],
        }
    }
}

/// Who makes a change from the command line: `cli:$USER`.
pub fn cli_user() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Validates the knowledge folder and, when it has no errors, builds a new generation, replays the
/// labelled sets and the questions people asked (from `store`) on it and on the generation in
/// service, and switches when the gate passes (or `mode` accepts). Recorded in the audit trail as
/// made by `who`. With errors nothing is built and the previous index keeps serving.
pub fn reindex(
    config: &Config,
    store: Option<&dyn TicketStore>,
    who: &str,
    mode: Mode,
) -> Result<Reindexed, ReindexError> {
    let loaded = load_knowledge(config);
    if loaded.has_errors() {
        return Err(invalid(&loaded));
    }
    publish(config, store, &loaded, who, "reindex", mode, None)
}

fn invalid(loaded: &Loaded) -> ReindexError {
    ReindexError::Invalid {
        problems: loaded.problems.iter().map(|p| p.to_string()).collect(),
        errors: loaded.errors().count(),
    }
}

/// Builds, gates and (unless refused or a dry run) switches to a generation of `loaded`, and
/// records the change. `made_here` is the entry the change itself made through customs-bot (a
/// promotion); every other difference was made in the files directly.
fn publish(
    config: &Config,
    store: Option<&dyn TicketStore>,
    loaded: &Loaded,
    who: &str,
    action: &str,
    mode: Mode,
    made_here: Option<&str>,
) -> Result<Reindexed, ReindexError> {
    let mut warnings: Vec<String> = loaded.problems.iter().map(|p| p.to_string()).collect();
    let sets = gate::checks::load(&config.knowledge.dir).map_err(|e| ReindexError::Invalid {
        problems: vec![e],
        errors: 1,
    })?;
    let knowledge = &loaded.knowledge;
    let root = &config.index.dir;
    let previous = match index::current_meta(root).map(|_| SearchIndex::open(root)) {
        Some(Ok(index)) => Some(index),
        Some(Err(e)) => {
            warnings.push(format!(
                "the index in service cannot be opened ({e:#}): there is nothing to compare the new one with"
            ));
            None
        }
        None => None,
    };
    let staged = index::stage(knowledge, root)?;
    let mut accept = false;
    if let Mode::Accept(fingerprint) = &mode {
        accept = fingerprint.as_ref().is_none_or(|f| *f == knowledge.fingerprint);
        if !accept {
            warnings.push(
                "the knowledge changed since the diff that was accepted: review this one (nothing was switched unless it passes)"
                    .into(),
            );
        }
    }
    let (before, diff, report) = match previous {
        None => (None, EntryDiff::between(&[], &knowledge.entries), None),
        Some(old) => {
            let new = staged.open(Some(&old))?;
            let mut diff = EntryDiff::between(old.entries(), new.entries());
            diff.lexicon = old.lexicon() != new.lexicon();
            let before = old.meta().fingerprint.clone();
            let logged = match store {
                Some(st) => st
                    .asked_questions(config.governance.replay_days, config.governance.replay_limit)
                    .context("reading the questions people asked (the question log)")?,
                None => Vec::new(),
            };
            let (old, new) = (Assistant::new(config.clone(), old), Assistant::new(config.clone(), new));
            let report = gate::replay(&old, &new, &sets, &logged, config.governance.replay_days);
            (Some(before), diff, Some(report))
        }
    };
    let refused = report.as_ref().is_some_and(gate::Report::refused);
    let outcome = match mode {
        Mode::DryRun => Outcome::DryRun,
        _ if !refused => Outcome::Switched,
        _ if accept => Outcome::Accepted,
        _ => Outcome::Refused,
    };
    let build = staged.report().clone();
    let build = if outcome.published() { staged.publish()? } else { build };
    if outcome.published()
        && let Some(st) = store
        && let Err(e) = record_live(st, &build.generation)
    {
        // Published: the other processes find it through `CURRENT` once the store names it.
        tracing::error!(error = %format!("{e:#}"), "could not record the live index generation");
        warnings.push(format!(
            "the new generation could not be recorded as live in the ticket store: {e:#}"
        ));
    }
    let mut done = Reindexed {
        warnings,
        outcome,
        report: build,
        diff,
        gate: report,
        fingerprint: knowledge.fingerprint.clone(),
    };
    if outcome != Outcome::DryRun
        && let Some(st) = store
    {
        let change = KnowledgeChange {
            who: who.to_string(),
            action: action.to_string(),
            fingerprint_before: before,
            fingerprint_after: knowledge.fingerprint.clone(),
            added: done.diff.added.clone(),
            changed: done.diff.changed.clone(),
            removed: done.diff.removed.clone(),
            // A first build has no earlier knowledge to have been changed from.
            outside: match &done.gate {
                None => Vec::new(),
                Some(_) => done
                    .diff
                    .all()
                    .into_iter()
                    .filter(|id| Some(id.as_str()) != made_here)
                    .chain(done.diff.lexicon.then(|| gate::LEXICON.to_string()))
                    .collect(),
            },
            gate: match (&done.gate, outcome) {
                (None, _) => "first",
                (_, Outcome::Accepted) => "accepted",
                (_, Outcome::Refused) => "refused",
                _ => "passed",
            }
            .to_string(),
            detail: done.lines().join("\n"),
            ..Default::default()
        };
        // The switch has happened (or was refused) whatever the store says: a record that cannot
        // be kept is said, not turned into a failure of what was done.
        if let Err(e) = st.record_change(&change) {
            tracing::error!(error = %format!("{e:#}"), "could not record the knowledge change in the audit trail");
            done.warnings
                .push(format!("the change could not be recorded in the audit trail: {e:#}"));
        }
    }
    Ok(done)
}

/// Records the generation just published as live, so that every process loads it (#15).
fn record_live(store: &dyn TicketStore, generation: &std::path::Path) -> anyhow::Result<()> {
    let name = generation
        .file_name()
        .and_then(|n| n.to_str())
        .context("the published generation has no folder name")?;
    store.set_live_generation(name)
}

/// Where a promoted ticket goes.
#[derive(Debug, Clone)]
pub enum PromoteTarget {
    /// Add the ticket's question to this entry's alternate questions.
    To(String),
    /// Write a new entry from the operator's answer.
    New {
        id: String,
        kind: Kind,
        title: Option<String>,
    },
}

/// What a promotion did.
#[derive(Debug)]
pub struct Promoted {
    pub entry: String,
    pub path: PathBuf,
    /// The reindex that followed; when the gate refused it (and it was not accepted), the edit
    /// was undone and the ticket stays open.
    pub index: Reindexed,
}

/// Turns a ticket into knowledge: a plain edit of `knowledge/` (validated like any other; undone
/// when validation fails), a gated atomic reindex that a running bot picks up, and the ticket
/// closed as promoted. When the gate refuses and `accept` is false, the edit is undone, the ticket
/// stays open and the gate's report says why.
pub fn promote(
    cases: &Cases,
    ticket_id: i64,
    target: PromoteTarget,
    who: &str,
    accept: bool,
) -> anyhow::Result<Promoted> {
    let config = cases.config();
    let ticket = cases.ticket(ticket_id)?;
    let (entry, edit) =
        match &target {
            PromoteTarget::To(id) => {
                let loaded = load_knowledge(config);
                let e =
                    loaded.knowledge.entries.iter().find(|e| &e.id == id).ok_or_else(|| {
                        anyhow::anyhow!("there is no entry `{id}` in {}", config.knowledge.dir.display())
                    })?;
                (
                    id.clone(),
                    edit::add_question(std::path::Path::new(&e.source), &ticket.question)?,
                )
            }
            PromoteTarget::New { id, kind, title } => {
                let answer = ticket.answer.as_deref().ok_or_else(|| {
                    anyhow::anyhow!(
                        "ticket {} has no answer yet: answer it first (review answer), then promote it",
                        ticket.number()
                    )
                })?;
                let title = title.clone().unwrap_or_else(|| ticket.question.clone());
                let written = edit::new_entry(
                    &config.knowledge.dir,
                    id,
                    *kind,
                    &title,
                    &ticket.question,
                    answer,
                    today(),
                )?;
                (id.clone(), written)
            }
        };
    let loaded = load_knowledge(config);
    let path = edit.path.clone();
    let undo = |edit: edit::Edit| {
        edit.revert()
            .with_context(|| format!("undoing the edit of {}", path.display()))
    };
    if loaded.has_errors() {
        let problems: Vec<String> = loaded.errors().map(|p| p.to_string()).collect();
        undo(edit)?;
        anyhow::bail!(
            "the promotion was undone because the knowledge folder would not validate:\n{}",
            problems.join("\n")
        );
    }
    let mode = if accept { Mode::Accept(None) } else { Mode::Gated };
    let store = cases.store().as_ref();
    let index = match publish(config, Some(store), &loaded, who, "promote", mode, Some(&entry)) {
        Ok(done) => done,
        Err(e) => {
            undo(edit)?;
            return Err(anyhow::anyhow!("{e}"));
        }
    };
    if index.outcome.published() {
        store.close_ticket(ticket_id, CloseReason::Promoted, Some(&entry))?;
    } else {
        undo(edit)?;
    }
    Ok(Promoted { entry, path, index })
}

/// Where a reply came from, for the question log: the generation in service and each entry used
/// (its id, `updated` date and content hash), with the reply as sent in plain text.
pub(super) fn provenance(assistant: &Assistant, reply: &Reply) -> Provenance {
    Provenance {
        generation: assistant.index().generation_name(),
        reply: reply.plain(&assistant.config().office),
        entries: reply
            .entries_used()
            .into_iter()
            .map(|e| EntryVersion {
                id: e.id.clone(),
                updated: e.updated.to_string(),
                hash: e.content_hash(),
            })
            .collect(),
    }
}

impl super::Desk {
    /// Promotes a ticket into knowledge (through the regression gate, unless `accept`) and puts the
    /// new index in service at once.
    pub async fn promote(&self, id: i64, target: PromoteTarget, who: String, accept: bool) -> anyhow::Result<Promoted> {
        let (cases, a) = (self.cases.clone(), self.assistant.clone());
        tokio::task::spawn_blocking(move || {
            let done = promote(&cases, id, target, &who, accept)?;
            super::reload(&a)?;
            Ok(done)
        })
        .await?
    }

    /// Validates the knowledge, builds a new generation, passes it through the regression gate and
    /// puts it in service at once (or not, see [`Mode`]).
    pub async fn reindex(&self, who: String, mode: Mode) -> Result<Reindexed, ReindexError> {
        let (cases, a) = (self.cases.clone(), self.assistant.clone());
        tokio::task::spawn_blocking(move || {
            let done = reindex(a.config(), Some(cases.store().as_ref()), &who, mode)?;
            super::reload(&a)?;
            Ok(done)
        })
        .await
        .map_err(|e| ReindexError::Other(anyhow::anyhow!("{e}")))?
    }
}

/// Questions added to an entry, not yet reindexed: the caller reindexes through the desk (so every
/// check on a reindex applies) and calls [`Staged::revert`] when that fails.
#[derive(Debug)]
pub struct Staged {
    pub entry: String,
    pub path: PathBuf,
    /// How many of the questions were new to the entry.
    pub added: usize,
    edit: edit::Edit,
}

impl Staged {
    /// Restores the entry file as it was.
    pub fn revert(self) -> anyhow::Result<()> {
        let path = self.path.clone();
        self.edit
            .revert()
            .with_context(|| format!("undoing the edit of {}", path.display()))
    }
}

/// Adds `questions` (those the entry does not have yet) to the entry `entry`'s ways of asking,
/// through the same edit as a promotion, and validates the folder like a promotion: when it would
/// not validate (a question already under another entry …) the edit is undone and the problems
/// are the error.
pub fn add_questions(config: &Config, entry: &str, questions: &[String]) -> anyhow::Result<Staged> {
    let loaded = load_knowledge(config);
    let e = loaded
        .knowledge
        .entries
        .iter()
        .find(|e| e.id == entry)
        .ok_or_else(|| anyhow::anyhow!("there is no entry `{entry}` in {}", config.knowledge.dir.display()))?;
    let mut known: Vec<String> = e
        .questions
        .iter()
        .chain([&e.title])
        .map(|q| crate::text::normalize(q))
        .collect();
    let mut new = Vec::new();
    for q in questions.iter().map(|q| q.trim()).filter(|q| !q.is_empty()) {
        let n = crate::text::normalize(q);
        if !known.contains(&n) {
            known.push(n);
            new.push(q);
        }
    }
    if new.is_empty() {
        anyhow::bail!("`{entry}` already has all of these questions");
    }
    let path = PathBuf::from(&e.source);
    let first = edit::add_question(&path, new[0])?;
    for q in &new[1..] {
        if let Err(err) = edit::add_question(&path, q) {
            first.revert()?;
            return Err(err);
        }
    }
    let staged = Staged {
        entry: entry.to_string(),
        path,
        added: new.len(),
        edit: first,
    };
    let loaded = load_knowledge(config);
    if loaded.has_errors() {
        let problems: Vec<String> = loaded.errors().map(|p| p.to_string()).collect();
        staged.revert()?;
        anyhow::bail!(
            "the questions were not added because the knowledge folder would not validate:\n{}",
            problems.join("\n")
        );
    }
    Ok(staged)
}
