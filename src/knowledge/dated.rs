//! Dated rules: entries that replace others (`supersedes`), expiry, and each entry's content hash.
//!
//! A rule that ends is an entry with `expires`; the entry that replaces it names it in
//! `supersedes = ["old-id"]`. `check` refuses a `supersedes` that names no entry, names the entry
//! itself or goes round in a circle, and warns about entries that expire soon. The index answers the
//! questions that find an expired entry with its successor (`index::SearchIndex::answers_for`).

use std::collections::HashMap;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::entry::Lines;
use super::{Entry, Problem};

/// `check` warns about entries that expire within this many days.
pub const EXPIRING_DAYS: i64 = 30;

impl Entry {
    /// A short digest of what the entry says and how it is found (every field but where its file
    /// is): the same text gives the same hash wherever the file lives; any edit changes it.
    pub fn content_hash(&self) -> String {
        let mut e = self.clone();
        e.source.clear();
        let json = serde_json::to_vec(&e).unwrap_or_default();
        Sha256::digest(&json)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The first day the entry no longer applies (the day after `expires`), if it expires.
    pub fn ended_on(&self) -> Option<NaiveDate> {
        self.expires.and_then(|x| x.succ_opt())
    }
}

/// Checks the `supersedes` links of the whole folder (dangling, self, circular: errors) and warns
/// about entries expiring within [`EXPIRING_DAYS`] of `today`.
pub(super) fn check(entries: &[(&Entry, &Lines)], today: NaiveDate, problems: &mut Vec<Problem>) {
    let by_id: HashMap<&str, &Entry> = entries.iter().map(|(e, _)| (e.id.as_str(), *e)).collect();
    for (entry, lines) in entries {
        for old in &entry.supersedes {
            if old == &entry.id {
                problems.push(Problem::error(
                    &entry.source,
                    lines.supersedes,
                    format!("`{}` names itself in `supersedes`", entry.id),
                    "name the entry this one replaces, or remove `supersedes`",
                ));
            } else if !by_id.contains_key(old.as_str()) {
                problems.push(Problem::error(
                    &entry.source,
                    lines.supersedes,
                    format!("`supersedes` names `{old}`, which is no entry's id"),
                    "fix the id (keep the old entry, with its `expires` date, so that people asking about it are told it ended), or remove it",
                ));
            }
        }
        if let Some(circle) = circle_from(entry, &by_id) {
            problems.push(Problem::error(
                &entry.source,
                lines.supersedes,
                format!("`supersedes` goes round in a circle: {}", circle.join(" → ")),
                "an entry can only replace older ones: remove one of the links",
            ));
        }
        if let Some(x) = entry
            .expires
            .filter(|&x| x >= today && (x - today).num_days() <= EXPIRING_DAYS)
        {
            problems.push(Problem::warning(
                &entry.source,
                1,
                format!("`{}` expires on {x} (in {} days)", entry.id, (x - today).num_days()),
                "write the entry that replaces it (with supersedes = [\"…\"]) or extend `expires`; `customs-bot expiring` lists them all",
            ));
        }
    }
}

/// The circle of `supersedes` links that leads from `start` back to it, if there is one.
fn circle_from(start: &Entry, by_id: &HashMap<&str, &Entry>) -> Option<Vec<String>> {
    // Depth-first over the links, remembering the path; entries are few and links short.
    fn walk<'a>(at: &'a Entry, start: &str, by_id: &HashMap<&str, &'a Entry>, path: &mut Vec<&'a str>) -> bool {
        for old in &at.supersedes {
            if old == start {
                path.push(old);
                return true;
            }
            if path.contains(&old.as_str()) || old == &at.id {
                continue;
            }
            if let Some(next) = by_id.get(old.as_str()) {
                path.push(old);
                if walk(next, start, by_id, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.id.as_str()];
    walk(start, &start.id, by_id, &mut path).then(|| path.into_iter().map(str::to_string).collect())
}

/// Entries that expire within `days` of `today`, or have expired: soonest first.
pub fn expiring(entries: &[Entry], today: NaiveDate, days: i64) -> Vec<&Entry> {
    let mut out: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.expires.is_some_and(|x| (x - today).num_days() <= days))
        .collect();
    out.sort_by(|a, b| (a.expires, &a.id).cmp(&(b.expires, &b.id)));
    out
}

/// The entry that supersedes `id` among `entries`, if any (for `expiring`).
pub fn superseded_by<'a>(entries: &'a [Entry], id: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.supersedes.iter().any(|s| s == id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::entry::parse;

    fn entry(id: &str, supersedes: &[&str], expires: Option<&str>) -> (Entry, Lines) {
        let sup = supersedes
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let exp = expires.map(|x| format!("expires = {x}\n")).unwrap_or_default();
        let text = format!(
            "+++\nid = \"{id}\"\nkind = \"faq\"\ntitle = \"{id}\"\nquestions = [\"{id}怎么办\"]\nkeywords = []\nlegal_basis = []\nupdated = 2026-01-01\n{exp}supersedes = [{sup}]\n+++\n正文。\n"
        );
        let (e, problems) = parse(&format!("{id}.md"), &text);
        assert!(problems.is_empty(), "{problems:?}");
        e.unwrap()
    }

    fn problems_of(list: &[(Entry, Lines)], today: NaiveDate) -> Vec<Problem> {
        let refs: Vec<(&Entry, &Lines)> = list.iter().map(|(e, l)| (e, l)).collect();
        let mut problems = Vec::new();
        check(&refs, today, &mut problems);
        problems
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn dangling_self_and_circular_links_are_errors() {
        let today = day("2026-06-01");
        let p = problems_of(&[entry("a", &["gone"], None)], today);
        assert!(p[0].is_error() && p[0].what.contains("`gone`"), "{p:?}");
        let p = problems_of(&[entry("a", &["a"], None)], today);
        assert!(
            p.iter().any(|p| p.is_error() && p.what.contains("names itself")),
            "{p:?}"
        );
        let p = problems_of(
            &[
                entry("a", &["b"], None),
                entry("b", &["c"], None),
                entry("c", &["a"], None),
            ],
            today,
        );
        let circles: Vec<_> = p.iter().filter(|p| p.what.contains("circle")).collect();
        assert_eq!(circles.len(), 3, "{p:?}");
        assert!(circles[0].what.contains("a → b → c → a"), "{p:?}");
        // A chain is fine.
        assert!(
            problems_of(
                &[
                    entry("a", &["b"], None),
                    entry("b", &["c"], None),
                    entry("c", &[], None)
                ],
                today
            )
            .is_empty()
        );
    }

    #[test]
    fn entries_expiring_within_thirty_days_are_warned_about() {
        let today = day("2026-06-01");
        let p = problems_of(
            &[
                entry("soon", &[], Some("2026-06-20")),
                entry("later", &[], Some("2026-09-01")),
            ],
            today,
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(!p[0].is_error() && p[0].what.contains("`soon` expires on 2026-06-20 (in 19 days)"));
    }

    #[test]
    fn expiring_entries_and_their_successors_are_listed() {
        let today = day("2026-06-01");
        let entries: Vec<Entry> = [
            entry("old", &[], Some("2026-05-31")),
            entry("new", &["old"], None),
            entry("newer-not-yet", &["old"], None),
        ]
        .into_iter()
        .map(|(mut e, _)| {
            if e.id == "newer-not-yet" {
                e.effective = Some(day("2027-01-01"));
            }
            e
        })
        .collect();
        assert_eq!(entries[0].ended_on(), Some(day("2026-06-01")));
        let soon: Vec<&str> = expiring(&entries, today, 30).iter().map(|e| e.id.as_str()).collect();
        assert_eq!(soon, ["old"]);
        assert_eq!(superseded_by(&entries, "old").unwrap().id, "new");
    }

    #[test]
    fn the_content_hash_follows_the_content_not_the_file() {
        let (a, _) = entry("a", &[], None);
        let mut moved = a.clone();
        moved.source = "elsewhere/a.md".into();
        assert_eq!(a.content_hash(), moved.content_hash());
        let mut edited = a.clone();
        edited.body.push('！');
        assert_ne!(a.content_hash(), edited.content_hash());
        assert_eq!(a.content_hash().len(), 16);
    }
}
