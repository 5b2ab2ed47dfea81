//! The conversation of each chat, kept in the store between turns (it is shared by every process
//! that serves the channel, never kept in a front end).

use crate::conversation::Conversation;

use super::{Chat, Desk};

impl Desk {
    /// The conversation of `chat` as it stands (a fresh one when it expired or cannot be read).
    pub(super) async fn conversation(&self, chat: &Chat) -> Conversation {
        let idle = chrono::Duration::minutes(self.assistant.config().conversation.idle_minutes as i64);
        let c = chat.clone();
        self.store("read the conversation", move |st| {
            st.conversation(c.channel.as_str(), &c.id, chrono::Utc::now() - idle)
        })
        .await
        .flatten()
        .unwrap_or_default()
    }

    /// Keeps the conversation of `chat` for its next turn.
    pub(super) async fn remember(&self, chat: &Chat, conversation: Conversation) {
        let c = chat.clone();
        self.store("keep the conversation", move |st| {
            st.save_conversation(c.channel.as_str(), &c.id, &conversation)
        })
        .await;
    }
}
