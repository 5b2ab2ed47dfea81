//! Plain edits of the knowledge folder that turn answered tickets into knowledge.
//!
//! `add_question` appends an alternate question to an entry's front matter, keeping the file's
//! formatting and comments (toml_edit); `new_entry` writes a new entry file. Both leave a change
//! that staff can read in `git diff` and commit. The caller validates the folder afterwards and
//! calls [`Edit::revert`] when validation fails, so a bad promotion never leaves a broken folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate};
use toml_edit::{DocumentMut, value};

use super::Kind;

/// An edit made, and how to undo it.
#[derive(Debug)]
pub struct Edit {
    pub path: PathBuf,
    /// The file's content before the edit (None: the file is new).
    before: Option<String>,
}

impl Edit {
    /// Undoes the edit.
    pub fn revert(self) -> std::io::Result<()> {
        match self.before {
            Some(text) => std::fs::write(&self.path, text),
            None => std::fs::remove_file(&self.path),
        }
    }
}

/// Splits an entry file into (before the TOML, the TOML, after the TOML).
fn split_front_matter(text: &str) -> Option<(usize, usize)> {
    let start = text.find("+++")?;
    let toml_start = start + text[start..].find('\n')? + 1;
    let close = text[toml_start..].match_indices("+++").find(|(i, _)| {
        let at = toml_start + i;
        at == toml_start || text.as_bytes()[at - 1] == b'\n'
    })?;
    Some((toml_start, toml_start + close.0))
}

/// Adds `question` to the `questions` of the entry file at `path` (no change if it is there).
pub fn add_question(path: &Path, question: &str) -> anyhow::Result<Edit> {
    let question = question.trim();
    if question.is_empty() {
        bail!("the question is empty");
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (a, b) = split_front_matter(&text).with_context(|| format!("{}: no +++ front matter", path.display()))?;
    let mut doc: DocumentMut = text[a..b]
        .parse()
        .with_context(|| format!("{}: front matter is not valid TOML", path.display()))?;
    let questions = doc
        .get_mut("questions")
        .and_then(|q| q.as_array_mut())
        .with_context(|| format!("{}: no `questions` list", path.display()))?;
    let normalized = crate::text::normalize(question);
    if !questions
        .iter()
        .any(|q| q.as_str().is_some_and(|q| crate::text::normalize(q) == normalized))
    {
        questions.push(question);
    }
    let updated = format!("{}{}{}", &text[..a], doc, &text[b..]);
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))?;
    Ok(Edit {
        path: path.to_path_buf(),
        before: Some(text),
    })
}

/// Writes a new entry `<dir>/<kind>/<id>.md` from an operator's answer.
pub fn new_entry(
    dir: &Path,
    id: &str,
    kind: Kind,
    title: &str,
    question: &str,
    answer: &str,
    today: NaiveDate,
) -> anyhow::Result<Edit> {
    // The id becomes a file name: check it before anything touches the disk, so that an id such
    // as `../../tmp/x` can never write outside the knowledge folder.
    if !super::entry::is_valid_id(id) {
        bail!(
            "`{id}` is not a valid entry id: use a-z, 0-9 and - only (at most {} characters), e.g. faq-parcel-tax",
            super::entry::MAX_ID_LEN
        );
    }
    let folder = dir.join(kind.as_str());
    let path = folder.join(format!("{id}.md"));
    debug_assert!(path.starts_with(dir));
    if path.exists() {
        bail!("{} already exists; choose another id or use --to {id}", path.display());
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let text = entry_text(id, kind, title, &[question], answer, today);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(Edit { path, before: None })
}

/// The text of a new entry file: front matter (no keywords or legal basis yet) and the answer.
pub fn entry_text(id: &str, kind: Kind, title: &str, questions: &[&str], answer: &str, today: NaiveDate) -> String {
    let mut doc = DocumentMut::new();
    doc["id"] = value(id);
    doc["kind"] = value(kind.as_str());
    doc["title"] = value(title.trim());
    let mut list = toml_edit::Array::new();
    for q in questions {
        list.push(q.trim());
    }
    doc["questions"] = value(list);
    doc["keywords"] = value(toml_edit::Array::new());
    doc["legal_basis"] = value(toml_edit::Array::new());
    let date = toml_edit::Date {
        year: today.year() as u16,
        month: today.month() as u8,
        day: today.day() as u8,
    };
    doc["updated"] = value(toml_edit::Datetime {
        date: Some(date),
        time: None,
        offset: None,
    });
    format!("+++\n{doc}+++\n{}\n", answer.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "+++\n# a comment stays\nid = \"proc-transit\"\nkind = \"procedure\"\ntitle = \"转关\"\nquestions = [\n  \"转关怎么办\",\n  \"跨关区转关\",\n]\nkeywords = []\nlegal_basis = [\"《海关法》第三十五条\"]\nupdated = 2026-11-26\n+++\n正文 +++ 不是分隔\n";

    #[test]
    fn adds_a_question_keeping_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.md");
        std::fs::write(&path, ENTRY).unwrap();
        let edit = add_question(&path, "货能转关到西宁吗").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# a comment stays"));
        assert!(text.contains("\"货能转关到西宁吗\""), "{text}");
        assert!(text.ends_with("+++\n正文 +++ 不是分隔\n"), "{text}");
        let (entry, problems) = crate::knowledge::entry::parse("t.md", &text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(entry.unwrap().0.questions.len(), 3);
        // Adding the same question again changes nothing; revert restores the file.
        add_question(&path, "货能转关到西宁吗 ").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        edit.revert().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), ENTRY);
    }

    #[test]
    fn writes_a_valid_new_entry() {
        let dir = tempfile::tempdir().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let edit = new_entry(
            dir.path(),
            "faq-new",
            Kind::Faq,
            "新问题",
            "新问题怎么办",
            "按规定办理。",
            today,
        )
        .unwrap();
        let text = std::fs::read_to_string(&edit.path).unwrap();
        let (entry, problems) = crate::knowledge::entry::parse("n.md", &text);
        assert!(problems.is_empty(), "{problems:?}\n{text}");
        let entry = entry.unwrap().0;
        assert_eq!((entry.id.as_str(), entry.body.as_str()), ("faq-new", "按规定办理。"));
        assert!(new_entry(dir.path(), "faq-new", Kind::Faq, "x", "y", "z", today).is_err());
        edit.revert().unwrap();
        assert!(!dir.path().join("faq/faq-new.md").exists());
    }

    #[test]
    fn refuses_ids_that_are_not_plain_names_before_touching_files() {
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("knowledge");
        std::fs::create_dir(&dir).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let long = "a".repeat(49);
        for id in [
            "../x",
            "../../../../tmp/x",
            "a/b",
            "A",
            "",
            "-x",
            ".",
            "x.md",
            "x\\y",
            long.as_str(),
        ] {
            let e = new_entry(&dir, id, Kind::Faq, "t", "q", "a", today).unwrap_err();
            assert!(e.to_string().contains("not a valid entry id"), "{id}: {e}");
        }
        // Nothing was written anywhere: not even the kind folder.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(outer.path()).unwrap().count(), 1);
    }
}
