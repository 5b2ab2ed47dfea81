//! The question log and tickets: nothing a real channel was asked is lost.
//!
//! Callers see the [`TicketStore`] trait and typed records ([`Ticket`] with its [`TicketState`],
//! [`TicketReason`] and UTC times); only this module imports the database crates: [`sqlite`]
//! (SQLite, bundled, WAL mode; the default) and [`postgres`] (several processes sharing one
//! database), chosen by [`open_store`]. Personal data — mobile
//! numbers, ID-card numbers, unified social credit codes — is masked ([`mask`]) before anything is
//! written, so logs, exports and operator views never hold it.
//!
//! What a ticket *means* — when one opens, why, who is told — is the desk's business
//! (`crate::desk`); this module only keeps records.

mod coordination;
mod governance;
mod inbox;
mod kinds;
mod mask;
mod open;
mod postgres;
mod spool;
mod sqlite;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use coordination::OperatorSession;
pub use governance::{EntryVersion, KnowledgeChange, OperatorAnswer, Provenance, Told};
pub use inbox::InboxUpdate;
pub use kinds::{CloseReason, TicketReason, TicketState};
pub use mask::{mask, random_key};

use crate::conversation::Conversation;
pub use open::open_store;
pub use postgres::{PgStore, redact_url};
pub use sqlite::{SqliteStore, StoreOptions, spool_path};

/// One question asked on a real channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionRecord {
    pub channel: String,
    pub chat: String,
    pub question: String,
    pub decision: String,
    pub entry: Option<String>,
    pub confidence: f32,
    pub latency_ms: f32,
    /// Where the reply came from (written with the question; read back by
    /// [`TicketStore::question_told`]).
    #[serde(skip)]
    pub provenance: Option<Box<Provenance>>,
}

/// One of the assistant's guesses kept with a ticket: the entry and its title, whatever the front.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guess {
    pub id: String,
    /// Empty in tickets stored before guesses were uniform.
    #[serde(default)]
    pub title: String,
}

impl Guess {
    /// The title, or the id when no title was kept.
    pub fn label(&self) -> &str {
        if self.title.is_empty() { &self.id } else { &self.title }
    }
}

/// A new ticket.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    pub channel: &'a str,
    pub chat: &'a str,
    pub question: &'a str,
    pub reason: TicketReason,
    /// The assistant's best guesses.
    pub guesses: &'a [Guess],
    pub question_id: Option<i64>,
}

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    pub id: i64,
    pub opened_at: DateTime<Utc>,
    pub channel: String,
    pub chat: String,
    pub question: String,
    pub reason: TicketReason,
    /// The assistant's best guesses.
    pub guesses: Vec<Guess>,
    pub state: TicketState,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub relayed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<CloseReason>,
    pub promoted_to: Option<String>,
    pub notice_message_id: Option<i64>,
    pub overdue_announced: bool,
    /// The secret that opens the ticket's web page.
    #[serde(skip)]
    pub access_key: String,
    /// The logged question the ticket was opened for, if any (`review why` shows what it was told).
    pub question_id: Option<i64>,
}

impl Ticket {
    /// The number people see: T000042.
    pub fn number(&self) -> String {
        ticket_number(self.id)
    }

    /// The guesses' titles, for people.
    pub fn guess_titles(&self) -> Vec<String> {
        self.guesses.iter().map(|g| g.label().to_string()).collect()
    }
}

/// Parses "T000042", "t42" or "42" into a ticket id.
pub fn parse_ticket_number(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix(['T', 't']).unwrap_or(s);
    digits.parse::<i64>().ok().filter(|&n| n > 0)
}

/// Formats a ticket id as people see it.
pub fn ticket_number(id: i64) -> String {
    format!("T{id:06}")
}

/// What an operator's action on a ticket can run into. `Display` is for the command line and the
/// log; [`TicketError::sentence`] is what operators read in chat and in the console.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("there is no ticket {}", ticket_number(*.0))]
    NoSuchTicket(i64),
    #[error("ticket {} is already closed", ticket_number(*.0))]
    AlreadyClosed(i64),
    #[error("the answer is empty")]
    EmptyAnswer,
    /// The store itself failed.
    #[error("the ticket store failed: {0:#}")]
    Store(#[source] anyhow::Error),
}

