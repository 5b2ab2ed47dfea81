//! One broken knowledge folder per error case; each test asserts the exact message.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use customs_bot::knowledge;

use crate::support::fixtures;

fn problems(case: &str) -> Vec<String> {
    let dir = fixtures().join("broken").join(case).join("knowledge");
    let placeholders: BTreeSet<String> = ["hotline", "office_name", "consult_phone"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let loaded = knowledge::load(&dir, &placeholders, today);
    let root = dir.display().to_string();
    loaded
        .problems
        .iter()
        .map(|p| p.to_string().replace(&root, "K"))
        .collect()
}

fn assert_problems(case: &str, expected: &[&str]) {
    assert_eq!(problems(case), expected, "case {case}");
}

#[test]
fn not_utf8() {
    assert_problems(
        "not-utf8",
        &["K/a.md:3: the file is not UTF-8 — save it as UTF-8 (in most editors: Save As → Encoding: UTF-8)"],
    );
}

#[test]
fn no_front_matter() {
    assert_problems(
        "no-front-matter",
        &[
            "K/a.md:1: the file does not start with front matter — put a line `+++` first, then the TOML fields (id, kind, title …), then `+++`, then the answer",
        ],
    );
}

#[test]
fn unclosed_front_matter() {
    assert_problems(
        "unclosed-front-matter",
        &["K/a.md:1: the front matter is never closed — add a line `+++` after the last TOML field, before the answer"],
    );
}

#[test]
fn malformed_toml() {
    let p = problems("malformed-toml");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("K/a.md:3: the front matter is not valid TOML:"),
        "{p:?}"
    );
    assert!(
        p[0].ends_with("— write each field as `name = value`, strings in double quotes, lists as [\"…\", \"…\"]"),
        "{p:?}"
    );
}

#[test]
fn missing_field() {
    assert_problems(
        "missing-field",
        &["K/a.md:1: missing field `title` — add `title = \"…\"` between the +++ lines"],
    );
}

#[test]
fn unknown_kind() {
    assert_problems(
        "unknown-kind",
        &["K/a.md:3: unknown kind `rumour` — use one of service, policy, procedure, permit, faq"],
    );
}

#[test]
fn bad_id() {
    assert_problems(
        "bad-id",
        &[
            "K/a.md:2: id `FAQ A` may only use a-z, 0-9 and - — use lowercase letters, digits and hyphens, e.g. id = \"proc-transit\"",
        ],
    );
}

#[test]
fn duplicate_id() {
    assert_problems(
        "duplicate-id",
        &[
            "K/b.md:2: id `faq-a` is already used by K/a.md:2 — give this entry its own id (ids must be unique across the folder)",
        ],
    );
}

#[test]
fn duplicate_question_even_with_other_spacing_and_punctuation() {
    assert_problems(
        "duplicate-question",
        &[
            "K/b.md:5: the question \"甲 怎么办？\" is also under `faq-a` (K/a.md) — keep each question under the one entry that answers it",
        ],
    );
}

#[test]
fn dangling_related() {
    assert_problems(
        "dangling-related",
        &["K/a.md:9: `related` names `faq-nowhere`, which is no entry's id — fix the id or remove it from `related`"],
    );
}

#[test]
fn unknown_placeholder() {
    assert_problems(
        "unknown-placeholder",
        &[
            "K/a.md:11: unknown placeholder {{fax}} — use one of {{consult_phone}}, {{hotline}}, {{office_name}}, or add `fax` under [office] in bot.toml",
        ],
    );
}

#[test]
fn empty_answer() {
    assert_problems(
        "empty-answer",
        &["K/a.md:9: the answer is empty — write the answer below the closing +++ line"],
    );
}

#[test]
fn expires_before_effective() {
    assert_problems(
        "expires-before-effective",
        &[
            "K/a.md:10: `expires` (2026-01-31) is before `effective` (2026-06-01) — fix one of the two dates, or remove `expires`",
        ],
    );
}

#[test]
fn expired_entry_is_a_warning() {
    assert_problems(
        "expired",
        &[
            "K/a.md:1: warning: `faq-a` expired on 2020-12-31 and will not be answered — update the answer and its dates, or delete the file",
        ],
    );
}

#[test]
fn bad_lexicon_line() {
    assert_problems(
        "bad-lexicon",
        &[
            "K/lexicon/synonyms.txt:2: the synonym group `孤零零` has only one term — list at least two interchangeable terms on the line, separated by spaces",
        ],
    );
}

#[test]
fn valid_folder_with_a_bom_has_no_problems() {
    let dir = fixtures().join("valid/knowledge");
    let placeholders: BTreeSet<String> = ["hotline", "office_name", "consult_phone"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let loaded = knowledge::load(&dir, &placeholders, NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let ids: Vec<&str> = loaded.knowledge.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["faq-ipr", "proc-late-fee", "proc-transit"]);
}
