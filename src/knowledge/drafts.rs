//! Entry drafts: `knowledge/drafts/<id>.md`, entries being written that are not served yet.
//!
//! A draft has the format of an entry and is never read as one (the walk skips `drafts/`; the
//! fingerprint ignores it). [`check`] validates a draft as if it were published beside the current
//! entries (its id and questions must not collide with theirs), and `customs-bot check` reports
//! every draft's problems. [`publish`] moves a draft to `<kind>/<id>.md` — an edit of the folder
//! like any other, undone with [`Published::revert`] when the folder would not validate or build.
//! Every path comes from an id checked by [`entry::is_valid_id`](super::entry::is_valid_id), so
//! nothing outside `drafts/` and the kind folders is ever touched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;

use super::{Kind, Problem, edit, entry};

/// The drafts' folder, inside the knowledge folder.
pub const DRAFTS: &str = "drafts";

/// A draft's file: `<dir>/drafts/<id>.md`, for a valid entry id only.
pub fn path(dir: &Path, id: &str) -> anyhow::Result<PathBuf> {
    if !entry::is_valid_id(id) {
        bail!(
            "`{id}` is not a valid entry id: use a-z, 0-9 and - only (at most {} characters), e.g. faq-parcel-tax",
            entry::MAX_ID_LEN
        );
    }
    Ok(dir.join(DRAFTS).join(format!("{id}.md")))
}

/// The ids of the drafts in `dir` (files `drafts/<valid id>.md`), sorted.
pub fn list(dir: &Path) -> Vec<String> {
    let Ok(items) = std::fs::read_dir(dir.join(DRAFTS)) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = items
        .filter_map(|i| i.ok())
        .filter(|i| i.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|i| i.file_name().to_str()?.strip_suffix(".md").map(str::to_string))
        .filter(|id| entry::is_valid_id(id))
        .collect();
    ids.sort();
    ids
}

