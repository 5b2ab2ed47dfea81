//! What several customs-bot processes share through the store besides tickets (#15): operators'
//! console sessions (only a digest of the token is kept), rate-limit windows, the live index
//! generation. The leases on relays and unpicked choices are columns of those records.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::ratelimit::Rate;

/// An operator's console session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorSession {
    pub operator: String,
    pub csrf: String,
    pub expires: DateTime<Utc>,
}

/// How a session token is kept: the SHA-256 of the token, in lowercase hex. Whoever reads the
/// store cannot log in with it.
pub(crate) fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How long a rate-count query may wait under a busy database: it is on the request's path, and
/// the caller lets the request through when the store fails.
pub(crate) const RATE_BUDGET: std::time::Duration = std::time::Duration::from_millis(200);

/// When a rate window opened at `now_ms` (milliseconds since the epoch) closes.
pub(crate) fn rate_window_end(now_ms: i64, window: std::time::Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(window.as_millis()).unwrap_or(i64::MAX))
}

/// The verdict for the `hits`-th request of a window allowing `limit`: the first request over the
/// limit in a window is the one told.
pub(crate) fn rate_verdict(hits: i64, limit: u32) -> Rate {
    let limit = i64::from(limit);
    if hits <= limit {
        Rate::Allowed
    } else {
        Rate::Limited(hits == limit + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_sha256_hex() {
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
