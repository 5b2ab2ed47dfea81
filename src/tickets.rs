//! The question log and tickets: nothing a real channel was asked is lost.
//!
//! Callers see the [`TicketStore`] trait and plain records; only this module imports the database
//! crate (SQLite, bundled, WAL mode), so a networked database can be added behind the same trait.
//! Migrations live in `migrations/` and are applied on open (`PRAGMA user_version` records the
//! step). Personal data — mobile numbers, ID-card numbers, unified social credit codes — is masked
//! before anything is written, so logs, exports and operator views never hold it.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// The migrations, in order. Each runs once.
const MIGRATIONS: [&str; 4] = [
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_operators.sql"),
    include_str!("../migrations/0003_ticket_keys.sql"),
    include_str!("../migrations/0004_question_refs.sql"),
];

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
}

/// Why a ticket was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketReason {
    /// The assistant was not sure.
    Handoff,
    /// The person asked for a human.
    Asked,
    /// The person said an answer did not help.
    NotHelpful,
    /// Something failed inside.
    Internal,
    /// Choices were offered and nobody picked one in time.
    UnpickedClarify,
}

impl TicketReason {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketReason::Handoff => "handoff",
            TicketReason::Asked => "asked",
            TicketReason::NotHelpful => "not_helpful",
            TicketReason::Internal => "internal",
            TicketReason::UnpickedClarify => "unpicked_clarify",
        }
    }

    /// The reason as operators read it.
    pub fn label(reason: &str) -> &'static str {
        match reason {
            "handoff" => "机器人没把握",
            "asked" => "用户要求转人工",
            "not_helpful" => "用户反馈没帮助",
            "internal" => "系统故障",
            "unpicked_clarify" => "给出选项后用户未选择",
            _ => "其他",
        }
    }
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Open,
    Answered,
    Closed,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Open => "open",
            TicketState::Answered => "answered",
            TicketState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(TicketState::Open),
            "answered" => Some(TicketState::Answered),
            "closed" => Some(TicketState::Closed),
            _ => None,
        }
    }
}

/// Why a ticket was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The operator's answer reached the person.
    Relayed,
    /// The question became knowledge.
    Promoted,
    /// The same question is handled in another ticket.
    Duplicate,
    /// Not a customs matter.
    OutOfScope,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Relayed => "relayed",
            CloseReason::Promoted => "promoted",
            CloseReason::Duplicate => "duplicate",
            CloseReason::OutOfScope => "out_of_scope",
        }
    }
}

/// A new ticket.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    pub channel: &'a str,
    pub chat: &'a str,
    pub question: &'a str,
    pub reason: TicketReason,
    /// The assistant's best guesses, JSON.
    pub guesses: String,
    pub question_id: Option<i64>,
}

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    pub id: i64,
    pub opened_at: String,
    pub channel: String,
    pub chat: String,
    pub question: String,
    pub reason: String,
    /// The assistant's best guesses (JSON array).
    pub guesses: String,
    pub state: String,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    pub relayed_at: Option<String>,
    pub closed_at: Option<String>,
    pub close_reason: Option<String>,
    pub promoted_to: Option<String>,
    pub notice_message_id: Option<i64>,
    pub overdue_announced: bool,
    /// The secret that opens the ticket's web page.
    #[serde(skip)]
    pub access_key: String,
}

impl Ticket {
    /// The number people see: T000042.
    pub fn number(&self) -> String {
        ticket_number(self.id)
    }

    /// The guesses' titles, for people.
    pub fn guess_titles(&self) -> Vec<String> {
        serde_json::from_str::<Vec<serde_json::Value>>(&self.guesses)
            .unwrap_or_default()
            .iter()
            .filter_map(|g| g["title"].as_str().or(g["id"].as_str()).map(str::to_string))
            .collect()
    }
}

/// Parses "T000042", "t42" or "42" into a ticket id.
pub fn parse_ticket_number(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix(['T', 't']).unwrap_or(s);
    digits.parse::<i64>().ok().filter(|&n| n > 0)
}

/// A clarify nobody picked from in time.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleClarify {
    pub id: i64,
    pub channel: String,
    pub chat: String,
    pub question: String,
    pub candidates: String,
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

