//! Rate limits counted in the store (#15), so that every process counts the same person's
//! requests: per Telegram chat ("telegram"), per address on the web and the kiosk ("web"), per
//! address on the console's login ("login").

use std::time::Duration;

use super::Desk;
use crate::ratelimit::Rate;

impl Desk {
    /// One request by `key` in `scope`: at most `limit` per `window` (0: no limit), counted in the
    /// store on a blocking thread. When the store fails the request is let through and a warning
    /// logged: a rate limit never takes the desk down.
    pub async fn rate_hit(&self, scope: &'static str, key: String, limit: u32, window: Duration) -> Rate {
        if limit == 0 {
            return Rate::Allowed;
        }
        let store = self.cases.store().clone();
        let counted = tokio::task::spawn_blocking(move || store.rate_hit(scope, &key, limit, window)).await;
        match counted {
            Ok(Ok(rate)) => rate,
            Ok(Err(e)) => {
                tracing::warn!(scope, error = ?format!("{e:#}"), "could not count a request against its rate limit; let through");
                Rate::Allowed
            }
            Err(e) => {
                tracing::warn!(scope, error = ?e.to_string(), "could not count a request against its rate limit; let through");
                Rate::Allowed
            }
        }
    }
}
