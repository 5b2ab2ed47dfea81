//! Telegram updates received by webhook, as the store keeps them (`TicketStore::inbox_put` and
//! the rest of its webhook group).

/// A Telegram update kept for processing.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxUpdate {
    pub update_id: i64,
    /// The chat it belongs to (0 when none): updates of one chat are processed in order.
    pub chat: i64,
    /// The update's JSON, as Telegram sent it.
    pub payload: String,
}
