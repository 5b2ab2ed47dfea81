//! Knowledge entry parser: any text as an entry file. Never panics; an entry it accepts is valid
//! (id charset and length, required fields, dates in order) and comes with no errors; every
//! problem points at a line that exists in the file.
#![no_main]

use customs_bot::knowledge::entry::{self, MAX_ID_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let (parsed, problems) = entry::parse("fuzz.md", text);
    let lines = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n")
        .split('\n')
        .count();
    for p in &problems {
        assert!(
            (1..=lines).contains(&p.line),
            "problem on line {} of a {lines}-line file: {p}",
            p.line
        );
        assert!(!p.what.is_empty() && !p.fix.is_empty(), "{p:?}");
    }
    if let Some((e, l)) = parsed {
        assert!(
            !problems.iter().any(|p| p.is_error()),
            "an entry with errors: {problems:?}"
        );
        assert!(!e.id.is_empty() && e.id.len() <= MAX_ID_LEN, "{:?}", e.id);
        assert!(
            e.id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !e.id.starts_with('-'),
            "{:?}",
            e.id
        );
        assert!(!e.title.trim().is_empty() && !e.body.trim().is_empty());
        assert!(!e.questions.is_empty());
        for s in e
            .questions
            .iter()
            .chain(&e.keywords)
            .chain(&e.legal_basis)
            .chain(&e.related)
        {
            assert!(!s.trim().is_empty() && s.trim() == s, "{s:?}");
        }
        if let (Some(a), Some(b)) = (e.effective, e.expires) {
            assert!(a <= b);
        }
        for line in [l.id, l.questions, l.related, l.body] {
            assert!((1..=lines).contains(&line), "line {line} of {lines}");
        }
    }
});
