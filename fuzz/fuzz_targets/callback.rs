//! Telegram callback data: any string a client sends. Never panics; what parses formats back to
//! data that parses to the same thing, and data of our own shapes stays within 64 bytes.
#![no_main]

use customs_bot::telegram::{Callback, parse_callback};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Some(c) = parse_callback(data) {
        let again = c.format();
        assert_eq!(parse_callback(&again), Some(c.clone()), "{data:?} → {again:?}");
        if !matches!(c, Callback::Pick(_)) {
            assert!(again.len() <= 64, "{again:?}");
        }
    }
});
