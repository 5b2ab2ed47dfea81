//! What the store keeps so that knowledge can be trusted: where each logged answer came from
//! ([`Provenance`], shown by [`Told`]) and the audit trail of knowledge changes
//! ([`KnowledgeChange`]). Plain records; the desk decides what goes in them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a logged reply came from: the index generation, the reply as sent and the entries used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The index generation's folder name (`gen-…`).
    pub generation: String,
    /// The reply as sent, in plain text (masked when written, like the question).
    pub reply: String,
    /// Each entry the reply used, as it was then.
    pub entries: Vec<EntryVersion>,
}

/// One entry as a reply used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryVersion {
    pub id: String,
    /// Its `updated` date (YYYY-MM-DD).
    pub updated: String,
    /// Its content hash (`Entry::content_hash`).
    pub hash: String,
}

/// What a person was told for one logged question: `review why`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Told {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub channel: String,
    pub chat: String,
    pub question: String,
    pub decision: String,
    pub entry: Option<String>,
    /// None for questions logged before provenance was kept.
    pub provenance: Option<Provenance>,
    /// Operators' answers to tickets opened for the question, as relayed (masked), with who wrote them.
    pub operator_answers: Vec<OperatorAnswer>,
}

/// An operator's answer to a ticket, as stored and relayed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatorAnswer {
    pub ticket: i64,
    pub answer: String,
    pub by: String,
    pub answered_at: Option<DateTime<Utc>>,
    pub relayed_at: Option<DateTime<Utc>>,
}

/// One knowledge change in the audit trail: a reindex or a promotion (also one refused by the
/// regression gate). `id` and `at` are set by the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeChange {
    pub id: i64,
    pub at: Option<DateTime<Utc>>,
    /// The operator's name, or `cli:$USER`.
    pub who: String,
    /// `reindex` or `promote`.
    pub action: String,
    /// The knowledge fingerprint of the generation in service before (none for a first build).
    pub fingerprint_before: Option<String>,
    pub fingerprint_after: String,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Of the entries above, those edited in the files directly (not through customs-bot), and
    /// `lexicon/` when the lexicon changed.
    pub outside: Vec<String>,
    /// `first` (nothing to compare with), `passed`, `accepted` (refused, then accepted), `refused`.
    pub gate: String,
    /// The gate's figures and changed questions, as printed for people.
    pub detail: String,
}

impl KnowledgeChange {
    /// Whether the change touched entry `id`.
    pub fn touches(&self, id: &str) -> bool {
        [&self.added, &self.changed, &self.removed]
            .iter()
            .any(|list| list.iter().any(|e| e == id))
    }
}
