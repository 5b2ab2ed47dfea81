//! Walking the knowledge folder: every entry file, with the folders that could not be read and
//! the links that loop. Entry drafts (`drafts/`) and the lexicon (`lexicon/`) are not entries.

use std::path::{Path, PathBuf};

use super::Problem;

/// Something that stopped part of the folder from being walked.
#[derive(Debug)]
pub(super) enum WalkIssue {
    /// A folder could not be listed (the OS error).
    Unreadable(PathBuf, std::io::Error),
    /// A link to a folder that leads back to one already read (or to one of its own parents).
    Loop { link: PathBuf, target: PathBuf },
}

/// The problem a walk issue is, in the `path:line: what — fix` form.
pub(super) fn walk_problem(issue: WalkIssue, shown: &dyn Fn(&Path) -> String) -> Problem {
    match issue {
        WalkIssue::Unreadable(path, e) => {
            let at = shown(&path);
            Problem::error(
                &at,
                1,
                format!("cannot read the folder: {e}"),
                &format!(
                    "make it readable for the bot (e.g. chmod -R a+rX {at}) or move it out of the knowledge folder; its entries are left out until then"
                ),
            )
        }
        WalkIssue::Loop { link, target } => Problem::warning(
            &shown(&link),
            1,
            format!(
                "the link leads back to {} (a loop), so it is not followed",
                target.display()
            ),
            "remove the link (every file under the knowledge folder is read anyway)",
        ),
    }
}

/// Every entry file under `dir`: `*.md`, not in `lexicon/` or `drafts/`, not hidden, not README.md; sorted.
/// Links are followed, but a link to a folder that was already read, or to a parent of where the
/// link is, is a loop: it is reported and not followed. A folder that cannot be listed is reported
/// and skipped; the rest of the walk goes on. Fails only when `dir` itself cannot be listed.
pub(super) fn entry_files(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<WalkIssue>)> {
    let mut out = Vec::new();
    let mut issues = Vec::new();
    let root = std::fs::canonicalize(dir)?;
    let mut visited = std::collections::HashSet::from([root.clone()]);
    let mut stack = vec![(dir.to_path_buf(), root)];
    let (lexicon, drafts) = (dir.join("lexicon"), dir.join(super::drafts::DRAFTS));
    while let Some((d, real)) = stack.pop() {
        let items = match std::fs::read_dir(&d) {
            Ok(items) => items,
            Err(e) if d == dir => return Err(e),
            Err(e) => {
                issues.push(WalkIssue::Unreadable(d, e));
                continue;
            }
        };
        for item in items {
            let item = match item {
                Ok(i) => i,
                Err(e) => {
                    issues.push(WalkIssue::Unreadable(d.clone(), e));
                    break;
                }
            };
            let path = item.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            let is_link = item.file_type().is_ok_and(|t| t.is_symlink());
            // `metadata` follows links; a dangling link counts as a file (reading it reports it).
            if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                if path == lexicon || path == drafts {
                    continue;
                }
                let target = if is_link {
                    std::fs::canonicalize(&path)
                } else {
                    Ok(real.join(path.file_name().unwrap_or_default()))
                };
                match target {
                    Ok(t) if is_link && (real.starts_with(&t) || visited.contains(&t)) => {
                        issues.push(WalkIssue::Loop { link: path, target: t });
                    }
                    Ok(t) => {
                        if visited.insert(t.clone()) {
                            stack.push((path, t));
                        }
                    }
                    Err(e) => issues.push(WalkIssue::Unreadable(path, e)),
                }
            } else if name.ends_with(".md") && !name.eq_ignore_ascii_case("README.md") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok((out, issues))
}
