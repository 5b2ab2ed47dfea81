use super::*;

const GOOD: &str = "+++\nid = \"proc-transit\"\nkind = \"procedure\"\ntitle = \"转关\"\nquestions = [\"转关怎么办\", \"跨关区转关\"]\nkeywords = [\"转关\"]\nlegal_basis = [\"《海关法》第三十五条\"]\nupdated = 2026-11-26\nrelated = [\"proc-x\"]\n+++\n\n**谁办理**：收发货人。\n";

#[test]
fn parses_a_good_entry() {
    let (entry, problems) = parse("procedure/transit.md", GOOD);
    assert!(problems.is_empty(), "{problems:?}");
    let (entry, lines) = entry.unwrap();
    assert_eq!(entry.id, "proc-transit");
    assert_eq!(entry.kind, Kind::Procedure);
    assert_eq!(entry.questions.len(), 2);
    assert_eq!(entry.updated, NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
    assert_eq!(entry.body, "**谁办理**：收发货人。");
    assert_eq!(lines.body, 12);
    assert_eq!(lines.id, 2);
}

#[test]
fn accepts_a_bom_and_crlf() {
    let text = format!("\u{feff}{}", GOOD.replace('\n', "\r\n"));
    let (entry, problems) = parse("x.md", &text);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(entry.unwrap().0.title, "转关");
}

fn messages(text: &str) -> Vec<String> {
    parse("k/x.md", text).1.iter().map(|p| p.to_string()).collect()
}

#[test]
fn reports_every_problem_with_line_and_fix() {
    let text = "+++\nid = \"Bad_Id\"\nkind = \"story\"\nquestions = \"转关\"\nkeywords = []\nlegal_basis = []\nupdated = \"soon\"\ncolour = 1\n+++\n";
    let m = messages(text);
    assert!(m.contains(&"k/x.md:8: unknown field `colour` — remove it or fix its spelling; the fields are id, kind, title, questions, keywords, legal_basis, updated, effective, expires, related, supersedes, sources".to_string()), "{m:#?}");
    assert!(
        m.contains(&"k/x.md:1: missing field `title` — add `title = \"…\"` between the +++ lines".to_string()),
        "{m:#?}"
    );
    assert!(m.contains(&"k/x.md:2: id `Bad_Id` may only use a-z, 0-9 and - — use lowercase letters, digits and hyphens, e.g. id = \"proc-transit\"".to_string()), "{m:#?}");
    assert!(
        m.contains(&"k/x.md:3: unknown kind `story` — use one of service, policy, procedure, permit, faq".to_string()),
        "{m:#?}"
    );
    assert!(
        m.contains(
            &"k/x.md:4: `questions` must be a list of strings — write questions = [\"…\", \"…\"] between the +++ lines"
                .to_string()
        ),
        "{m:#?}"
    );
    assert!(
        m.contains(
            &"k/x.md:7: `updated` is not a date: \"soon\" — write a date without quotes, e.g. updated = 2026-11-26"
                .to_string()
        ),
        "{m:#?}"
    );
    assert!(
        m.contains(&"k/x.md:9: the answer is empty — write the answer below the closing +++ line".to_string()),
        "{m:#?}"
    );
    assert_eq!(m.len(), 7, "{m:#?}");
}

#[test]
fn missing_and_unclosed_front_matter() {
    assert_eq!(
        messages("转关怎么办"),
        vec![
            "k/x.md:1: the file does not start with front matter — put a line `+++` first, then the TOML fields (id, kind, title …), then `+++`, then the answer"
        ]
    );
    assert_eq!(
        messages("+++\nid = \"a\"\n"),
        vec![
            "k/x.md:1: the front matter is never closed — add a line `+++` after the last TOML field, before the answer"
        ]
    );
}

#[test]
fn malformed_toml_names_the_line() {
    let m = messages("+++\nid = \"a\"\ntitle = \"unterminated\nkind = \"faq\"\n+++\nbody");
    assert_eq!(m.len(), 1);
    assert!(
        m[0].starts_with("k/x.md:3: the front matter is not valid TOML"),
        "{m:?}"
    );
}

#[test]
fn expires_before_effective() {
    let text = GOOD.replace(
        "updated = 2026-11-26",
        "updated = 2026-11-26\neffective = 2026-05-01\nexpires = 2026-01-01",
    );
    let m = messages(&text);
    assert_eq!(
        m,
        vec![
            "k/x.md:10: `expires` (2026-01-01) is before `effective` (2026-05-01) — fix one of the two dates, or remove `expires`"
        ]
    );
}

#[test]
fn currency_by_date() {
    let (entry, _) = parse(
        "x.md",
        &GOOD.replace("updated = 2026-11-26", "updated = 2026-11-26\nexpires = 2026-06-30"),
    );
    let entry = entry.unwrap().0;
    assert!(entry.is_current(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()));
    assert!(!entry.is_current(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()));
}

#[test]
fn a_rule_needs_its_legal_basis_and_sources_are_kept() {
    let entry = |kind: &str, basis: &str| {
        format!(
            "+++\nid = \"x-1\"\nkind = \"{kind}\"\ntitle = \"标题\"\nquestions = [\"怎么办\"]\nkeywords = []\nlegal_basis = [{basis}]\nupdated = 2026-11-26\nsources = [\"ann: 公告〔2024〕138号\"]\n+++\n正文。\n"
        )
    };
    for kind in ["policy", "procedure", "permit"] {
        let (e, problems) = parse("k/x.md", &entry(kind, ""));
        assert!(e.is_none(), "{kind}");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .to_string()
                .starts_with("k/x.md:7: a policy, procedure or permit entry needs its legal basis")
        );
        let (e, problems) = parse("k/x.md", &entry(kind, "\"《海关法》\""));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(e.unwrap().0.sources, ["ann: 公告〔2024〕138号"]);
    }
    for kind in ["faq", "service"] {
        let (e, problems) = parse("k/x.md", &entry(kind, ""));
        assert!(problems.is_empty() && e.is_some(), "{kind}: {problems:?}");
    }
}

