//! The gate's comparison and report, on hand-built outcomes (the replay itself is tested in
//! `tests/governance.rs` on real generations).

use super::*;

fn entry(id: &str, body: &str) -> Entry {
    let text = format!(
        "+++\nid = \"{id}\"\nkind = \"faq\"\ntitle = \"{id}\"\nquestions = [\"{id}？\"]\nkeywords = []\nlegal_basis = []\nupdated = 2026-01-01\n+++\n{body}\n"
    );
    crate::knowledge::entry::parse("e.md", &text).0.unwrap().0
}

fn answer(id: &str) -> Outcome {
    Outcome {
        decision: Decision::Answer,
        entry: Some(id.into()),
    }
}

fn handoff() -> Outcome {
    Outcome {
        decision: Decision::Handoff,
        entry: None,
    }
}

#[test]
fn entries_are_compared_by_content() {
    let old = [entry("a", "一。"), entry("b", "二。"), entry("c", "三。")];
    let new = [entry("a", "一。"), entry("b", "二！"), entry("d", "四。")];
    let d = EntryDiff::between(&old, &new);
    assert_eq!(
        (d.added.clone(), d.changed.clone(), d.removed.clone()),
        (vec!["d".to_string()], vec!["b".to_string()], vec!["c".to_string()])
    );
    assert_eq!(d.all(), ["b", "c", "d"]);
    assert_eq!(d.line(), "entries added: d; changed: b; removed: c");
    assert!(EntryDiff::between(&old, &old).is_empty());
    let lexicon = EntryDiff {
        lexicon: true,
        ..EntryDiff::default()
    };
    assert!(!lexicon.is_empty());
    assert_eq!(
        lexicon.line(),
        "entries added: none; changed: none; removed: none; the lexicon changed"
    );
}

#[test]
fn changes_are_grouped_by_entry_and_refusals_are_said() {
    let changed = |q: &str, b: Outcome, a: Outcome, l: Option<&str>| Changed {
        question: q.into(),
        before: b,
        after: a,
        labelled: l.map(str::to_string),
    };
    let report = Report {
        sets: vec![SetResult {
            name: "dev.tsv".into(),
            questions: 10,
            in_scope: 8,
            before: Figures { right: 7, wrong: 0 },
            after: Figures { right: 6, wrong: 1 },
            min_right: Some(0.8),
            max_wrong: Some(0.05),
        }],
        changed: vec![
            changed("一", answer("a"), answer("b"), None),
            changed("二", answer("a"), answer("b"), Some("dev.tsv")),
            changed("三", handoff(), answer("c"), None),
        ],
        logged: 2,
        days: 30,
        refusals: vec!["dev.tsv: right answers 75.0% are below the floor 80.0%".into()],
        elapsed: Duration::from_millis(1500),
    };
    assert!(report.refused());
    let groups = report.groups();
    assert_eq!(groups[0].0, ("a".to_string(), "b".to_string()));
    assert_eq!(groups[0].1.len(), 2);
    assert_eq!(groups[1].0, ("handoff".to_string(), "c".to_string()));
    let lines = report.lines().join("\n");
    assert!(
        lines.contains("dev.tsv: right 87.5% → 75.0% (floor 80.0%), wrong 0.0% → 10.0% (ceiling 5.0%)"),
        "{lines}"
    );
    assert!(
        lines.contains("  a → b (2):\n    「一」\n    「二」  [dev.tsv]"),
        "{lines}"
    );
    assert!(lines.contains("refused: dev.tsv: right answers 75.0%"), "{lines}");
}

#[test]
fn a_labelled_question_is_scored_against_its_label() {
    let case = checks::Case {
        expected: vec!["a".into()],
        question: "q".into(),
    };
    let out = checks::Case {
        expected: Vec::new(),
        question: "o".into(),
    };
    let mut f = Figures::default();
    score(&mut f, &case, &answer("a"));
    score(&mut f, &case, &answer("b"));
    score(&mut f, &case, &handoff());
    score(&mut f, &out, &answer("a"));
    score(&mut f, &out, &handoff());
    assert_eq!(f, Figures { right: 1, wrong: 2 });
}

#[test]
fn a_long_question_is_listed_by_its_beginning() {
    assert_eq!(shorten("短问题"), "短问题");
    let long = "问".repeat(61);
    assert_eq!(shorten(&long), format!("{}…", "问".repeat(60)));
}
