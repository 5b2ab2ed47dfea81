//! Knowledge changes made through the desk: reindex (validate, build a generation, switch) and
//! promotion of a ticket into knowledge. Synchronous (the CLI calls them as they are); a running
//! assistant picks the new generation up through [`super::Desk::reload`] or its index watcher.

use std::path::PathBuf;

use anyhow::Context as _;

use super::cases::Cases;
use crate::app::{load_knowledge, today};
use crate::config::Config;
use crate::index::{self, BuildReport};
use crate::knowledge::{Kind, edit};
use crate::tickets::CloseReason;

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

/// A validated reindex: the knowledge's problems (warnings only) and the generation built.
#[derive(Debug)]
pub struct Reindexed {
    pub warnings: Vec<String>,
    pub report: BuildReport,
}

/// Validates the knowledge folder and, when it has no errors, builds a new generation and switches
/// to it atomically. With errors nothing is built and the previous index keeps serving.
pub fn reindex(config: &Config) -> Result<Reindexed, ReindexError> {
    let loaded = load_knowledge(config);
    if loaded.has_errors() {
        return Err(ReindexError::Invalid {
            problems: loaded.problems.iter().map(|p| p.to_string()).collect(),
            errors: loaded.errors().count(),
        });
    }
    let report = index::build(&loaded.knowledge, &config.index.dir)?;
    Ok(Reindexed {
        warnings: loaded.problems.iter().map(|p| p.to_string()).collect(),
        report,
    })
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
    pub index: BuildReport,
}

/// Turns a ticket into knowledge: a plain edit of `knowledge/` (validated like any other; undone
/// when validation fails), an atomic reindex that a running bot picks up, and the ticket closed as
/// promoted.
pub fn promote(cases: &Cases, ticket_id: i64, target: PromoteTarget) -> anyhow::Result<Promoted> {
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
    if loaded.has_errors() {
        let problems: Vec<String> = loaded.errors().map(|p| p.to_string()).collect();
        let path = edit.path.clone();
        edit.revert()
            .with_context(|| format!("undoing the edit of {}", path.display()))?;
        anyhow::bail!(
            "the promotion was undone because the knowledge folder would not validate:\n{}",
            problems.join("\n")
        );
    }
    let report = index::build(&loaded.knowledge, &config.index.dir)?;
    cases
        .store()
        .close_ticket(ticket_id, CloseReason::Promoted, Some(&entry))?;
    Ok(Promoted {
        entry,
        path: edit.path,
        index: report,
    })
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
