//! What several processes share through the store besides tickets (#15): rate limits, counted so
//! that every process counts the same person's requests — per Telegram chat ("telegram"), per
//! address on the web and the kiosk ("web"), per address on the console's login ("login") —, and
//! the index generation every process serves.

use std::time::Duration;

use super::Desk;
use crate::index::SearchIndex;
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

    /// At start: when the store names no live generation, or one this process cannot open (removed,
    /// damaged, of an older schema — `serve` has just rebuilt the index), records the generation in
    /// service as live, so that every process follows it. A generation the store names that opens
    /// is left for the index watcher to switch to.
    pub async fn settle_live_generation(&self) {
        let (assistant, store) = (self.assistant.clone(), self.cases.store().clone());
        let settled = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<String>> {
            let serving = assistant.index();
            let name = serving.generation_name();
            let usable = match store.live_generation()? {
                None => false,
                Some(live) if live == name => true,
                Some(live) => SearchIndex::open_generation(&assistant.config().index.dir, &live, &serving)
                    .inspect_err(|e| tracing::warn!(generation = %live, error = %format!("{e:#}"), "the live generation the store names cannot be opened"))
                    .is_ok(),
            };
            if usable {
                return Ok(None);
            }
            store.set_live_generation(&name)?;
            Ok(Some(name))
        })
        .await;
        match settled {
            Ok(Ok(Some(name))) => {
                tracing::info!(generation = %name, "recorded the index generation in service as live")
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "could not settle the live index generation"),
            Err(e) => tracing::warn!(error = %e.to_string(), "could not settle the live index generation"),
        }
    }
}
