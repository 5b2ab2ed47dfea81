//! What several customs-bot processes share through the store besides tickets (#15): operators'
//! console sessions (only a digest of the token is kept), rate-limit windows, the live index
//! generation. The leases on relays and unpicked choices are columns of those records.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

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