impl TicketError {
    /// The error as an operator reads it, in Chinese; a store failure is a calm sentence (the
    /// details go to the log).
    pub fn sentence(&self) -> String {
        match self {
            TicketError::NoSuchTicket(id) => format!("没有工单 {}。", ticket_number(*id)),
            TicketError::AlreadyClosed(id) => format!("工单 {} 已经关闭，不能再答复。", ticket_number(*id)),
            TicketError::EmptyAnswer => "答复内容是空的。".to_string(),
            TicketError::Store(_) => "工单库暂时无法访问，请稍后再试。".to_string(),
        }
    }
}

impl From<anyhow::Error> for TicketError {
    fn from(e: anyhow::Error) -> Self {
        TicketError::Store(e)
    }
}

/// A set of choices nobody picked from in time.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleClarify {
    pub id: i64,
    pub channel: String,
    pub chat: String,
    pub question: String,
    pub candidates: Vec<Guess>,
    pub question_id: Option<i64>,
}

/// Figures for `customs-bot stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub days: u32,
    pub questions: i64,
    pub answered: i64,
    pub clarified: i64,
    pub handed_off: i64,
    pub smalltalk: i64,
    pub tickets_opened: i64,
    pub tickets_open: i64,
    /// Median minutes from opening a ticket to an operator's answer.
    pub median_minutes_to_answer: Option<f64>,
    pub top_entries: Vec<(String, i64)>,
    pub top_unanswered: Vec<(String, i64)>,
    pub helpful: i64,
    pub not_helpful: i64,
}

/// The median of `xs` (sorted in place), None when empty: minutes from opening a ticket to an
/// operator's answer, in [`Stats`] and in operators' trends.
pub fn median(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

/// A logged question with what became of it: its feedback, the choices offered for it that nobody
/// picked, and the ticket it led to. What operators' insight (`crate::insight`) reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedQuestion {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub channel: String,
    pub chat: String,
    /// As logged (masked).
    pub question: String,
    /// `answer`, `clarify`, `handoff` or `smalltalk`.
    pub decision: String,
    /// The entry answered, when one was.
    pub entry: Option<String>,
    /// 有帮助 (`true`) or 没帮助 (`false`), when the person said.
    pub helpful: Option<bool>,
    /// The choices offered for it, when nobody picked one (empty otherwise).
    pub unpicked: Vec<Guess>,
    /// The latest ticket opened for it.
    pub ticket: Option<TicketLink>,
}

/// The ticket a logged question led to, as insight needs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketLink {
    pub id: i64,
    pub reason: TicketReason,
    pub guesses: Vec<Guess>,
    /// The operator's answer, once given.
    pub answer: Option<String>,
}

/// Which logged question feedback is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionRef<'a> {
    /// The row id (Telegram's buttons: the chat they come from is Telegram's own, not the client's word).
    Id(i64),
    /// The question's random key from [`TicketStore::question_key`] (the web: unguessable).
    Key(&'a str),
}

/// What recording feedback did.
#[derive(Debug, Clone, PartialEq)]
pub enum Feedback {
    /// Recorded now for the question with this id; for "not helpful", the question itself.
    Recorded(i64, Option<QuestionRecord>),
    /// Feedback for that question was already recorded (a second tap).
    AlreadyRecorded,
    /// No such question in this conversation (another conversation's question looks the same).
    Unknown,
}

/// Where a question was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    /// In the database, with its id.
    Stored(i64),
    /// In the spool: the database did not take it within the budget. It is replayed into the
    /// database later; until then it has no id, so nothing that needs one (feedback buttons, a
    /// ticket's link to its question) may be offered.
    Spooled,
}

impl Logged {
    /// The question's id, when it is in the database.
    pub fn id(self) -> Option<i64> {
        match self {
            Logged::Stored(id) => Some(id),
            Logged::Spooled => None,
        }
    }
}

