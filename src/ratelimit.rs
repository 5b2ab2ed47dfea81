//! A sliding-window rate limit per key (a chat, an IP address), with one polite notice per window.
//!
//! Pure and in memory: front ends use it to keep one person from flooding the assistant.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Allowed,
    /// Over the limit; `true` when the person should be told (once a window).
    Limited(bool),
}

/// One key's recent requests and when it was last told to slow down.
type Recent = (VecDeque<Instant>, Option<Instant>);

/// At most `limit` requests per key within `window`.
pub struct RateLimiter<K> {
    limit: u32,
    window: Duration,
    keys: Mutex<HashMap<K, Recent>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A `limit` of 0 allows everything.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            keys: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: &K) -> Rate {
        if self.limit == 0 {
            return Rate::Allowed;
        }
        let now = Instant::now();
        let window = self.window;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() > 10_000 {
            keys.retain(|_, (times, _)| times.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let (times, noticed) = keys.entry(key.clone()).or_default();
        while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
            times.pop_front();
        }
        if times.len() < self.limit as usize {
            times.push_back(now);
            return Rate::Allowed;
        }
        let tell = noticed.is_none_or(|t| now.duration_since(t) >= window);
        if tell {
            *noticed = Some(now);
        }
        Rate::Limited(tell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_notices_once() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        assert_eq!(l.check(&1), Rate::Allowed);
        assert_eq!(l.check(&1), Rate::Allowed);
        assert_eq!(l.check(&1), Rate::Limited(true));
        assert_eq!(l.check(&1), Rate::Limited(false));
        assert_eq!(l.check(&2), Rate::Allowed);
        let open = RateLimiter::new(0, Duration::from_secs(60));
        assert!((0..100).all(|_| open.check(&1) == Rate::Allowed));
    }
}
