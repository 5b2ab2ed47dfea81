//! The reply's renderings.
use super::*;

fn entry(body: &str) -> Entry {
    Entry {
        id: "pol-x".into(),
        kind: Kind::Policy,
        title: "标题".into(),
        questions: vec!["怎么办".into()],
        keywords: Vec::new(),
        legal_basis: vec!["《海关法》第四十六条".into()],
        updated: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        effective: None,
        expires: None,
        related: Vec::new(),
        supersedes: Vec::new(),
        sources: Vec::new(),
        body: body.into(),
        source: "k/x.md".into(),
    }
}

fn answer(e: Entry) -> Reply {
    Reply::whole_entry(e)
}

#[test]
fn a_follow_up_shows_its_section_and_says_what_was_assumed() {
    let e = entry("**所需材料**：申请表。\n\n**办理时限**：20个工作日。\n\n- 可延长10日。");
    let section = e.section(Aspect::TimeLimit.headings());
    assert_eq!(section.as_deref(), Some("**办理时限**：20个工作日。\n\n- 可延长10日。"));
    let follow = Reply {
        body: Body::FollowUp {
            entry: Box::new(e.clone()),
            aspect: Aspect::TimeLimit,
            section,
        },
        ..answer(e.clone())
    };
    let text = follow.plain(&BTreeMap::new());
    assert!(text.starts_with("关于【标题】的办理时限："), "{text}");
    assert!(text.contains("可延长10日") && !text.contains("申请表"), "{text}");
    assert!(text.contains("不是这一项？"), "{text}");
    // Without the section: said so, and the whole entry.
    let whole = Reply {
        body: Body::FollowUp {
            entry: Box::new(e.clone()),
            aspect: Aspect::Fees,
            section: None,
        },
        ..answer(e.clone())
    };
    let text = whole.plain(&BTreeMap::new());
    assert!(
        text.starts_with("【标题】没有单独列出收费") && text.contains("申请表"),
        "{text}"
    );
}

#[test]
fn a_message_in_parts_numbers_them_and_marks_the_referral() {
    let a = answer(entry("第一项的答复。"));
    let referred = Reply {
        decision: Decision::Handoff,
        entry: None,
        body: Body::Handoff(HandoffReason::Specific(Specific::OwnCase)),
        ..answer(entry("x"))
    };
    let parts = Reply {
        body: Body::Parts(vec![a.clone(), referred]),
        ..a
    };
    let text = parts.plain(&BTreeMap::new());
    assert!(text.starts_with("您的问题涉及两点：\n\n一、【标题】"), "{text}");
    assert!(text.contains("二、您问的是您自己的具体情况"), "{text}");
    assert!(parts.referral().is_some());
    let json = parts.to_json(&BTreeMap::new());
    assert!(json.refer);
    assert_eq!(json.parts.len(), 2);
}

#[test]
fn a_question_of_a_message_handed_to_a_person_is_named_and_escaped() {
    let a = answer(entry("第一项的答复。"));
    let open = Reply {
        question: "另外<b>内销</b>要补哪些税？".into(),
        decision: Decision::Handoff,
        entry: None,
        candidates: Vec::new(),
        body: Body::Handoff(HandoffReason::NotSure),
        ..answer(entry("x"))
    };
    let parts = Reply {
        body: Body::Parts(vec![a.clone(), open]),
        ..a
    };
    let text = parts.plain(&BTreeMap::new());
    assert!(
        text.contains("二、「另外<b>内销</b>要补哪些税？」抱歉，这个问题我没有把握"),
        "{text}"
    );
    let html = parts.telegram_html(&BTreeMap::new());
    assert!(
        html.contains("「另外&lt;b&gt;内销&lt;/b&gt;要补哪些税？」") && !html.contains("<b>内销"),
        "{html}"
    );
    let web = parts.web_html(&BTreeMap::new());
    assert!(
        web.contains("<p>「另外&lt;b&gt;内销&lt;/b&gt;要补哪些税？」</p>") && !web.contains("<b>内销"),
        "{web}"
    );
    assert_eq!(parts.referral(), Some(HandoffReason::NotSure));
}

#[test]
fn the_legal_basis_is_said_once() {
    let o = BTreeMap::new();
    let plain = |e: &Entry| entry_with(e, &o, &Plain);
    let without = entry("**规则**：自用合理数量。");
    assert_eq!(plain(&without).matches("法律依据").count(), 1, "the footer");
    assert!(entry_web_html(&without, &o).contains("<p class=\"basis\">法律依据：《海关法》第四十六条</p>"));
    let with = entry("**规则**：自用合理数量。\n\n**法律依据**：《海关法》第四十六条（自用、合理数量）。");
    assert_eq!(plain(&with).matches("法律依据").count(), 1, "the body's own section");
    assert_eq!(entry_web_html(&with, &o).matches("法律依据").count(), 1);
}

#[test]
fn a_rule_ends_once_with_where_its_authoritative_text_is() {
    let o = BTreeMap::new();
    let plain = |e: &Entry| entry_with(e, &o, &Plain);
    let rule = entry("**规则**：自用合理数量。");
    let text = plain(&rule);
    assert!(
        text.ends_with("（本条更新于 2026-11-29）\n正式文本见上述依据文件，以海关总署公布为准。"),
        "{text}"
    );
    assert!(
        entry_web_html(&rule, &o)
            .ends_with("<p class=\"authority\">正式文本见上述依据文件，以海关总署公布为准。</p>\n")
    );
    // Not said again when the answer's last paragraph already says it, nor for a faq.
    let says = entry("**规则**：自用合理数量。\n\n具体数量以海关总署公布为准。");
    assert_eq!(plain(&says).matches("以海关总署公布为准").count(), 1);
    let mut faq = rule.clone();
    faq.kind = Kind::Faq;
    assert!(!plain(&faq).contains("以海关总署公布为准"));
}

#[test]
fn an_answer_in_place_of_an_ended_rule_says_when_it_ended() {
    let o = BTreeMap::new();
    let mut old = entry("旧规定。");
    old.title = "旧规".into();
    old.expires = chrono::NaiveDate::from_ymd_opt(2026, 6, 30);
    let new = entry("新规定。");
    let reply = Reply {
        body: Body::Superseded {
            old: Box::new(old.clone()),
            entry: Box::new(new.clone()),
        },
        ..Reply::whole_entry(new)
    };
    assert!(
        reply
            .plain(&o)
            .starts_with("原规定「旧规」自2026年7月1日起停止执行，现行规定：\n\n"),
        "{}",
        reply.plain(&o)
    );
    assert!(
        reply
            .web_html(&o)
            .starts_with("<p class=\"superseded\">原规定「旧规」自2026年7月1日起停止执行，现行规定：</p>")
    );
    assert_eq!(reply.entries_used().len(), 2);
}