/// Formats a ticket id as people see it.
pub fn ticket_number(id: i64) -> String {
    format!("T{id:06}")
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

/// Where questions, tickets and feedback are kept. Every method is short and synchronous; async
/// callers run them on a blocking thread.
pub trait TicketStore: Send + Sync {
    /// Logs a question (before its reply is sent). Returns its id.
    fn log_question(&self, q: &QuestionRecord) -> anyhow::Result<i64>;
    /// Opens a ticket.
    fn open_ticket(&self, t: &NewTicket<'_>) -> anyhow::Result<Ticket>;
    /// A ticket by id.
    fn ticket(&self, id: i64) -> anyhow::Result<Option<Ticket>>;
    /// Tickets, oldest first, optionally only those in `state`.
    fn tickets(&self, state: Option<TicketState>) -> anyhow::Result<Vec<Ticket>>;
    /// Records an operator's answer (state → answered); the running bot relays it.
    fn answer_ticket(&self, id: i64, answer: &str, by: &str) -> anyhow::Result<Ticket>;
    /// Answered tickets of `channel` whose answer has not reached the person yet.
    fn pending_relays(&self, channel: &str) -> anyhow::Result<Vec<Ticket>>;
    /// The answer reached the person: closed, reason relayed.
    fn mark_relayed(&self, id: i64) -> anyhow::Result<()>;
    /// Closes a ticket with a reason (and, when promoted, the entry it went to).
    fn close_ticket(&self, id: i64, reason: CloseReason, promoted_to: Option<&str>) -> anyhow::Result<Ticket>;
    /// Remembers the message that announced the ticket to operators.
    fn set_notice(&self, id: i64, message_id: i64) -> anyhow::Result<()>;
    /// The ticket announced by that message.
    fn ticket_by_notice(&self, message_id: i64) -> anyhow::Result<Option<Ticket>>;
    /// Open tickets opened before `cutoff` (RFC 3339) that were not yet re-announced.
    fn overdue_unannounced(&self, cutoff: &str) -> anyhow::Result<Vec<Ticket>>;
    fn mark_overdue_announced(&self, id: i64) -> anyhow::Result<()>;
    /// Records that choices were offered.
    fn log_clarify(
        &self,
        channel: &str,
        chat: &str,
        question: &str,
        candidates: &str,
        question_id: Option<i64>,
    ) -> anyhow::Result<i64>;
    /// The person picked one of the choices offered in `chat`.
    fn clarify_picked(&self, channel: &str, chat: &str) -> anyhow::Result<()>;
    /// Whether entry `entry` was among the choices ever offered in `chat` of `channel`.
    fn clarify_offered(&self, channel: &str, chat: &str, entry: &str) -> anyhow::Result<bool>;
    /// Clarifies of `channel` offered before `cutoff` that nobody picked and that have no ticket yet.
    fn stale_clarifies(&self, channel: &str, cutoff: &str) -> anyhow::Result<Vec<StaleClarify>>;
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
    /// Deletes questions, feedback and closed tickets older than `days`. Returns rows removed.
    fn purge(&self, days: u32) -> anyhow::Result<usize>;
}

/// The embedded SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("opening the ticket store at {}", path.display()))?;
        Self::setup(conn).with_context(|| format!("preparing the ticket store at {}", path.display()))
    }

    /// An in-memory store (tests).
    pub fn in_memory() -> anyhow::Result<Self> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> anyhow::Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            anyhow::bail!(
                "the database is from a newer customs-bot (schema {version}, this one knows {})",
                MIGRATIONS.len()
            );
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)
                .with_context(|| format!("applying migration {}", i + 1))?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
        }
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The schema step the database is at.
    pub fn schema_version(&self) -> anyhow::Result<usize> {
        Ok(self.conn().pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// How many questions are logged (tests, stats).
    pub fn question_count(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM questions", [], |r| r.get(0))?)
    }

    /// The last logged question (tests).
    pub fn last_question(&self) -> anyhow::Result<Option<QuestionRecord>> {
        Ok(self.conn().query_row(
            "SELECT channel, chat, question, decision, entry, confidence, latency_ms FROM questions ORDER BY id DESC LIMIT 1",
            [],
            row_question,
        ).optional()?)
    }
}

const TICKET_COLUMNS: &str = "id, opened_at, channel, chat, question, reason, guesses, state, answer, answered_by, \
     answered_at, relayed_at, closed_at, close_reason, promoted_to, notice_message_id, overdue_announced, \
     COALESCE(access_key, '')";

fn row_ticket(r: &rusqlite::Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: r.get(0)?,
        opened_at: r.get(1)?,
        channel: r.get(2)?,
        chat: r.get(3)?,
        question: r.get(4)?,
        reason: r.get(5)?,
        guesses: r.get(6)?,
        state: r.get(7)?,
        answer: r.get(8)?,
        answered_by: r.get(9)?,
        answered_at: r.get(10)?,
        relayed_at: r.get(11)?,
        closed_at: r.get(12)?,
        close_reason: r.get(13)?,
        promoted_to: r.get(14)?,
        notice_message_id: r.get(15)?,
        overdue_announced: r.get(16)?,
        access_key: r.get(17)?,
    })
}