/// Where questions, tickets and feedback are kept. Every method is short and synchronous; async
/// callers run them on a blocking thread.
pub trait TicketStore: Send + Sync {
    /// Keeps a question before its reply is sent: in the database, or — when the database stays
    /// locked or is full past the retry budget — in a spool that is replayed later. An error means
    /// it could not be kept at all: the caller must not pretend it was (it hands off instead).
    fn record_question(&self, q: &QuestionRecord) -> anyhow::Result<Logged>;
    /// Moves questions kept in the spool into the database, idempotently (each once, however often
    /// a replay is cut short); returns how many were added. A store without a spool adds none.
    fn replay_spool(&self) -> anyhow::Result<usize> {
        Ok(0)
    }
    /// The most recent questions, newest first.
    fn recent_questions(&self, limit: usize) -> anyhow::Result<Vec<QuestionRecord>>;
    /// Opens a ticket.
    fn open_ticket(&self, t: &NewTicket<'_>) -> anyhow::Result<Ticket>;
    /// A ticket by id.
    fn ticket(&self, id: i64) -> anyhow::Result<Option<Ticket>>;
    /// Tickets, oldest first, optionally only those in `state`.
    fn tickets(&self, state: Option<TicketState>) -> anyhow::Result<Vec<Ticket>>;
    /// Records an operator's answer (state → answered); the desk relays it.
    fn answer_ticket(&self, id: i64, answer: &str, by: &str) -> Result<Ticket, TicketError>;
    /// Answered tickets of `channel` whose answer has not reached the person yet.
    fn pending_relays(&self, channel: &str) -> anyhow::Result<Vec<Ticket>>;
    /// The answer reached the person: closed, reason relayed.
    fn mark_relayed(&self, id: i64) -> anyhow::Result<()>;
    /// Closes a ticket with a reason (and, when promoted, the entry it went to).
    fn close_ticket(&self, id: i64, reason: CloseReason, promoted_to: Option<&str>) -> Result<Ticket, TicketError>;
    /// Remembers the message that announced the ticket to operators.
    fn set_notice(&self, id: i64, message_id: i64) -> anyhow::Result<()>;
    /// The ticket announced by that message.
    fn ticket_by_notice(&self, message_id: i64) -> anyhow::Result<Option<Ticket>>;
    /// Open tickets opened before `cutoff` that were not yet re-announced as overdue.
    fn overdue_unannounced(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>>;
    fn mark_overdue_announced(&self, id: i64) -> anyhow::Result<()>;
    /// Records that choices were offered.
    fn log_clarify(
        &self,
        channel: &str,
        chat: &str,
        question: &str,
        candidates: &[Guess],
        question_id: Option<i64>,
    ) -> anyhow::Result<i64>;
    /// The person picked one of the choices offered in `chat`.
    fn clarify_picked(&self, channel: &str, chat: &str) -> anyhow::Result<()>;
    /// Whether entry `entry` was among the choices ever offered in `chat` of `channel`.
    fn clarify_offered(&self, channel: &str, chat: &str, entry: &str) -> anyhow::Result<bool>;
    /// Choices offered before `cutoff` (on any channel) that nobody picked and that have no ticket yet.
    fn stale_clarifies(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<StaleClarify>>;
    fn link_clarify(&self, clarify_id: i64, ticket_id: i64) -> anyhow::Result<()>;
    /// The question's random key (128 bits, created on first call): how the web names a question
    /// to the browser, so that questions cannot be enumerated by their row ids.
    fn question_key(&self, question_id: i64) -> anyhow::Result<String>;
    /// Records whether the answer to a logged question helped (once per question). Only the
    /// conversation that asked (`channel` and `chat` as logged) may: for any other, the question
    /// is [`Feedback::Unknown`] and nothing is recorded.
    fn feedback(&self, question: QuestionRef<'_>, channel: &str, chat: &str, helpful: bool)
    -> anyhow::Result<Feedback>;
    /// Figures for the last `days` days.
    fn stats(&self, days: u32) -> anyhow::Result<Stats>;
    /// Questions logged at or after `since`, oldest first, each with its feedback, its unpicked
    /// choices and its latest ticket (for operators' insight: gaps, helpfulness, trends).
    fn question_log(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<LoggedQuestion>>;
    /// Tickets that were open at some time at or after `since` (opened since, or not yet closed
    /// then), oldest first (for trends: opened, closed and overdue per day).
    fn tickets_since(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>>;
    /// The conversation of one chat, if it was kept at or after `since` (older ones have expired).
    fn conversation(&self, channel: &str, chat: &str, since: DateTime<Utc>) -> anyhow::Result<Option<Conversation>>;
    /// Keeps the conversation of one chat in place of the previous one (its question masked).
    fn save_conversation(&self, channel: &str, chat: &str, conversation: &Conversation) -> anyhow::Result<()>;
    /// Forgets the conversation of one chat (its topic, last question and choices): the kiosk's
    /// 结束 and idle reset, so the next person starts afresh.
    fn forget_conversation(&self, channel: &str, chat: &str) -> anyhow::Result<()>;
    /// The entries answered most often since `since` (answered questions and chosen entries, on
    /// any channel), most first: `(entry id, conversations)`, each conversation counted once per
    /// entry so that one person tapping again does not raise it; ties by id. At most `limit`.
    fn popular_entries(&self, since: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<(String, u64)>>;
    /// Deletes questions (with their provenance), feedback, closed tickets and knowledge changes
    /// older than `days`, expired console sessions and rate-limit windows, and webhook updates done
    /// more than a day ago. Returns rows removed (of the records older than `days`).
    fn purge(&self, days: u32) -> anyhow::Result<usize>;
    /// What was told for logged question `id` (its reply and provenance, and operators' answers to
    /// its tickets); None when there is no such question.
    fn question_told(&self, id: i64) -> anyhow::Result<Option<Told>>;
    /// The distinct questions (masked, as stored) asked on real channels in the last `days` days,
    /// most asked first, at most `limit`: what a reindex replays.
    fn asked_questions(&self, days: u32, limit: usize) -> anyhow::Result<Vec<String>>;
    /// Adds a knowledge change to the audit trail; returns its id.
    fn record_change(&self, change: &KnowledgeChange) -> anyhow::Result<i64>;
    /// The audit trail, newest first: every change, or those touching entry `entry`; at most `limit`.
    fn changes(&self, entry: Option<&str>, limit: usize) -> anyhow::Result<Vec<KnowledgeChange>>;

    // --- Several processes: work done once, state shared (#15) ---
    /// Answered tickets of `channel` whose answer has not reached the person yet, leased to the
    /// caller for `lease`: until `mark_relayed` or the lease runs out (the process died), no other
    /// caller gets them (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    fn claim_relays(&self, channel: &str, lease: std::time::Duration) -> anyhow::Result<Vec<Ticket>>;
    /// Makes a relay whose sending failed due again at once (ends its lease).
    fn release_relay(&self, id: i64) -> anyhow::Result<()>;
    /// Open tickets opened before `cutoff` that were not announced as overdue, marked announced
    /// in the same statement: each is returned to one caller only.
    fn claim_overdue(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>>;
    /// Like `stale_clarifies`, but each returned set is leased to the caller for `lease`
    /// (`link_clarify` ends it), so that one unpicked set of choices becomes one ticket.
    fn claim_stale_clarifies(
        &self,
        cutoff: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> anyhow::Result<Vec<StaleClarify>>;
    /// One request by `key` (a chat, an IP address) in `scope` ("telegram", "web", "login"):
    /// at most `limit` per `window` (fixed windows are fine), and `Rate::Limited(true)` once per
    /// window. `limit == 0` allows everything. (`crate::ratelimit::Rate`.)
    fn rate_hit(
        &self,
        scope: &str,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> anyhow::Result<crate::ratelimit::Rate>;
    /// An operator's console session: only a SHA-256 of `token` is stored.
    fn create_session(&self, token: &str, session: &OperatorSession) -> anyhow::Result<()>;
    /// The session of `token`, when it exists and has not expired.
    fn session(&self, token: &str) -> anyhow::Result<Option<OperatorSession>>;
    fn end_session(&self, token: &str) -> anyhow::Result<()>;
    /// Records the index generation now live (on every publish), so that replicas load it.
    fn set_live_generation(&self, generation: &str) -> anyhow::Result<()>;
    /// The index generation last published, when one was recorded.
    fn live_generation(&self) -> anyhow::Result<Option<String>>;
    // --- Telegram updates received by webhook (#15) ---
    /// Keeps an update once: false when `update_id` was kept before (a retry or a duplicate).
    fn inbox_put(&self, update: &InboxUpdate) -> anyhow::Result<bool>;
    /// The oldest kept update that is not done and not leased, and whose chat has no older update
    /// not done (per-chat order), leased to `owner` for `lease`; None when nothing is due.
    fn inbox_claim(&self, owner: &str, lease: std::time::Duration) -> anyhow::Result<Option<InboxUpdate>>;
    /// The update was handled (its replies sent).
    fn inbox_done(&self, update_id: i64) -> anyhow::Result<()>;
    /// Extends `owner`'s lease on an update still being handled to `lease` from now (a handler
    /// slowed by Telegram's limits keeps it); false when the lease is no longer `owner`'s.
    fn inbox_renew(&self, update_id: i64, owner: &str, lease: std::time::Duration) -> anyhow::Result<bool>;
    /// Ends the leases `owner` holds (a graceful drain), so other processes take those updates now.
    fn inbox_release(&self, owner: &str) -> anyhow::Result<()>;
}
