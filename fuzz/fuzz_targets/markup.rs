//! The answer markup renderer and the Telegram splitter: any text as an entry's answer body (and
//! title, legal basis, office details). The Telegram HTML is always a message Telegram accepts
//! (`telegram::check_html`: known tags, nested and closed, everything else escaped, valid entities,
//! http(s) links only), and every piece the splitter makes is too, within its UTF-16 limit.
//!
//! Input: first byte chooses the split limit (16 … 4096 UTF-16 units), the rest is the body.
#![no_main]

use std::collections::BTreeMap;

use chrono::NaiveDate;
use customs_bot::answer::Decision;
use customs_bot::knowledge::{Entry, Kind};
use customs_bot::markup;
use customs_bot::reply::{Body, Reply};
use customs_bot::telegram::{MESSAGE_LIMIT, check_html, split_html, utf16_len};
use libfuzzer_sys::fuzz_target;

fn check_split(html: &str, limit: usize) {
    let pieces = split_html(html, limit);
    let visible = check_html(html).is_ok();
    if visible {
        assert!(!pieces.is_empty(), "a message with text became no pieces: {html:?}");
    }
    for p in &pieces {
        assert!(
            utf16_len(p) <= limit,
            "piece of {} > {limit} units: {p:?}",
            utf16_len(p)
        );
        if let Err(e) = check_html(p) {
            panic!("split at {limit} made a piece Telegram refuses: {e}\npiece: {p:?}\nwhole: {html:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let limit = 16 + usize::from(first) * 4080 / 255;

    let blocks = markup::parse(text);
    let html = markup::to_telegram_html(&blocks);
    let _ = markup::to_plain(&blocks);
    let _ = markup::to_web_html(&blocks);
    if !text.trim().is_empty() {
        if let Err(e) = check_html(&html) {
            // A body of markup alone (`** **`) may render to no visible text; anything else must pass.
            assert!(
                e.starts_with("no visible text"),
                "Telegram refuses the rendering: {e}\nbody: {text:?}\nhtml: {html:?}"
            );
        }
    }
    if !html.is_empty() {
        check_split(&html, limit);
    }

    // The whole answer as the bot sends it: title, filled body, legal basis, date.
    let office = BTreeMap::from([
        ("hotline".to_string(), "12360 <转> & \"1\"".to_string()),
        ("office_name".to_string(), "**测试**海关".to_string()),
        (
            "consult_phone".to_string(),
            "[x](https://example.org/?a=1&b=<2>)".to_string(),
        ),
    ]);
    let (title, body) = text.split_once('\n').unwrap_or(("标题", text));
    let entry = Entry {
        id: "fuzz".into(),
        kind: Kind::Faq,
        title: if title.trim().is_empty() {
            "标题".into()
        } else {
            title.trim().into()
        },
        questions: vec!["问".into()],
        keywords: Vec::new(),
        legal_basis: body.lines().take(2).map(str::to_string).collect(),
        updated: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        effective: None,
        expires: None,
        related: Vec::new(),
        supersedes: Vec::new(),
        sources: Vec::new(),
        body: body.to_string(),
        source: "fuzz.md".into(),
    };
    let reply = Reply {
        question: "问".into(),
        decision: Decision::Answer,
        entry: None,
        candidates: Vec::new(),
        confidence: 1.0,
        body: Body::Answer(Box::new(entry)),
    };
    let html = reply.telegram_html(&office);
    if let Err(e) = check_html(&html) {
        panic!("Telegram refuses the reply: {e}\nhtml: {html:?}");
    }
    check_split(&html, limit);
    check_split(&html, MESSAGE_LIMIT);
});
