//! Operators' insight through the desk: gaps, helpfulness and trends computed on blocking threads
//! (`crate::insight` does the grouping), and what an operator does from a gap — add its questions
//! to an entry, or draft a new entry from the operators' answers and publish it. Every knowledge
//! change is reindexed through [`Desk::reindex`], so whatever checks a reindex makes apply, and is
//! undone when the reindex refuses it.

use std::path::PathBuf;

use super::Desk;
use super::knowledge::{self, Mode, Reindexed};
use crate::app::today;
use crate::insight::{self, Day, EntryHelpfulness, Gap};
use crate::knowledge::{Kind, Problem, drafts};

/// How many of a gap's questions go into a draft.
const DRAFT_QUESTIONS: usize = 20;

/// Questions of a gap added to an entry and in service.
#[derive(Debug)]
pub struct GapAdded {
    pub entry: String,
    pub path: PathBuf,
    pub added: usize,
    pub index: Reindexed,
}

/// A draft published and in service.
#[derive(Debug)]
pub struct DraftPublished {
    pub id: String,
    pub path: PathBuf,
    pub index: Reindexed,
}

impl Desk {
    /// The knowledge gaps of the last `days` days, most people first.
    pub async fn gaps(&self, days: u32) -> Option<Vec<Gap>> {
        let index = self.assistant.index();
        self.store("find the knowledge gaps", move |st| {
            insight::load_gaps(st, index.analyzer(), days, chrono::Utc::now())
        })
        .await
    }

    /// One gap by its key, as it stands now.
    pub async fn gap(&self, days: u32, key: &str) -> Option<Gap> {
        self.gaps(days).await?.into_iter().find(|g| g.key == key)
    }

    /// Helpfulness per entry over the last `days` days, least helpful first.
    pub async fn helpfulness(&self, days: u32) -> Option<Vec<EntryHelpfulness>> {
        let idle = chrono::Duration::minutes(self.assistant.config().conversation.idle_minutes as i64);
        self.store("count helpfulness per entry", move |st| {
            insight::load_helpfulness(st, days, idle, chrono::Utc::now())
        })
        .await
    }

    /// Per-day figures over the last `days` days, for all channels and each one.
    pub async fn trends(&self, days: u32) -> Option<Vec<Day>> {
        let (cases, clock) = (self.cases.clone(), self.assistant.config().office_clock());
        self.store("count the trends", move |st| {
            insight::load_trends(st, clock, days, chrono::Utc::now(), &|t, at| cases.overdue_at(t, at))
        })
        .await
    }

    /// Adds the questions of gap `key` (of the last `days` days) to the entry `entry`: validated
    /// like a promotion, then reindexed through the regression gate as `who` (published anyway with
    /// `accept`); undone when either fails or the gate refuses (`index.outcome` says which).
    pub async fn gap_to_entry(
        &self,
        days: u32,
        key: &str,
        entry: &str,
        who: String,
        accept: bool,
    ) -> anyhow::Result<GapAdded> {
        let gap = self.gap(days, key).await.ok_or_else(gone)?;
        let (config, entry) = (self.assistant.config().clone(), entry.trim().to_string());
        let staged =
            tokio::task::spawn_blocking(move || knowledge::add_questions(&config, &entry, &gap.distinct_questions()))
                .await??;
        match self.reindex(who, mode(accept)).await {
            Ok(index) => {
                let added = GapAdded {
                    entry: staged.entry.clone(),
                    path: staged.path.clone(),
                    added: staged.added,
                    index,
                };
                if !added.index.outcome.published() {
                    staged.revert()?;
                }
                Ok(added)
            }
            Err(e) => {
                staged.revert()?;
                Err(anyhow::anyhow!("the questions were not added: {e}"))
            }
        }
    }

    /// Starts a new entry draft `id` from gap `key`: its most asked question as the title, its
    /// questions as the ways of asking, the operators' answers as the body. Returns the draft's
    /// path; it is served only once published.
    pub async fn gap_draft(&self, days: u32, key: &str, id: &str, kind: Kind) -> anyhow::Result<PathBuf> {
        let gap = self.gap(days, key).await.ok_or_else(gone)?;
        let (dir, id) = (self.assistant.config().knowledge.dir.clone(), id.trim().to_string());
        tokio::task::spawn_blocking(move || {
            let questions = gap.distinct_questions();
            let asked: Vec<&str> = questions.iter().take(DRAFT_QUESTIONS).map(String::as_str).collect();
            let title = asked.first().copied().unwrap_or_default();
            drafts::write(&dir, &id, kind, title, &asked, &gap.answers.join("\n\n"), today())
        })
        .await?
    }

    /// The drafts waiting to be published.
    pub fn drafts(&self) -> Vec<String> {
        drafts::list(&self.assistant.config().knowledge.dir)
    }

    /// A draft's text and its problems (checked as if published).
    pub async fn draft(&self, id: &str) -> anyhow::Result<(String, Vec<Problem>)> {
        let (config, id) = (self.assistant.config().clone(), id.to_string());
        tokio::task::spawn_blocking(move || {
            let dir = &config.knowledge.dir;
            let text = drafts::read(dir, &id)?;
            Ok((text, drafts::check(dir, &id, &config.placeholder_names(), today())?))
        })
        .await?
    }

    /// Saves an operator's edit of a draft.
    pub async fn save_draft(&self, id: &str, text: String) -> anyhow::Result<()> {
        let (dir, id) = (self.assistant.config().knowledge.dir.clone(), id.to_string());
        tokio::task::spawn_blocking(move || drafts::save(&dir, &id, &text)).await?
    }

    /// Publishes a draft: moves it into its kind's folder and reindexes through the regression gate
    /// as `who` (published anyway with `accept`); moved back when the folder would not validate or
    /// the gate refuses (`index.outcome` says which).
    pub async fn publish_draft(&self, id: &str, who: String, accept: bool) -> anyhow::Result<DraftPublished> {
        let (config, id) = (self.assistant.config().clone(), id.to_string());
        let moved = tokio::task::spawn_blocking(move || {
            let problems = drafts::check(&config.knowledge.dir, &id, &config.placeholder_names(), today())?;
            let errors: Vec<String> = problems
                .iter()
                .filter(|p| p.is_error())
                .map(|p| p.to_string())
                .collect();
            if !errors.is_empty() {
                anyhow::bail!("the draft does not validate:\n{}", errors.join("\n"));
            }
            drafts::publish(&config.knowledge.dir, &id)
        })
        .await??;
        match self.reindex(who, mode(accept)).await {
            Ok(index) => {
                let published = DraftPublished {
                    id: moved.id.clone(),
                    path: moved.to.clone(),
                    index,
                };
                if !published.index.outcome.published() {
                    moved.revert()?;
                }
                Ok(published)
            }
            Err(e) => {
                moved.revert()?;
                Err(anyhow::anyhow!("the draft was not published: {e}"))
            }
        }
    }
}

/// Through the regression gate, or past it when the operator accepted its diff.
fn mode(accept: bool) -> Mode {
    if accept { Mode::Accept(None) } else { Mode::Gated }
}

fn gone() -> anyhow::Error {
    anyhow::anyhow!(
        "this gap is no longer in the period (its questions were answered, purged or regrouped): reload the gaps"
    )
}
