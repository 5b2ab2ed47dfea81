//! `review why`: what a person was told for one logged question — the reply as sent, the entry
//! versions it came from, and whether each has changed since (against the knowledge folder now).

use serde::Serialize;

use super::cases::Cases;
use crate::app::load_knowledge;
use crate::tickets::{EntryVersion, Told};

/// What became of an entry a reply used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "since", rename_all = "snake_case")]
pub enum Since {
    /// The knowledge folder holds the same content.
    Unchanged,
    /// Edited since: its `updated` date and content hash now.
    Changed { updated: String, hash: String },
    /// No entry has that id any more.
    Removed,
}

impl Since {
    /// For operators.
    pub fn label(&self) -> String {
        match self {
            Since::Unchanged => "此后未修改".into(),
            Since::Changed { updated, hash } => format!("此后已修改（现为 {updated} 版，内容 {hash}）"),
            Since::Removed => "此后已删除".into(),
        }
    }
}

/// A logged question, what it was told and where that came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Why {
    #[serde(flatten)]
    pub told: Told,
    /// Each entry used, as used then and what became of it.
    pub entries: Vec<(EntryVersion, Since)>,
}

/// What logged question `id` was told; None when there is no such question.
pub fn why(cases: &Cases, id: i64) -> anyhow::Result<Option<Why>> {
    let Some(told) = cases.store().question_told(id)? else {
        return Ok(None);
    };
    let now = load_knowledge(cases.config()).knowledge;
    let entries = told
        .provenance
        .iter()
        .flat_map(|p| &p.entries)
        .map(|v| {
            let since = match now.entries.iter().find(|e| e.id == v.id) {
                None => Since::Removed,
                Some(e) if e.content_hash() == v.hash => Since::Unchanged,
                Some(e) => Since::Changed {
                    updated: e.updated.to_string(),
                    hash: e.content_hash(),
                },
            };
            (v.clone(), since)
        })
        .collect();
    Ok(Some(Why { told, entries }))
}