impl SqliteStore {
    fn tickets_where(&self, clause: &str, params: impl rusqlite::Params) -> anyhow::Result<Vec<Ticket>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {TICKET_COLUMNS} FROM tickets {clause}"))?;
        let rows = stmt.query_map(params, row_ticket)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn get_ticket(&self, id: i64) -> anyhow::Result<Ticket> {
        self.ticket(id)?
            .ok_or_else(|| anyhow::anyhow!("there is no ticket {}", ticket_number(id)))
    }
}

fn row_question(r: &rusqlite::Row<'_>) -> rusqlite::Result<QuestionRecord> {
    Ok(QuestionRecord {
        channel: r.get(0)?,
        chat: r.get(1)?,
        question: r.get(2)?,
        decision: r.get(3)?,
        entry: r.get(4)?,
        confidence: r.get(5)?,
        latency_ms: r.get(6)?,
    })
}

impl TicketStore for SqliteStore {
    fn log_question(&self, q: &QuestionRecord) -> anyhow::Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO questions (at, channel, chat, question, decision, entry, confidence, latency_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                now(),
                q.channel,
                q.chat,
                mask(&q.question),
                q.decision,
                q.entry,
                q.confidence,
                q.latency_ms
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn open_ticket(&self, t: &NewTicket<'_>) -> anyhow::Result<Ticket> {
        let id = {
            let conn = self.conn();
            conn.execute(
                "INSERT INTO tickets (opened_at, channel, chat, question, reason, guesses, question_id, access_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    now(),
                    t.channel,
                    t.chat,
                    mask(t.question),
                    t.reason.as_str(),
                    t.guesses,
                    t.question_id,
                    random_key()
                ],
            )?;
            conn.last_insert_rowid()
        };
        self.get_ticket(id)
    }

    fn ticket(&self, id: i64) -> anyhow::Result<Option<Ticket>> {
        Ok(self.tickets_where("WHERE id = ?1", [id])?.pop())
    }

    fn tickets(&self, state: Option<TicketState>) -> anyhow::Result<Vec<Ticket>> {
        match state {
            Some(s) => self.tickets_where("WHERE state = ?1 ORDER BY opened_at, id", [s.as_str()]),
            None => self.tickets_where("ORDER BY opened_at, id", []),
        }
    }

    fn answer_ticket(&self, id: i64, answer: &str, by: &str) -> anyhow::Result<Ticket> {
        let answer = answer.trim();
        anyhow::ensure!(!answer.is_empty(), "the answer is empty");
        let ticket = self.get_ticket(id)?;
        anyhow::ensure!(ticket.state != "closed", "ticket {} is already closed", ticket.number());
        self.conn().execute(
            "UPDATE tickets SET state = 'answered', answer = ?2, answered_by = ?3, answered_at = ?4, relayed_at = NULL WHERE id = ?1",
            params![id, mask(answer), by, now()],
        )?;
        self.get_ticket(id)
    }

