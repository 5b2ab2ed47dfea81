//! Config parsing: any text as `bot.toml`. Never panics; a config it accepts has the office details
//! the hand-off needs, resolved paths, usable numbers (no nan, inf or negative thresholds, a real
//! UTC offset) and office hours the duty rules can work with; an error names the file.
#![no_main]

use std::path::Path;

use chrono::{DateTime, Duration};
use customs_bot::config::{Config, REQUIRED_OFFICE_KEYS};
use customs_bot::duty;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let source = Path::new("/srv/bot/bot.toml");
    match Config::parse(text, source) {
        Ok(c) => {
            for key in REQUIRED_OFFICE_KEYS {
                assert!(c.office.contains_key(key), "{key}");
            }
            for p in [&c.knowledge.dir, &c.index.dir, &c.tickets.db] {
                assert!(p.is_absolute(), "{}", p.display());
            }
            // The token never shows in Debug output.
            if let Some(t) = &c.telegram.token {
                let shown = format!("{t:?}");
                assert!(shown == "\"***\"" || shown == "\"\"", "{shown}");
            }
            let a = &c.answer;
            for v in [
                a.answer_coverage,
                a.answer_norm,
                a.answer_margin,
                a.answer_matched,
                a.matched_coverage,
                a.dominant_coverage,
                a.dominant_margin,
                a.dominant_norm,
                a.rival_gap,
                a.clarify_coverage,
                a.clarify_norm,
            ] {
                assert!(v.is_finite() && v >= 0.0, "{a:?}");
            }
            let hours = c.operators.overdue_hours;
            assert!(hours.is_finite() && hours >= 0.0, "{hours}");
            let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
            if let Some(d) = &c.duty {
                let seconds = d.offset.local_minus_utc();
                assert!((-12 * 3600..=14 * 3600).contains(&seconds), "{d:?}");
                assert!(d.periods.iter().all(|(open, close)| open < close), "{d:?}");
            }
            let clock = c.office_clock();
            let _ = duty::status(c.duty.as_ref(), now).describe(clock.local(now).naive_local());
            let _ = clock.format_minute(now);
            let h = duty::working_hours_between(c.duty.as_ref(), now - Duration::days(30), now);
            assert!(h.is_finite() && h >= 0.0 && h <= 30.0 * 24.0, "{h}");
            let _ = c.placeholder_names();
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with("/srv/bot/bot.toml: "), "{shown}");
        }
    }
});
