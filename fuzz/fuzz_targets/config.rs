//! Config parsing: any text as `bot.toml`. Never panics; a config it accepts has the office details
//! the hand-off needs and resolved paths; an error names the file.
#![no_main]

use std::path::Path;

use customs_bot::config::{Config, REQUIRED_OFFICE_KEYS};
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
            let _ = c.placeholder_names();
        }
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.starts_with("/srv/bot/bot.toml: "), "{shown}");
        }
    }
});
