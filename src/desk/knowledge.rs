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
