//! The desk: what happens to a question after it is answered, once for every channel.
//!
//! Fronts (Telegram, the web chat, the kiosk, the console) translate their channel to and from the
//! desk and render replies — nothing more. The desk takes a question (and logs it before the reply
//! goes out), a chosen entry, feedback and a request for a person; decides whether a ticket opens
//! and why ([`cases::ticket_reason`]); remembers the choices offered to each conversation; announces
//! tickets through a [`Notifier`]; and, in [`housekeeping`], relays operators' answers, reminds of
//! overdue tickets and turns choices nobody picked into tickets. The `review` CLI and the console
//! use the same rules ([`Cases`], [`knowledge`]).
//!
//! Store calls are synchronous and run on blocking threads here, so fronts never block the runtime.

pub mod cases;
mod conversation;
mod housekeeping;
mod inbox;
pub mod insight;
mod kiosk;
pub mod knowledge;
pub mod metrics;
mod notify;
mod shared;
pub mod why;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument as _;

use crate::answer::Decision;
use crate::app::{Assistant, unrecorded_reply};
use crate::reply::{Body, Reply};
use crate::tickets::{
    CloseReason, Feedback, Guess, NewTicket, QuestionRecord, QuestionRef, Ticket, TicketError, TicketReason,
    TicketStore,
};

pub use cases::Cases;
pub use housekeeping::housekeeping;
pub use kiosk::Popular;
pub use knowledge::{Mode, Outcome, PromoteTarget, Promoted, ReindexError, Reindexed};
pub use notify::{Notice, Notifier, Pending, Silent};

/// Where a conversation happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Telegram,
    /// The portal's web chat and the hall's kiosk.
    Web,
    /// `POST /api/ask`: one question at a time, no conversation to follow up.
    Api,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Telegram, Channel::Web, Channel::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Telegram => "telegram",
            Channel::Web => "web",
            Channel::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether a person is there to follow up: pick a choice, say 没帮助, hear from an operator.
    /// The API answers one question and forgets it, so it opens no tickets.
    pub fn has_conversation(self) -> bool {
        !matches!(self, Channel::Api)
    }
}

/// One conversation: a Telegram chat, a browser's web chat, an API caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chat {
    pub channel: Channel,
    /// The channel's id for it (a Telegram chat id, `web:<digest>`, `api:<address>`).
    pub id: String,
}

impl Chat {
    pub fn new(channel: Channel, id: impl Into<String>) -> Self {
        Self { channel, id: id.into() }
    }

    fn span(&self, what: &'static str) -> tracing::Span {
        tracing::info_span!("desk", op = what, channel = self.channel.as_str(), chat = %self.id)
    }
}

/// A question or a chosen entry, answered and kept.
#[derive(Debug, Clone)]
pub struct Answered {
    pub reply: Reply,
    /// The logged question's id (`None` while it waits in the spool): feedback names it.
    pub question_id: Option<i64>,
    /// The ticket the reply opened (a hand-off).
    pub ticket: Option<Ticket>,
}

/// Why a chosen entry cannot be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unchosen {
    /// Not an entry offered to this conversation (when only offered ones count), or no longer current.
    Gone,
    /// The store could not be asked; try again later.
    Unavailable,
}

/// What feedback did.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedbackOutcome {
    /// 有帮助, recorded.
    Thanks,
    /// 没帮助, recorded; the ticket opened for it (when it could be).
    Sorry(Option<Box<Ticket>>),
    /// A second tap on the same answer.
    AlreadyRecorded,
    /// Not a question of this conversation (or no such question): nothing recorded.
    Unknown,
    /// The store failed; nothing recorded.
    Failed,
}

/// The desk: the assistant, the ticket rules and whoever announces.
pub struct Desk {
    assistant: Arc<Assistant>,
    cases: Cases,
    notifier: Arc<dyn Notifier>,
    /// Woken when an operator's answer is stored, so the relay goes out at once.
    relays: tokio::sync::Notify,
    /// Woken when an update is received by webhook in this process ([`inbox`]).
    inbox: tokio::sync::Notify,
    metrics: metrics::Metrics,
}

