//! What the hall's kiosk asks of the desk besides questions and chosen entries: the entries most
//! asked lately (its "most asked this week" row), and forgetting a conversation when the screen is
//! cleared for the next person.

use chrono::Utc;

use super::{Chat, Desk};

/// An entry answered often lately: its id, current title and how many conversations got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popular {
    pub id: String,
    pub title: String,
    pub conversations: u64,
}

impl Desk {
    /// The current entries answered (or chosen) in the most conversations over the last `days`
    /// days, at most `limit`. Entries no longer in service are left out. Titles only: nobody's
    /// question text. Empty when the store cannot be read (the failure is logged).
    pub async fn popular(&self, days: u32, limit: usize) -> Vec<Popular> {
        let since = Utc::now() - chrono::Duration::days(days.into());
        // Ask for a few more than shown: some may have gone out of service since.
        let wanted = limit.saturating_mul(2).max(limit + 4);
        let counted = self
            .store("count the entries asked most", move |st| {
                st.popular_entries(since, wanted)
            })
            .await
            .unwrap_or_default();
        let index = self.assistant().index();
        let today = crate::app::today();
        counted
            .into_iter()
            .filter_map(|(id, conversations)| {
                let e = index.find(&id).filter(|e| e.is_current(today))?;
                Some(Popular {
                    title: e.title.clone(),
                    id,
                    conversations,
                })
            })
            .take(limit)
            .collect()
    }

    /// Forgets the conversation of `chat` (topic, last question, choices). A failure is logged
    /// and reported as false; the caller starts a new conversation either way.
    pub async fn forget(&self, chat: &Chat) -> bool {
        let c = chat.clone();
        self.store("forget the conversation", move |st| {
            st.forget_conversation(c.channel.as_str(), &c.id)
        })
        .await
        .is_some()
    }

    /// What this conversation was last about, to start a note for a person with: the last question
    /// (as kept, masked), or the entry last chosen. None for a fresh conversation.
    pub async fn last_asked(&self, chat: &Chat) -> Option<String> {
        let c = self.conversation(chat).await;
        c.last_question.or_else(|| {
            let id = c.topic?;
            let index = self.assistant().index();
            index.find(&id).map(|e| format!("关于「{}」，我想问：", e.title))
        })
    }
}