/// Writes a new draft from a title, the ways people asked and an answer. Refuses an id that is
/// already a draft or a published entry's file.
pub fn write(
    dir: &Path,
    id: &str,
    kind: Kind,
    title: &str,
    questions: &[&str],
    answer: &str,
    today: NaiveDate,
) -> anyhow::Result<PathBuf> {
    let path = path(dir, id)?;
    if path.exists() {
        bail!(
            "the draft {} already exists: open it, or choose another id",
            path.display()
        );
    }
    if published(dir, id).is_some() {
        bail!("`{id}` is already an entry: choose another id");
    }
    if answer.trim().is_empty() {
        bail!("there is no answer to draft the entry from: answer one of its tickets first");
    }
    std::fs::create_dir_all(dir.join(DRAFTS)).with_context(|| format!("creating {}/{DRAFTS}", dir.display()))?;
    std::fs::write(&path, edit::entry_text(id, kind, title, questions, answer, today))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A published entry file named `<kind>/<id>.md`, if there is one.
fn published(dir: &Path, id: &str) -> Option<PathBuf> {
    Kind::ALL
        .iter()
        .map(|k| dir.join(k.as_str()).join(format!("{id}.md")))
        .find(|p| p.exists())
}

/// A draft's text.
pub fn read(dir: &Path, id: &str) -> anyhow::Result<String> {
    let path = path(dir, id)?;
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// Replaces an existing draft's text (an operator's edit).
pub fn save(dir: &Path, id: &str, text: &str) -> anyhow::Result<()> {
    let path = path(dir, id)?;
    if !path.is_file() {
        bail!("there is no draft `{id}`");
    }
    let text = text.replace("\r\n", "\n");
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// Every problem of the draft `id`, checked as if it were published beside the folder's entries.
pub fn check(dir: &Path, id: &str, placeholders: &BTreeSet<String>, today: NaiveDate) -> anyhow::Result<Vec<Problem>> {
    let path = path(dir, id)?;
    if !path.is_file() {
        bail!("there is no draft `{id}`");
    }
    let loaded = super::load_with(dir, placeholders, today, std::slice::from_ref(&path));
    let shown = Path::new(&dir.display().to_string())
        .join(DRAFTS)
        .join(format!("{id}.md"))
        .display()
        .to_string();
    let mut problems: Vec<Problem> = loaded.problems.into_iter().filter(|p| p.path == shown).collect();
    // The file name is the id people will see in `git diff`: they must agree.
    if let (Some((e, lines)), _) = entry::parse(&shown, &std::fs::read_to_string(&path)?)
        && e.id != id
    {
        problems.push(Problem::error(
            &shown,
            lines.id,
            format!("the draft's id `{}` is not its file name `{id}.md`", e.id),
            "keep the id the draft was created with (or create a new draft)",
        ));
    }
    Ok(problems)
}

/// A draft moved into the served folder, and how to undo it.
#[derive(Debug)]
pub struct Published {
    pub id: String,
    pub kind: Kind,
    pub from: PathBuf,
    pub to: PathBuf,
}

impl Published {
    /// Moves the entry back to the drafts.
    pub fn revert(&self) -> std::io::Result<()> {
        std::fs::rename(&self.to, &self.from)
    }
}

/// Moves the draft `id` to `<kind>/<id>.md` (its kind as the draft says). The caller validates and
/// reindexes, and reverts when either fails.
pub fn publish(dir: &Path, id: &str) -> anyhow::Result<Published> {
    let from = path(dir, id)?;
    let text = std::fs::read_to_string(&from).with_context(|| format!("reading {}", from.display()))?;
    let (parsed, problems) = entry::parse(&from.display().to_string(), &text);
    let Some((e, _)) = parsed.filter(|_| problems.iter().all(|p| !p.is_error())) else {
        bail!("the draft `{id}` does not validate: run check and fix it first");
    };
    if e.id != id {
        bail!("the draft's id `{}` is not its file name `{id}.md`", e.id);
    }
    if let Some(existing) = published(dir, id) {
        bail!("{} already exists", existing.display());
    }
    let folder = dir.join(e.kind.as_str());
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let to = folder.join(format!("{id}.md"));
    std::fs::rename(&from, &to).with_context(|| format!("moving {} to {}", from.display(), to.display()))?;
    Ok(Published {
        id: id.to_string(),
        kind: e.kind,
        from,
        to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("faq")).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        std::fs::write(
            dir.path().join("faq/faq-old.md"),
            edit::entry_text("faq-old", Kind::Faq, "旧条目", &["旧问题"], "旧答复。", today),
        )
        .unwrap();
        dir
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn a_draft_is_checked_beside_the_entries_and_published_into_its_kind() {
        let dir = folder();
        let k = dir.path();
        let path = write(
            k,
            "faq-new",
            Kind::Faq,
            "新条目",
            &["新问题一", "新问题二"],
            "答复。",
            day(),
        )
        .unwrap();
        assert_eq!(path, k.join("drafts/faq-new.md"));
        assert_eq!(list(k), vec!["faq-new"]);
        // Not an entry while it is a draft.
        let loaded = crate::knowledge::load(k, &BTreeSet::new(), day());
        assert_eq!(loaded.knowledge.entries.len(), 1);
        assert!(check(k, "faq-new", &BTreeSet::new(), day()).unwrap().is_empty());
        // A question that another entry has is an error on the draft.
        save(k, "faq-new", &read(k, "faq-new").unwrap().replace("新问题二", "旧问题")).unwrap();
        let problems = check(k, "faq-new", &BTreeSet::new(), day()).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].path.ends_with("drafts/faq-new.md") && problems[0].what.contains("旧问题"));
        assert!(publish(k, "faq-nope").is_err());
        let done = publish(k, "faq-new").unwrap();
        assert_eq!(done.to, k.join("faq/faq-new.md"));
        assert!(!path.exists());
        done.revert().unwrap();
        assert!(path.exists());
    }

    #[test]
    fn ids_that_are_not_plain_names_never_become_paths() {
        let dir = folder();
        for id in ["../x", "a/b", "", "X", "x.md"] {
            assert!(path(dir.path(), id).is_err(), "{id}");
            assert!(write(dir.path(), id, Kind::Faq, "t", &["q"], "a", day()).is_err());
            assert!(save(dir.path(), id, "x").is_err());
        }
        assert!(
            write(dir.path(), "faq-old", Kind::Faq, "t", &["q"], "a", day()).is_err(),
            "already an entry"
        );
        assert!(
            write(dir.path(), "faq-x", Kind::Faq, "t", &["q"], " ", day()).is_err(),
            "no answer"
        );
        assert!(save(dir.path(), "faq-x", "x").is_err(), "no such draft");
    }
}