    fn pending_relays(&self, channel: &str) -> anyhow::Result<Vec<Ticket>> {
        self.tickets_where(
            "WHERE state = 'answered' AND relayed_at IS NULL AND channel = ?1 ORDER BY answered_at, id",
            [channel],
        )
    }

    fn mark_relayed(&self, id: i64) -> anyhow::Result<()> {
        let at = now();
        self.conn().execute(
            "UPDATE tickets SET relayed_at = ?2, state = 'closed', closed_at = ?2, close_reason = 'relayed' WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    fn close_ticket(&self, id: i64, reason: CloseReason, promoted_to: Option<&str>) -> anyhow::Result<Ticket> {
        self.get_ticket(id)?;
        self.conn().execute(
            "UPDATE tickets SET state = 'closed', closed_at = ?2, close_reason = ?3,
                 promoted_to = COALESCE(?4, promoted_to) WHERE id = ?1",
            params![id, now(), reason.as_str(), promoted_to],
        )?;
        self.get_ticket(id)
    }

    fn set_notice(&self, id: i64, message_id: i64) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE tickets SET notice_message_id = ?2 WHERE id = ?1",
            params![id, message_id],
        )?;
        Ok(())
    }

    fn ticket_by_notice(&self, message_id: i64) -> anyhow::Result<Option<Ticket>> {
        Ok(self
            .tickets_where("WHERE notice_message_id = ?1 ORDER BY id DESC LIMIT 1", [message_id])?
            .pop())
    }

    fn overdue_unannounced(&self, cutoff: &str) -> anyhow::Result<Vec<Ticket>> {
        self.tickets_where(
            "WHERE state = 'open' AND overdue_announced = 0 AND opened_at < ?1 ORDER BY opened_at",
            [cutoff],
        )
    }

    fn mark_overdue_announced(&self, id: i64) -> anyhow::Result<()> {
        self.conn()
            .execute("UPDATE tickets SET overdue_announced = 1 WHERE id = ?1", [id])?;
        Ok(())
    }

    fn log_clarify(
        &self,
        channel: &str,
        chat: &str,
        question: &str,
        candidates: &str,
        question_id: Option<i64>,
    ) -> anyhow::Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO clarifies (at, channel, chat, question, candidates, question_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![now(), channel, chat, mask(question), candidates, question_id],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn clarify_picked(&self, channel: &str, chat: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE clarifies SET picked = 1 WHERE channel = ?1 AND chat = ?2 AND picked = 0",
            params![channel, chat],
        )?;
        Ok(())
    }

    fn clarify_offered(&self, channel: &str, chat: &str, entry: &str) -> anyhow::Result<bool> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT candidates FROM clarifies WHERE channel = ?1 AND chat = ?2")?;
        let rows = stmt.query_map(params![channel, chat], |r| r.get::<_, String>(0))?;
        for candidates in rows {
            let offered = serde_json::from_str::<Vec<serde_json::Value>>(&candidates?).unwrap_or_default();
            if offered.iter().any(|c| c["id"].as_str() == Some(entry)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn stale_clarifies(&self, channel: &str, cutoff: &str) -> anyhow::Result<Vec<StaleClarify>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, channel, chat, question, candidates, question_id FROM clarifies
             WHERE picked = 0 AND ticket_id IS NULL AND at < ?1 AND channel = ?2 ORDER BY at",
        )?;
        let rows = stmt.query_map(params![cutoff, channel], |r| {
            Ok(StaleClarify {
                id: r.get(0)?,
                channel: r.get(1)?,
                chat: r.get(2)?,
                question: r.get(3)?,
                candidates: r.get(4)?,
                question_id: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn link_clarify(&self, clarify_id: i64, ticket_id: i64) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE clarifies SET ticket_id = ?2 WHERE id = ?1",
            params![clarify_id, ticket_id],
        )?;
        Ok(())
    }

    fn stats(&self, days: u32) -> anyhow::Result<Stats> {
        let since = (chrono::Utc::now() - chrono::Duration::days(days.into()))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let conn = self.conn();
        let count = |sql: &str| -> anyhow::Result<i64> { Ok(conn.query_row(sql, [&since], |r| r.get(0))?) };
        let by_decision = |d: &str| -> anyhow::Result<i64> {
            Ok(conn.query_row(
                "SELECT COUNT(*) FROM questions WHERE at >= ?1 AND decision = ?2",
                params![since, d],
                |r| r.get(0),
            )?)
        };
        let mut minutes: Vec<f64> = {
            let mut stmt = conn.prepare(
                "SELECT (julianday(answered_at) - julianday(opened_at)) * 1440.0 FROM tickets
                 WHERE answered_at IS NOT NULL AND opened_at >= ?1",
            )?;
            let rows = stmt.query_map([&since], |r| r.get::<_, f64>(0))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        minutes.sort_by(f64::total_cmp);
        let median = (!minutes.is_empty()).then(|| {
            let n = minutes.len();
            if n % 2 == 1 {
                minutes[n / 2]
            } else {
                (minutes[n / 2 - 1] + minutes[n / 2]) / 2.0
            }
        });
        let top = |sql: &str| -> anyhow::Result<Vec<(String, i64)>> {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([&since], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        };
        Ok(Stats {
            days,
            questions: count("SELECT COUNT(*) FROM questions WHERE at >= ?1")?,
            answered: by_decision("answer")?,
            clarified: by_decision("clarify")?,
            handed_off: by_decision("handoff")?,
            smalltalk: by_decision("smalltalk")?,
            tickets_opened: count("SELECT COUNT(*) FROM tickets WHERE opened_at >= ?1")?,
            tickets_open: conn.query_row("SELECT COUNT(*) FROM tickets WHERE state = 'open'", [], |r| r.get(0))?,
            median_minutes_to_answer: median,
            top_entries: top(
                "SELECT entry, COUNT(*) AS n FROM questions WHERE at >= ?1 AND decision = 'answer' AND entry IS NOT NULL
                 GROUP BY entry ORDER BY n DESC, entry LIMIT 10",
            )?,
            top_unanswered: top(
                "SELECT question, COUNT(*) AS n FROM questions WHERE at >= ?1 AND decision = 'handoff'
                 GROUP BY question ORDER BY n DESC, question LIMIT 10",
            )?,
            helpful: count("SELECT COUNT(*) FROM feedback WHERE at >= ?1 AND helpful = 1")?,
            not_helpful: count("SELECT COUNT(*) FROM feedback WHERE at >= ?1 AND helpful = 0")?,
        })
    }

    fn question_key(&self, question_id: i64) -> anyhow::Result<String> {
        let conn = self.conn();
        conn.execute(
            "UPDATE questions SET ref_key = ?2 WHERE id = ?1 AND ref_key IS NULL",
            params![question_id, random_key()],
        )?;
        conn.query_row("SELECT ref_key FROM questions WHERE id = ?1", [question_id], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| anyhow::anyhow!("there is no question {question_id}"))
    }

    fn feedback(
        &self,
        question: QuestionRef<'_>,
        channel: &str,
        chat: &str,
        helpful: bool,
    ) -> anyhow::Result<Feedback> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let (clause, key): (&str, &dyn rusqlite::ToSql) = match &question {
            QuestionRef::Id(id) => ("id = ?1", id),
            QuestionRef::Key(k) => ("ref_key = ?1", k),
        };
        let found = tx
            .query_row(
                &format!(
                    "SELECT id, channel, chat, question, decision, entry, confidence, latency_ms FROM questions
                     WHERE {clause} AND channel = ?2 AND chat = ?3"
                ),
                params![key, channel, chat],
                |r| {
                    let id: i64 = r.get(0)?;
                    let q = QuestionRecord {
                        channel: r.get(1)?,
                        chat: r.get(2)?,
                        question: r.get(3)?,
                        decision: r.get(4)?,
                        entry: r.get(5)?,
                        confidence: r.get(6)?,
                        latency_ms: r.get(7)?,
                    };
                    Ok((id, q))
                },
            )
            .optional()?;
        let Some((question_id, question)) = found else {
            return Ok(Feedback::Unknown);
        };
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO feedback (at, question_id, helpful) VALUES (?1, ?2, ?3)",
            params![now(), question_id, helpful],
        )?;
        tx.commit()?;
        if inserted == 0 {
            return Ok(Feedback::AlreadyRecorded);
        }
        Ok(Feedback::Recorded(question_id, (!helpful).then_some(question)))
    }

    fn purge(&self, days: u32) -> anyhow::Result<usize> {
        let cutoff = (chrono::Utc::now() - chrono::Duration::days(days.into()))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut removed = tx.execute(
            "DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE at < ?1)",
            [&cutoff],
        )?;
        tx.execute(
            "DELETE FROM clarifies WHERE at < ?1 OR ticket_id IN (SELECT id FROM tickets WHERE state = 'closed' AND opened_at < ?1)",
            [&cutoff],
        )?;
        removed += tx.execute(
            "DELETE FROM tickets WHERE state = 'closed' AND opened_at < ?1",
            [&cutoff],
        )?;
        tx.execute(
            "UPDATE tickets SET question_id = NULL WHERE question_id IN (SELECT id FROM questions WHERE at < ?1)",
            [&cutoff],
        )?;
        removed += tx.execute("DELETE FROM questions WHERE at < ?1", [&cutoff])?;
        tx.commit()?;
        Ok(removed)
    }
}

/// 128 random bits as hex: unguessable, so ticket pages cannot be enumerated by number.
pub fn random_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Masks personal data in free text: mainland mobile numbers (11 digits starting with 1), ID-card
/// numbers (17 digits + digit or X) and unified social credit codes (18 characters). The first
/// and last few characters stay, so operators can still tell numbers apart.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            out.push_str(&mask_run(&run));
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn mask_run(run: &str) -> String {
    let b = run.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let keep = |head: usize, tail: usize| {
        format!(
            "{}{}{}",
            &run[..head],
            "*".repeat(run.len() - head - tail),
            &run[run.len() - tail..]
        )
    };
    let is_mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && digits(b);
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    // ID cards carry a birth date (YYYYMMDD) at 7–14; customs declaration numbers (18 digits) do not.
    let is_id = b.len() == 18
        && digits(&b[..17])
        && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x')
        && (1900..=2099).contains(&num(&run[6..10]))
        && (1..=12).contains(&num(&run[10..12]))
        && (1..=31).contains(&num(&run[12..14]));
    // USCC alphabet: digits and uppercase letters except I, O, Z, S, V.
    let uscc_char = |c: &u8| c.is_ascii_digit() || (c.is_ascii_uppercase() && !b"IOZSV".contains(c));
    let is_uscc = b.len() == 18 && b.iter().all(uscc_char) && b.iter().any(u8::is_ascii_uppercase) && digits(&b[2..8]);
    if is_mobile {
        keep(3, 4)
    } else if is_id || is_uscc {
        keep(4, 4)
    } else {
        run.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_table() {
        let cases = [
            ("我的电话13812345678请回电", "我的电话138****5678请回电"),
            ("身份证 11010519491231002X", "身份证 1101**********002X"),
            ("信用代码91630100MA752XXX1B号", "信用代码9163**********XX1B号"),
            ("HS编码 84713000 不变", "HS编码 84713000 不变"),
            (
                "报关单号 630120261000012345 不是身份证",
                "报关单号 630120261000012345 不是身份证",
            ),
            ("座机0971-1234567", "座机0971-1234567"),
        ];
        for (input, expected) in cases {
            assert_eq!(mask(input), expected, "mask({input:?})");
        }
    }

    fn record(q: &str) -> QuestionRecord {
        QuestionRecord {
            channel: "telegram".into(),
            chat: "42".into(),
            question: q.into(),
            decision: "answer".into(),
            entry: Some("proc-transit".into()),
            confidence: 0.9,
            latency_ms: 0.3,
        }
    }

    #[test]
    fn migrations_apply_once_on_a_file_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/store.sqlite");
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
        store.log_question(&record("转关怎么办")).unwrap();
        drop(store);
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(again.schema_version().unwrap(), MIGRATIONS.len());
        assert_eq!(again.question_count().unwrap(), 1);
        let mode: String = again
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn questions_are_logged_masked_and_tickets_numbered() {
        let store = SqliteStore::in_memory().unwrap();
        let qid = store.log_question(&record("手机13812345678，转关怎么办")).unwrap();
        assert_eq!(
            store.last_question().unwrap().unwrap().question,
            "手机138****5678，转关怎么办"
        );
        let t = store
            .open_ticket(&NewTicket {
                channel: "telegram",
                chat: "42",
                question: "手机13812345678",
                reason: TicketReason::Handoff,
                guesses: "[]".into(),
                question_id: Some(qid),
            })
            .unwrap();
        assert_eq!(t.number(), format!("T{:06}", t.id));
        assert_eq!(store.ticket(t.id).unwrap().unwrap().question, "手机138****5678");
    }

    #[test]
    fn feedback_is_recorded_once() {
        let store = SqliteStore::in_memory().unwrap();
        let qid = store.log_question(&record("转关")).unwrap();
        let fb = |q, helpful| store.feedback(q, "telegram", "42", helpful).unwrap();
        assert!(
            matches!(fb(QuestionRef::Id(qid), false), Feedback::Recorded(id, Some(q)) if id == qid && q.question == "转关")
        );
        assert_eq!(fb(QuestionRef::Id(qid), false), Feedback::AlreadyRecorded);
        assert_eq!(fb(QuestionRef::Id(9999), true), Feedback::Unknown);
    }

    #[test]
    fn feedback_from_another_chat_looks_unknown_and_changes_nothing() {
        let store = SqliteStore::in_memory().unwrap();
        let qid = store.log_question(&record("转关 13812345678")).unwrap();
        let key = store.question_key(qid).unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(store.question_key(qid).unwrap(), key, "one key per question");
        for (q, channel, chat) in [
            (QuestionRef::Id(qid), "telegram", "43"),
            (QuestionRef::Id(qid), "web", "42"),
            (QuestionRef::Key(&key), "telegram", "43"),
            (QuestionRef::Key("00000000000000000000000000000000"), "telegram", "42"),
        ] {
            assert_eq!(
                store.feedback(q, channel, chat, false).unwrap(),
                Feedback::Unknown,
                "{q:?} {chat}"
            );
        }
        // The asker's own feedback still counts, once.
        assert!(matches!(
            store.feedback(QuestionRef::Key(&key), "telegram", "42", false).unwrap(),
            Feedback::Recorded(id, Some(_)) if id == qid
        ));
        assert_eq!(
            store.feedback(QuestionRef::Id(qid), "telegram", "42", true).unwrap(),
            Feedback::AlreadyRecorded
        );
    }

    #[test]
    fn choices_offered_are_known_per_chat() {
        let store = SqliteStore::in_memory().unwrap();
        let candidates =
            r#"[{"id":"permit-ata-a","title":"A","score":0.5},{"id":"permit-ata-b","title":"B","score":0.4}]"#;
        store.log_clarify("web", "web:aa", "ATA", candidates, None).unwrap();
        assert!(store.clarify_offered("web", "web:aa", "permit-ata-b").unwrap());
        assert!(!store.clarify_offered("web", "web:bb", "permit-ata-b").unwrap());
        assert!(!store.clarify_offered("web", "web:aa", "proc-transit").unwrap());
        assert!(!store.clarify_offered("telegram", "web:aa", "permit-ata-a").unwrap());
        let later = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
        assert_eq!(store.stale_clarifies("web", &later).unwrap().len(), 1);
        assert!(store.stale_clarifies("telegram", &later).unwrap().is_empty());
    }

    #[test]
    fn purge_removes_old_rows_only() {
        let store = SqliteStore::in_memory().unwrap();
        store.log_question(&record("新问题")).unwrap();
        store
            .conn()
            .execute(
                "INSERT INTO questions (at, channel, chat, question, decision, confidence, latency_ms) VALUES ('2000-01-01T00:00:00.000Z', 't', '1', '旧', 'answer', 1, 1)",
                [],
            )
            .unwrap();
        assert_eq!(store.purge(30).unwrap(), 1);
        assert_eq!(store.question_count().unwrap(), 1);
    }
}
