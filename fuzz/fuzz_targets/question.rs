//! The question pipeline: any text as a question, through normalise → segment → query → search →
//! decide → reply, on an index built once from tests/fixtures/valid. Never panics, never fails
//! inside (`Assistant::ask` turns errors into an "internal" hand-off, which counts as a crash
//! here), tokens point at the text they came from, features are finite and in range, and the reply
//! is a message Telegram accepts.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;
use customs_bot::app::Assistant;
use customs_bot::config::Config;
use customs_bot::reply::{Body, HandoffReason};
use customs_bot::telegram::check_html;
use customs_bot::text;
use libfuzzer_sys::fuzz_target;

fn assistant() -> &'static Assistant {
    static A: OnceLock<Assistant> = OnceLock::new();
    A.get_or_init(|| {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/valid");
        let mut config = Config::load(&fixtures.join("bot.toml")).expect("the fixture bot.toml loads");
        // Built on the first run and reopened afterwards (a stale one is rebuilt, atomically, so
        // parallel jobs may share it); git-ignored with the rest of fuzz/target.
        config.index.dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/question-index");
        Assistant::start(config).expect("the fixture knowledge builds an index")
    })
}

fuzz_target!(|question: &str| {
    let assistant = assistant();
    let index = assistant.index();
    let analyzer = index.analyzer();

    let normalized = text::normalize(question);
    for tokens in [analyzer.query_tokens(&normalized), analyzer.index_tokens(&normalized)] {
        let chars: Vec<char> = normalized.chars().collect();
        for t in tokens {
            assert_eq!(normalized.get(t.byte_start..t.byte_end), Some(t.text.as_str()), "{t:?}");
            assert!(t.char_start < t.char_end && t.char_end <= chars.len(), "{t:?}");
            assert_eq!(
                chars[t.char_start..t.char_end].iter().collect::<String>(),
                t.text,
                "{t:?}"
            );
            assert!(text::is_term(&t.text));
        }
    }

    let query = analyzer.query(question);
    assert_eq!(query.normalized, normalized);
    for (i, g) in query.groups.iter().enumerate() {
        assert!(text::is_term(&g.word) && !analyzer.is_stopword(&g.word), "{g:?}");
        assert!(
            query.groups[..i].iter().all(|h| h.word != g.word),
            "repeated group {g:?}"
        );
        assert!([0.3, 0.6, 1.0].contains(&g.weight), "{g:?}");
        assert!(g.forms().all(|(f, _)| !f.is_empty()), "{g:?}");
    }
    assert!(query.bigrams.iter().all(|b| text::is_term(b)), "{:?}", query.bigrams);

    let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let (_, hits) = index.search(question, 5, today).expect("search does not fail");
    assert!(hits.len() <= 5);
    for pair in hits.windows(2) {
        assert!(pair[0].rank >= pair[1].rank, "{hits:?}");
    }
    for h in &hits {
        assert!(h.entry < index.entries().len());
        for x in [h.score, h.rank, h.coverage, h.norm, h.matched] {
            assert!(x.is_finite() && x >= 0.0, "{h:?}");
        }
        assert!(h.coverage <= 1.0 + 1e-4, "{h:?}");
    }

    let reply = assistant.ask(question);
    assert!(
        !matches!(reply.body, Body::Handoff(HandoffReason::Internal)),
        "answering failed inside for {question:?}"
    );
    assert!(reply.confidence.is_finite());
    let html = reply.telegram_html(&assistant.config().office);
    if let Err(e) = check_html(&html) {
        panic!("Telegram refuses the reply: {e}\n{html:?}");
    }
    let _ = reply.plain(&assistant.config().office);
});