#[test]
fn a_section_heading_used_twice_is_refused_with_its_line() {
    let text = GOOD.replace(
        "**谁办理**：收发货人。\n",
        "**办理时限**：20日。\n\n**注意**：不是一节。\n\n**办理时限**：另一说法。\n",
    );
    let m = messages(&text);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains(":16:") && m[0].contains("「办理时限」 appears twice"),
        "{m:?}"
    );
    let (entry, _) = parse(
        "x.md",
        &GOOD.replace(
            "**谁办理**：收发货人。\n",
            "**办理时限**：20日。\n\n- 可延长。\n\n**注意**：别的。\n",
        ),
    );
    let entry = entry.unwrap().0;
    assert_eq!(
        entry.section(&["时限", "办理时限"]).as_deref(),
        Some("**办理时限**：20日。\n\n- 可延长。")
    );
    assert_eq!(entry.section(&["收费"]), None);
}

#[test]
fn a_time_limit_section_is_asked_as_how_long() {
    let with = |body: &str| {
        parse("x.md", &GOOD.replace("**谁办理**：收发货人。\n", body))
            .0
            .unwrap()
            .0
    };
    assert_eq!(with("**时限**：自申报之日起14日内。\n").asked_words(), ["多久"]);
    // Only a section counts: 时限 said in a sentence, or another section, adds nothing.
    assert!(with("申报的时限是14日。\n").asked_words().is_empty());
    assert!(with("**收费**：不收费。\n").asked_words().is_empty());
}

#[test]
fn an_internal_note_in_the_answer_is_refused_with_its_line() {
    let head = "+++\nid = \"proc-x\"\nkind = \"procedure\"\ntitle = \"某手续\"\nquestions = [\"某手续怎么办\"]\n\
                legal_basis = [\"《海关法》\"]\nupdated = 2026-11-26\n+++\n";
    // A note to staff, and a remark on the knowledge base's own sources (「本知识库…」).
    for (body, line, note) in [
        ("起征额50元（待核实）。\n", ":9:", "「待核实」"),
        ("时限\n本知识库暂无核实资料。\n", ":10:", "「本知识库」"),
    ] {
        let m = messages(&format!("{head}{body}"));
        assert!(m.iter().any(|p| p.contains(line) && p.contains(note)), "{m:?}");
    }
}
