//! The verdict of a rate limit per key (a chat, an IP address), with one polite notice per window.
//!
//! The requests are counted in the store (`TicketStore::rate_hit`, through `Desk::rate_hit`), so
//! that several processes behind a load balancer count one person's requests together; front ends
//! act on the verdict.

/// The verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Allowed,
    /// Over the limit; `true` when the person should be told (once a window).
    Limited(bool),
}
