//! Labelled question sets kept with the knowledge (`knowledge/checks/*.tsv`), with their floors.
//!
//! One question per line, `expected<TAB>question`: `expected` is the id of the entry that must
//! answer (several acceptable ids separated by `|`), or `OUT` for a question the bot must not
//! answer with an entry. Lines starting with `#` are comments; two of them set the set's floors:
//!
//! ```text
//! # min_right = 0.80    (share of in-scope questions answered with an expected entry)
//! # max_wrong = 0.05    (share of all questions answered with a wrong entry)
//! ```
//!
//! A set without a floor line is reported but never refuses a reindex on that figure.

use std::path::Path;

/// The folder, inside the knowledge folder, that holds the labelled sets.
pub const CHECKS: &str = "checks";

/// One labelled question.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Acceptable entry ids; empty for a question no entry should answer (`OUT`).
    pub expected: Vec<String>,
    pub question: String,
}

/// A labelled set and its floors.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSet {
    /// The file name (`dev.tsv`).
    pub name: String,
    pub cases: Vec<Case>,
    pub min_right: Option<f64>,
    pub max_wrong: Option<f64>,
}

/// Parses one set. Errors name the line: `name:line: what`.
pub fn parse(name: &str, text: &str) -> Result<LabelledSet, String> {
    let mut set = LabelledSet {
        name: name.to_string(),
        cases: Vec::new(),
        min_right: None,
        max_wrong: None,
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((key, value)) = comment.split_once('=') {
                let slot = match key.trim() {
                    "min_right" => &mut set.min_right,
                    "max_wrong" => &mut set.max_wrong,
                    _ => continue,
                };
                let value = value.split_whitespace().next().unwrap_or_default();
                match value.parse::<f64>() {
                    Ok(v) if (0.0..=1.0).contains(&v) => *slot = Some(v),
                    _ => {
                        return Err(format!(
                            "{name}:{}: `{}` must be a share between 0 and 1, e.g. 0.80",
                            n + 1,
                            key.trim()
                        ));
                    }
                }
            }
            continue;
        }
        let Some((expected, question)) = line.split_once('\t') else {
            return Err(format!(
                "{name}:{}: expected `entry-id<TAB>question` (or `OUT<TAB>question`)",
                n + 1
            ));
        };
        let expected = expected.trim();
        set.cases.push(Case {
            expected: if expected == "OUT" {
                Vec::new()
            } else {
                expected.split('|').map(|s| s.trim().to_string()).collect()
            },
            question: question.trim().to_string(),
        });
    }
    Ok(set)
}

/// Every labelled set in `<knowledge>/checks/` (sorted by name); no folder is no sets. A file that
/// cannot be read or parsed is an error naming it.
pub fn load(knowledge: &Path) -> Result<Vec<LabelledSet>, String> {
    let dir = knowledge.join(CHECKS);
    let items = match std::fs::read_dir(&dir) {
        Ok(items) => items,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: cannot read the folder: {e}", dir.display())),
    };
    let mut paths: Vec<_> = items
        .filter_map(Result::ok)
        .map(|i| i.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv") && p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: cannot read it: {e}", p.display()))?;
            parse(&name, &text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_has_its_cases_and_floors() {
        let set = parse(
            "s.tsv",
            "# a set\n# min_right = 0.8   right answers\n# max_wrong = 0.05\nproc-a|proc-b\t怎么办\nOUT\t天气\n\n",
        )
        .unwrap();
        assert_eq!((set.min_right, set.max_wrong), (Some(0.8), Some(0.05)));
        assert_eq!(set.cases.len(), 2);
        assert_eq!(set.cases[0].expected, ["proc-a", "proc-b"]);
        assert!(set.cases[1].expected.is_empty());
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(
            parse("s.tsv", "# x\nno tab here\n").unwrap_err(),
            "s.tsv:2: expected `entry-id<TAB>question` (or `OUT<TAB>question`)"
        );
        assert!(
            parse("s.tsv", "# min_right = 80%\n")
                .unwrap_err()
                .starts_with("s.tsv:1: `min_right`")
        );
    }
}
