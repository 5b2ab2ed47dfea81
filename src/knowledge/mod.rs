//! The knowledge folder: reading, parsing and validating every entry and the lexicon.
//!
//! `load` reads `knowledge/` and returns what is usable plus **every** problem found, each as
//! `path:line: what is wrong — how to fix it`. It also computes the folder's fingerprint, which
//! the index records so that a stale index is noticed. Parsing itself (`entry`, `lexicon`) works
//! on strings; only the thin wrapper here touches the disk. Nothing here knows about the index.

pub mod dated;
pub mod drafts;
pub mod edit;
pub mod entry;
pub mod lexicon;
mod walk;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

pub use entry::{Entry, Kind};
pub use lexicon::Lexicon;
use walk::{WalkIssue, entry_files, walk_problem};

/// How bad a problem is: errors block indexing, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in the knowledge folder, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub path: String,
    pub line: usize,
    pub what: String,
    pub fix: String,
}

impl Problem {
    pub fn error(path: &str, line: usize, what: String, fix: &str) -> Self {
        Self {
            severity: Severity::Error,
            path: path.to_string(),
            line,
            what,
            fix: fix.to_string(),
        }
    }
    pub fn warning(path: &str, line: usize, what: String, fix: &str) -> Self {
        Self {
            severity: Severity::Warning,
            path: path.to_string(),
            line,
            what,
            fix: fix.to_string(),
        }
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = if self.is_error() { "" } else { "warning: " };
        write!(f, "{}:{}: {tag}{} — {}", self.path, self.line, self.what, self.fix)
    }
}

/// A loaded knowledge folder.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// Valid entries, sorted by id. Expired ones are included (they are warned about and never
    /// answered).
    pub entries: Vec<Entry>,
    pub lexicon: Lexicon,
    /// SHA-256 over every file read (paths and bytes): changes whenever the folder changes.
    pub fingerprint: String,
}

