//! Telegram updates received by webhook, between the web route that receives them and the
//! Telegram workers that handle them: kept in the store once by `update_id` before Telegram is
//! answered, claimed under a lease in each chat's order by any process, marked done, released on a
//! drain. The workers of this process are woken when an update arrives here; updates received by
//! another process are found by polling.

use std::time::Duration;

use super::Desk;
use crate::tickets::InboxUpdate;

impl Desk {
    /// Keeps an update Telegram posted: `Ok(false)` when it was kept before (a retry, a
    /// duplicate). An error means it is not kept: Telegram must be told to send it again.
    pub async fn receive_update(&self, update: InboxUpdate) -> anyhow::Result<bool> {
        let store = self.cases.store().clone();
        let fresh = tokio::task::spawn_blocking(move || store.inbox_put(&update)).await??;
        if fresh {
            self.inbox.notify_one();
        }
        Ok(fresh)
    }

    /// Resolves when an update was received by this process since the last call returned (at
    /// once if one was), so that an idle worker need not wait for its next poll.
    pub async fn update_received(&self) {
        self.inbox.notified().await;
    }

    /// The next update due (see `TicketStore::inbox_claim`), leased to `owner` for `lease`.
    pub async fn claim_update(&self, owner: &str, lease: Duration) -> anyhow::Result<Option<InboxUpdate>> {
        let (store, owner) = (self.cases.store().clone(), owner.to_string());
        tokio::task::spawn_blocking(move || store.inbox_claim(&owner, lease)).await?
    }

    /// The update was handled (its replies sent).
    pub async fn update_done(&self, update_id: i64) -> anyhow::Result<()> {
        let store = self.cases.store().clone();
        tokio::task::spawn_blocking(move || store.inbox_done(update_id)).await?
    }

    /// Extends `owner`'s lease on an update still being handled; false when it is no longer theirs.
    pub async fn renew_update(&self, update_id: i64, owner: &str, lease: Duration) -> anyhow::Result<bool> {
        let (store, owner) = (self.cases.store().clone(), owner.to_string());
        tokio::task::spawn_blocking(move || store.inbox_renew(update_id, &owner, lease)).await?
    }

    /// Ends `owner`'s leases (a graceful drain), so other processes take those updates now.
    pub async fn release_updates(&self, owner: &str) -> anyhow::Result<()> {
        let (store, owner) = (self.cases.store().clone(), owner.to_string());
        tokio::task::spawn_blocking(move || store.inbox_release(&owner)).await?
    }
}
