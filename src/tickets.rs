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
const MIGRATIONS: [&str; 1] = [include_str!("../migrations/0001_init.sql")];

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
}

impl TicketReason {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketReason::Handoff => "handoff",
            TicketReason::Asked => "asked",
            TicketReason::NotHelpful => "not_helpful",
            TicketReason::Internal => "internal",
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
    pub state: String,
}

impl Ticket {
    /// The number people see: T000042.
    pub fn number(&self) -> String {
        ticket_number(self.id)
    }
}

/// Formats a ticket id as people see it.
pub fn ticket_number(id: i64) -> String {
    format!("T{id:06}")
}

/// What recording feedback did.
#[derive(Debug, Clone, PartialEq)]
pub enum Feedback {
    /// Recorded now; for "not helpful", the question it was about.
    Recorded(Option<QuestionRecord>),
    /// Feedback for that question was already recorded (a second tap).
    AlreadyRecorded,
    /// No such question.
    Unknown,
}

/// Where questions, tickets and feedback are kept.
pub trait TicketStore: Send + Sync {
    /// Logs a question (before its reply is sent). Returns its id.
    fn log_question(&self, q: &QuestionRecord) -> anyhow::Result<i64>;
    /// Opens a ticket.
    fn open_ticket(&self, t: &NewTicket<'_>) -> anyhow::Result<Ticket>;
    /// Records whether the answer to a logged question helped (once per question).
    fn feedback(&self, question_id: i64, helpful: bool) -> anyhow::Result<Feedback>;
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
            anyhow::bail!("the database is from a newer customs-bot (schema {version}, this one knows {})", MIGRATIONS.len());
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql).with_context(|| format!("applying migration {}", i + 1))?;
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

    /// A ticket by id.
    pub fn ticket(&self, id: i64) -> anyhow::Result<Option<Ticket>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, opened_at, channel, chat, question, reason, state FROM tickets WHERE id = ?1",
                [id],
                |r| {
                    Ok(Ticket {
                        id: r.get(0)?,
                        opened_at: r.get(1)?,
                        channel: r.get(2)?,
                        chat: r.get(3)?,
                        question: r.get(4)?,
                        reason: r.get(5)?,
                        state: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// How many questions are logged (tests, stats).
    pub fn question_count(&self) -> anyhow::Result<i64> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM questions", [], |r| r.get(0))?)
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
            params![now(), q.channel, q.chat, mask(&q.question), q.decision, q.entry, q.confidence, q.latency_ms],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn open_ticket(&self, t: &NewTicket<'_>) -> anyhow::Result<Ticket> {
        let opened_at = now();
        let question = mask(t.question);
        let id = {
            let conn = self.conn();
            conn.execute(
                "INSERT INTO tickets (opened_at, channel, chat, question, reason, guesses, question_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![opened_at, t.channel, t.chat, question, t.reason.as_str(), t.guesses, t.question_id],
            )?;
            conn.last_insert_rowid()
        };
        Ok(Ticket {
            id,
            opened_at,
            channel: t.channel.to_string(),
            chat: t.chat.to_string(),
            question,
            reason: t.reason.as_str().to_string(),
            state: "open".to_string(),
        })
    }

    fn feedback(&self, question_id: i64, helpful: bool) -> anyhow::Result<Feedback> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let question = tx
            .query_row(
                "SELECT channel, chat, question, decision, entry, confidence, latency_ms FROM questions WHERE id = ?1",
                [question_id],
                row_question,
            )
            .optional()?;
        let Some(question) = question else { return Ok(Feedback::Unknown) };
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO feedback (at, question_id, helpful) VALUES (?1, ?2, ?3)",
            params![now(), question_id, helpful],
        )?;
        tx.commit()?;
        if inserted == 0 {
            return Ok(Feedback::AlreadyRecorded);
        }
        Ok(Feedback::Recorded((!helpful).then_some(question)))
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
        format!("{}{}{}", &run[..head], "*".repeat(run.len() - head - tail), &run[run.len() - tail..])
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
            ("报关单号 630120261000012345 不是身份证", "报关单号 630120261000012345 不是身份证"),
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
        let mode: String = again.conn().pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn questions_are_logged_masked_and_tickets_numbered() {
        let store = SqliteStore::in_memory().unwrap();
        let qid = store.log_question(&record("手机13812345678，转关怎么办")).unwrap();
        assert_eq!(store.last_question().unwrap().unwrap().question, "手机138****5678，转关怎么办");
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
        assert!(matches!(store.feedback(qid, false).unwrap(), Feedback::Recorded(Some(q)) if q.question == "转关"));
        assert_eq!(store.feedback(qid, false).unwrap(), Feedback::AlreadyRecorded);
        assert_eq!(store.feedback(9999, true).unwrap(), Feedback::Unknown);
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