/// The result of `load`: what could be used, and every problem found.
#[derive(Debug)]
pub struct Loaded {
    pub knowledge: Knowledge,
    pub problems: Vec<Problem>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

/// Reads a text file, naming it and the line of the first bad byte when it is not UTF-8.
/// A leading UTF-8 BOM is removed.
fn read_text(path: &Path, shown: &str) -> Result<String, Problem> {
    let bytes = std::fs::read(path).map_err(|e| {
        Problem::error(
            shown,
            1,
            format!("cannot read the file: {e}"),
            "check that it exists and is readable",
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        Problem::error(
            shown,
            line,
            "the file is not UTF-8".into(),
            "save it as UTF-8 (in most editors: Save As → Encoding: UTF-8)",
        )
    })?;
    Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// An entry with more ways of asking than this is far above normal size (the shipped entries have
/// at most 16): `check` warns. Each way of asking is one search document.
pub const MAX_QUESTIONS: usize = 100;
/// An entry file larger than this (bytes) is far above normal size (the shipped ones are under
/// 3 KB): `check` warns.
pub const MAX_ENTRY_BYTES: usize = 32 * 1024;

/// Warns about an entry far above normal size: it still works, but it is almost certainly several
/// entries in one (or pasted text), it slows every search it matches and weighs on the index.
fn oversize(e: &Entry, lines: &entry::Lines, bytes: usize, problems: &mut Vec<Problem>) {
    if e.questions.len() > MAX_QUESTIONS {
        problems.push(Problem::warning(
            &e.source,
            lines.questions,
            format!(
                "`{}` has {} questions, far above normal (at most {MAX_QUESTIONS})",
                e.id,
                e.questions.len()
            ),
            "keep the distinct ways people ask, and split different matters into entries of their own",
        ));
    }
    if bytes > MAX_ENTRY_BYTES {
        problems.push(Problem::warning(
            &e.source,
            1,
            format!(
                "`{}` is {} KB, far above normal (at most {} KB)",
                e.id,
                bytes.div_ceil(1024),
                MAX_ENTRY_BYTES / 1024
            ),
            "shorten the answer or split it into entries of their own (a chat answer should fit on a screen)",
        ));
    }
}

/// Loads and validates the knowledge folder. `placeholders` are the names `bot.toml` defines;
/// `today` decides which entries have expired.
pub fn load(dir: &Path, placeholders: &BTreeSet<String>, today: NaiveDate) -> Loaded {
    load_with(dir, placeholders, today, &[])
}

/// [`load`], with `extra` entry files read after the folder's own (a draft checked as if it
/// were published: its problems, collisions with the entries included, are reported on it).
fn load_with(dir: &Path, placeholders: &BTreeSet<String>, today: NaiveDate, extra: &[PathBuf]) -> Loaded {
    let mut problems = Vec::new();
    let mut hasher = Sha256::new();
    let shown_root = dir.display().to_string();
    let shown = |p: &Path| -> String {
        p.strip_prefix(dir).map_or_else(
            |_| p.display().to_string(),
            |r| Path::new(&shown_root).join(r).display().to_string(),
        )
    };
    let rel = |p: &Path| -> String { p.strip_prefix(dir).unwrap_or(p).to_string_lossy().replace('\\', "/") };

    let files = match entry_files(dir) {
        Ok((files, issues)) => {
            for issue in issues {
                if let WalkIssue::Unreadable(path, _) = &issue {
                    feed(&mut hasher, &rel(path), UNREADABLE);
                }
                problems.push(walk_problem(issue, &shown));
            }
            files.into_iter().chain(extra.iter().cloned()).collect::<Vec<_>>()
        }
        Err(e) => {
            problems.push(Problem::error(
                &shown_root,
                1,
                format!("cannot read the knowledge folder: {e}"),
                "check the `[knowledge] dir` setting in bot.toml",
            ));
            return Loaded {
                knowledge: Knowledge::default(),
                problems,
            };
        }
    };

    let mut parsed = Vec::new();
    for path in &files {
        let shown_path = shown(path);
        let text = match read_text(path, &shown_path) {
            Ok(t) => t,
            Err(p) => {
                problems.push(p);
                match std::fs::read(path) {
                    Ok(bytes) => feed(&mut hasher, &rel(path), &bytes),
                    Err(_) => feed(&mut hasher, &rel(path), UNREADABLE),
                }
                continue;
            }
        };
        feed(&mut hasher, &rel(path), text.as_bytes());
        let (entry, mut found) = entry::parse(&shown_path, &text);
        problems.append(&mut found);
        if let Some((e, lines)) = &entry {
            oversize(e, lines, text.len(), &mut problems);
        }
        if let Some(e) = entry {
            parsed.push(e);
        }
    }
    if files.is_empty() {
        problems.push(Problem::error(
            &shown_root,
            1,
            "the knowledge folder has no entries".into(),
            "add Markdown files with +++ front matter (see docs/knowledge-format.md)",
        ));
    }

    // The lexicon: optional files.
    let mut lexicon = Lexicon::default();
    for (name, which) in [
        (lexicon::USER_DICT, 0),
        (lexicon::SYNONYMS, 1),
        (lexicon::STOPWORDS, 2),
        (lexicon::REDIRECTS, 3),
    ] {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        let shown_path = shown(&path);
        match read_text(&path, &shown_path) {
            Ok(text) => {
                feed(&mut hasher, name, text.as_bytes());
                match which {
                    0 => lexicon.user_dict = lexicon::parse_user_dict(&shown_path, &text, &mut problems),
                    1 => lexicon.synonyms = lexicon::parse_synonyms(&shown_path, &text, &mut problems),
                    2 => lexicon.stopwords = lexicon::parse_stopwords(&text),
                    _ => lexicon.redirects = lexicon::parse_redirects(&shown_path, &text, &mut problems),
                }
            }
            Err(p) => problems.push(p),
        }
    }

    // Folder-wide checks.
    let mut ids: HashMap<String, (String, usize)> = HashMap::new();
    let mut questions: HashMap<String, (String, String)> = HashMap::new();
    let mut entries = Vec::new();
    for (entry, lines) in &parsed {
        if let Some((path, line)) = ids.get(&entry.id) {
            problems.push(Problem::error(
                &entry.source,
                lines.id,
                format!("id `{}` is already used by {path}:{line}", entry.id),
                "give this entry its own id (ids must be unique across the folder)",
            ));
            continue;
        }
        ids.insert(entry.id.clone(), (entry.source.clone(), lines.id));
        entries.push((entry, lines));
    }
    for (entry, lines) in &entries {
        for q in &entry.questions {
            let key: String = crate::text::normalize(q)
                .chars()
                .filter(|c| crate::text::is_term(&c.to_string()))
                .collect();
            match questions.get(&key) {
                Some((other, _)) if other == &entry.id => {}
                Some((other, src)) => problems.push(Problem::error(
                    &entry.source,
                    lines.questions,
                    format!("the question \"{q}\" is also under `{other}` ({src})"),
                    "keep each question under the one entry that answers it",
                )),
                None => {
                    questions.insert(key, (entry.id.clone(), entry.source.clone()));
                }
            }
        }
        for r in &entry.related {
            if !ids.contains_key(r) {
                problems.push(Problem::error(
                    &entry.source,
                    lines.related,
                    format!("`related` names `{r}`, which is no entry's id"),
                    "fix the id or remove it from `related`",
                ));
            }
        }
        for p in crate::markup::placeholders(&entry.body) {
            if !placeholders.contains(&p.name) {
                let known = placeholders
                    .iter()
                    .map(|n| format!("{{{{{n}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                problems.push(Problem::error(
                    &entry.source,
                    lines.body + p.line,
                    format!("unknown placeholder {{{{{}}}}}", p.name),
                    &format!("use one of {known}, or add `{}` under [office] in bot.toml", p.name),
                ));
            }
        }
        if let Some(x) = entry.expires.filter(|&x| x < today) {
            problems.push(Problem::warning(
                &entry.source,
                1,
                format!("`{}` expired on {x} and will not be answered", entry.id),
                "update the answer and its dates, or delete the file",
            ));
        }
    }

    dated::check(&entries, today, &mut problems);
    let mut entries: Vec<Entry> = entries.into_iter().map(|(e, _)| e.clone()).collect();
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    problems.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    let fingerprint = hex(&hasher.finalize());
    Loaded {
        knowledge: Knowledge {
            entries,
            lexicon,
            fingerprint,
        },
        problems,
    }
}

/// What the fingerprint takes for the content of a file or folder that cannot be read.
const UNREADABLE: &[u8] = b"\0unreadable\0";

/// The fingerprint of the folder without validating it (cheap staleness check). A file or folder
/// that cannot be read changes it (so the index looks stale, `load` reports the problem, and the
/// previous index keeps serving) instead of stopping it. Fails only when the folder itself cannot
/// be listed.
pub fn fingerprint(dir: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let (files, issues) = entry_files(dir)?;
    let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).to_string_lossy().replace('\\', "/");
    for path in files {
        match std::fs::read(&path) {
            Ok(bytes) => feed(&mut hasher, &rel(&path), strip_bom(&bytes)),
            Err(_) => feed(&mut hasher, &rel(&path), UNREADABLE),
        }
    }
    for issue in &issues {
        if let WalkIssue::Unreadable(path, _) = issue {
            feed(&mut hasher, &rel(path), UNREADABLE);
        }
    }
    for name in [
        lexicon::USER_DICT,
        lexicon::SYNONYMS,
        lexicon::STOPWORDS,
        lexicon::REDIRECTS,
    ] {
        let path = dir.join(name);
        if path.exists() {
            match std::fs::read(&path) {
                Ok(bytes) => feed(&mut hasher, name, strip_bom(&bytes)),
                Err(_) => feed(&mut hasher, name, UNREADABLE),
            }
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
}

fn feed(hasher: &mut Sha256, name: &str, bytes: &[u8]) {
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