impl Desk {
    /// A desk that announces to no one (see [`with_notifier`](Self::with_notifier)).
    pub fn new(assistant: Arc<Assistant>, store: Arc<dyn TicketStore>) -> Self {
        let config = Arc::new(assistant.config().clone());
        Self {
            assistant,
            cases: Cases::new(config, store),
            notifier: Arc::new(Silent),
            relays: tokio::sync::Notify::new(),
            inbox: tokio::sync::Notify::new(),
            metrics: metrics::Metrics::default(),
        }
    }

    /// Announces tickets and reaches people through `notifier` (Telegram).
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    pub fn assistant(&self) -> &Arc<Assistant> {
        &self.assistant
    }

    pub fn cases(&self) -> &Cases {
        &self.cases
    }

    /// Runs `f` on the store on a blocking thread; an error (or a panic) is logged once as `what`.
    pub async fn store<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&dyn TicketStore) -> anyhow::Result<T> + Send + 'static,
    ) -> Option<T> {
        let store = self.cases.store().clone();
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::error!(error = ?format!("{e:#}"), "could not {what}");
                None
            }
            Err(e) => {
                tracing::error!(error = ?e.to_string(), "could not {what}");
                None
            }
        }
    }

    /// Runs `f` with the ticket rules on a blocking thread; a store failure is logged here once.
    async fn with_cases<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Cases) -> Result<T, TicketError> + Send + 'static,
    ) -> Result<T, TicketError> {
        let cases = self.cases.clone();
        let result = tokio::task::spawn_blocking(move || f(&cases))
            .await
            .map_err(|e| TicketError::Store(anyhow::anyhow!("{e}")))?;
        if let Err(TicketError::Store(e)) = &result {
            tracing::error!(error = ?format!("{e:#}"), "the ticket store failed");
        }
        result
    }

    /// Answers a question asked in `chat`: logs it before the reply goes out, records the choices
    /// offered, and opens (and announces) a ticket when the reply hands off to a person.
    pub async fn ask(&self, chat: &Chat, question: &str) -> Answered {
        let span = chat.span("ask");
        async {
            let started = Instant::now();
            // A conversation is read in its context (follow-ups, choices in words); an API call is
            // one question on its own.
            let before = if chat.channel.has_conversation() {
                Some(self.conversation(chat).await)
            } else {
                None
            };
            let before_offered: Vec<String> = before
                .iter()
                .flat_map(|b| b.offered.iter().map(|o| o.id.clone()))
                .collect();
            let (a, q) = (self.assistant.clone(), question.to_string());
            let turn = tokio::task::spawn_blocking(move || match before {
                Some(before) => {
                    let turn = a.converse(&before, &q);
                    (turn.reply, Some(turn.conversation))
                }
                None => (a.ask(&q), None),
            })
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "answering panicked");
                (unrecorded_reply(question), None)
            });
            let (reply, after) = turn;
            // One of the offered choices answered (2, 第二个, its title or a description typed in
            // the chat): the choices were picked, as with a button, and become no ticket.
            let picked = reply.decision == Decision::Answer
                && reply.entry.as_ref().is_some_and(|e| before_offered.contains(&e.id));
            let answered = self.keep(chat, question, reply, started.elapsed()).await;
            if picked {
                let c = chat.clone();
                self.store("mark the choices picked", move |st| {
                    st.clarify_picked(c.channel.as_str(), &c.id)
                })
                .await;
            }
            if let Some(after) = after {
                self.remember(chat, after).await;
            }
            answered
        }
        .instrument(span)
        .await
    }

    /// Shows an entry the person chose in `chat`. With `offered_only`, only an entry offered to
    /// this conversation counts (the web: the browser names the entry). A chosen offer marks the
    /// conversation's choices as picked. Logged as `[选择] <title>`.
    pub async fn choose(&self, chat: &Chat, entry: &str, offered_only: bool) -> Result<Answered, Unchosen> {
        let span = chat.span("choose");
        async {
            let started = Instant::now();
            let (c, e) = (chat.clone(), entry.to_string());
            let offered = self
                .store("look up the choices offered", move |st| {
                    let offered = st.clarify_offered(c.channel.as_str(), &c.id, &e)?;
                    if offered {
                        st.clarify_picked(c.channel.as_str(), &c.id)?;
                    }
                    Ok(offered)
                })
                .await;
            match offered {
                None if offered_only => return Err(Unchosen::Unavailable),
                Some(false) if offered_only => return Err(Unchosen::Gone),
                _ => {}
            }
            let reply = self.assistant.answer_entry(entry).ok_or(Unchosen::Gone)?;
            let logged_as = format!("[选择] {}", reply.question);
            let answered = self.keep(chat, &logged_as, reply, started.elapsed()).await;
            if chat.channel.has_conversation() {
                // The chosen entry is the topic now; the question that led to the choices stays.
                let mut after = self.conversation(chat).await;
                after.topic = Some(entry.to_string());
                after.offered.clear();
                self.remember(chat, after).await;
            }
            Ok(answered)
        }
        .instrument(span)
        .await
    }

    /// Keeps a reply's question before the reply goes out, then does what the reply implies.
    async fn keep(&self, chat: &Chat, question: &str, reply: Reply, latency: Duration) -> Answered {
        let (reply, question_id) = self.log_question(chat, question, reply, latency).await;
        self.metrics
            .question(chat.channel.as_str(), reply.decision.as_str(), latency.as_secs_f64());
        tracing::info!(
            decision = reply.decision.as_str(),
            entry = reply.entry.as_ref().map_or("-", |e| e.id.as_str()),
            latency_ms = latency.as_secs_f64() * 1000.0,
            "question"
        );
        let mut ticket = None;
        if chat.channel.has_conversation() {
            if let Body::Clarify(offered) = &reply.body {
                let (c, q, offered) = (chat.clone(), reply.question.clone(), cases::guesses(offered));
                self.store("record the choices offered", move |st| {
                    st.log_clarify(c.channel.as_str(), &c.id, &q, &offered, question_id)
                })
                .await;
            } else if let Some(reason) = reply.referral().and_then(cases::ticket_reason) {
                // A hand-off, or the part of a long message only a person can answer.
                let guesses = cases::guesses(&reply.candidates);
                ticket = self.open(chat, &reply.question, reason, guesses, question_id).await;
            }
        }
        Answered {
            reply,
            question_id,
            ticket,
        }
    }

    /// Logs the question (database, or spool). When it cannot be kept at all, the reply becomes the
    /// calm hand-off with the hotline: nobody is answered as if their question had been kept.
    async fn log_question(&self, chat: &Chat, question: &str, reply: Reply, latency: Duration) -> (Reply, Option<i64>) {
        let record = QuestionRecord {
            channel: chat.channel.as_str().into(),
            chat: chat.id.clone(),
            question: question.into(),
            decision: reply.decision.as_str().into(),
            entry: reply.entry.as_ref().map(|e| e.id.clone()),
            confidence: reply.confidence,
            latency_ms: latency.as_secs_f32() * 1000.0,
            provenance: Some(Box::new(knowledge::provenance(&self.assistant, &reply))),
        };
        match self
            .store("keep the question", move |st| st.record_question(&record))
            .await
        {
            Some(logged) => (reply, logged.id()),
            None => {
                tracing::error!(
                    question = ?crate::tickets::mask(question),
                    "the question could not be kept (neither the database nor the spool took it): handing off"
                );
                (unrecorded_reply(&reply.question), None)
            }
        }
    }

    /// Opens a ticket and announces it to the operators.
    async fn open(
        &self,
        chat: &Chat,
        question: &str,
        reason: TicketReason,
        guesses: Vec<Guess>,
        question_id: Option<i64>,
    ) -> Option<Ticket> {
        let (c, q) = (chat.clone(), question.to_string());
        let ticket = self
            .store("open a ticket", move |st| {
                st.open_ticket(&NewTicket {
                    channel: c.channel.as_str(),
                    chat: &c.id,
                    question: &q,
                    reason,
                    guesses: &guesses,
                    question_id,
                })
            })
            .await?;
        tracing::info!(ticket = %ticket.number(), reason = reason.as_str(), "ticket opened");
        self.announce(&ticket).await;
        Some(ticket)
    }

    /// Tells the operators about a ticket and remembers the notice (replies to it answer the ticket).
    async fn announce(&self, ticket: &Ticket) {
        match self.notifier.announce(ticket).await {
            Ok(Some(notice)) => {
                let id = ticket.id;
                self.store("remember the ticket notice", move |st| st.set_notice(id, notice))
                    .await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(ticket = %ticket.number(), error = %format!("{e:#}"), "could not announce the ticket to the operators")
            }
        }
    }

    /// The person asked for a human (a command, a button): a ticket with their words, if any.
    pub async fn request_human(&self, chat: &Chat, note: &str) -> Option<Ticket> {
        let span = chat.span("human");
        self.open(chat, note, TicketReason::Asked, Vec::new(), None)
            .instrument(span)
            .await
    }

    /// 有帮助 / 没帮助 on an answer given to `chat`. 没帮助 opens a ticket with the answer's entry as
    /// the guess. Feedback on another conversation's question records nothing.
    pub async fn feedback(&self, chat: &Chat, question: QuestionRef<'_>, helpful: bool) -> FeedbackOutcome {
        let span = chat.span("feedback");
        async {
            let owned = match question {
                QuestionRef::Id(id) => OwnedRef::Id(id),
                QuestionRef::Key(k) => OwnedRef::Key(k.to_string()),
            };
            let c = chat.clone();
            let outcome = self
                .store("record feedback", move |st| {
                    let r = match &owned {
                        OwnedRef::Id(id) => QuestionRef::Id(*id),
                        OwnedRef::Key(k) => QuestionRef::Key(k),
                    };
                    st.feedback(r, c.channel.as_str(), &c.id, helpful)
                })
                .await;
            match outcome {
                None => FeedbackOutcome::Failed,
                Some(Feedback::Unknown) => FeedbackOutcome::Unknown,
                Some(Feedback::AlreadyRecorded) => FeedbackOutcome::AlreadyRecorded,
                Some(Feedback::Recorded(_, None)) => FeedbackOutcome::Thanks,
                Some(Feedback::Recorded(id, Some(q))) => {
                    let guesses = q.entry.iter().map(|e| self.guess(e)).collect();
                    let ticket = self.open(chat, &q.question, TicketReason::NotHelpful, guesses, Some(id));
                    FeedbackOutcome::Sorry(ticket.await.map(Box::new))
                }
            }
        }
        .instrument(span)
        .await
    }

    /// An entry as a guess, with its title when the index still has it.
    fn guess(&self, entry: &str) -> Guess {
        Guess {
            id: entry.to_string(),
            title: self
                .assistant
                .index()
                .find(entry)
                .map(|e| e.title.clone())
                .unwrap_or_default(),
        }
    }

    /// The random key that names a logged question to a browser (never its row id).
    pub async fn question_key(&self, question_id: i64) -> Option<String> {
        self.store("give a question its key", move |st| st.question_key(question_id))
            .await
    }

    /// A ticket by id.
    pub async fn ticket(&self, id: i64) -> Result<Ticket, TicketError> {
        self.with_cases(move |c| c.ticket(id)).await
    }

    /// The ticket announced by an operators' notice.
    pub async fn ticket_by_notice(&self, message_id: i64) -> Option<Ticket> {
        self.store("find the ticket of a notice", move |st| st.ticket_by_notice(message_id))
            .await
            .flatten()
    }

    /// The person read their answer on the ticket page (web): the answer reached them.
    pub async fn answer_seen(&self, ticket: &Ticket) {
        if ticket.relayed_at.is_none() && ticket.answer.is_some() {
            let id = ticket.id;
            self.store("mark the answer as seen", move |st| st.mark_relayed(id))
                .await;
        }
    }

    /// Records an operator's answer and wakes the relay.
    pub async fn answer(&self, id: i64, text: String, by: String) -> Result<Ticket, TicketError> {
        let t = self.with_cases(move |c| c.answer(id, &text, &by)).await?;
        self.relays.notify_one();
        Ok(t)
    }

    pub async fn close(&self, id: i64, reason: CloseReason) -> Result<Ticket, TicketError> {
        self.with_cases(move |c| c.close(id, reason)).await
    }
}

/// A question reference that can move to a blocking thread.
enum OwnedRef {
    Id(i64),
    Key(String),
}

fn reload(a: &Assistant) -> anyhow::Result<()> {
    if a.reload_if_changed(&a.config().index.dir)? {
        tracing::info!("switched to the new index");
    }
    Ok(())
}
