//! The question log and tickets: nothing a real channel was asked is lost.
//!
//! Callers see the [`TicketStore`] trait and plain records; only this module imports the database
//! crate (SQLite, bundled, WAL mode), so a networked database can be added behind the same trait.
//! Migrations live in `migrations/` and are applied on open (`PRAGMA user_version` records the
//! step). Personal data — mobile numbers, ID-card numbers, unified social credit codes — is masked
//! before anything is written, so logs, exports and operator views never hold it.
//!
//! Log before reply, and nothing lost: the store keeps a small pool of connections (no global
//! lock: a write waits only for SQLite's own write lock), and [`TicketStore::record_question`]
//! retries a locked database within a bounded time (`[tickets] log_timeout_ms`), then appends the
//! question to a spool file beside the database (JSON lines, fsynced). [`SqliteStore::replay_spool`]
//! moves spooled questions into the database — idempotently: each question carries a random `uid`
//! with a UNIQUE index, so a replay interrupted by a crash never stores a question twice.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// The migrations, in order. Each runs once.
const MIGRATIONS: [&str; 5] = [
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_operators.sql"),
    include_str!("../migrations/0003_ticket_keys.sql"),
    include_str!("../migrations/0004_question_refs.sql"),
    include_str!("../migrations/0005_question_uid.sql"),
];

/// How long one attempt waits for SQLite's write lock before the retry loop looks at its budget.
const ATTEMPT: Duration = Duration::from_millis(250);

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
    /// Logs a question in the database. Returns its id.
    fn log_question(&self, q: &QuestionRecord) -> anyhow::Result<i64>;
    /// Keeps a question before its reply is sent: in the database, or — when the database stays
    /// locked or is full past the retry budget — in a spool that is replayed later. An error means
    /// it could not be kept at all: the caller must not pretend it was (it hands off instead).
    fn record_question(&self, q: &QuestionRecord) -> anyhow::Result<Logged> {
        self.log_question(q).map(Logged::Stored)
    }
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

/// How the store writes (from `bot.toml [tickets]`; the defaults suit tests and the CLI).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long keeping a question may retry a locked database before it goes to the spool. The
    /// reply waits at most this long for the log.
    pub log_budget: Duration,
    /// How long any other statement waits for a locked database.
    pub busy_timeout: Duration,
    /// Connections kept open to a database file (an in-memory store has one).
    pub pool_size: u32,
    /// Caps the database at this many pages (SQLite `max_page_count`, per connection): writes
    /// beyond fail as "database or disk is full". Tests simulate a full disk with it.
    pub max_page_count: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            log_budget: Duration::from_secs(2),
            busy_timeout: Duration::from_secs(5),
            pool_size: 8,
            max_page_count: None,
        }
    }
}

type Pool = r2d2::Pool<SqliteConnectionManager>;
type Conn = r2d2::PooledConnection<SqliteConnectionManager>;

/// The embedded SQLite store.
pub struct SqliteStore {
    pool: Pool,
    options: StoreOptions,
    /// Beside a database file: where questions go when the database does not take them.
    spool: Option<PathBuf>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The spool beside a database file: `data/customs-bot.sqlite` → `data/customs-bot.spool.jsonl`.
pub fn spool_path(db: &Path) -> PathBuf {
    db.with_extension("spool.jsonl")
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, StoreOptions::default())
    }

    /// [`open`](Self::open) with explicit write options.
    pub fn open_with(path: &Path, options: StoreOptions) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(init_connection(&options));
        Self::setup(manager, options.pool_size.max(1), Some(spool_path(path)), options)
            .with_context(|| format!("opening the ticket store at {}", path.display()))
    }

    /// An in-memory store (tests): one connection, no spool.
    pub fn in_memory() -> anyhow::Result<Self> {
        let options = StoreOptions::default();
        let manager = SqliteConnectionManager::memory().with_init(init_connection(&options));
        Self::setup(manager, 1, None, options)
    }

    fn setup(
        manager: SqliteConnectionManager,
        size: u32,
        spool: Option<PathBuf>,
        options: StoreOptions,
    ) -> anyhow::Result<Self> {
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .test_on_check_out(false)
            .connection_timeout(options.busy_timeout)
            .build(manager)?;
        let mut conn = pool.get()?;
        migrate(&mut conn)?;
        drop(conn);
        Ok(Self { pool, options, spool })
    }

    /// A connection from the pool, waiting up to the busy timeout for one to come free.
    fn conn(&self) -> anyhow::Result<Conn> {
        let conn = self
            .pool
            .get()
            .context("the ticket store is busy: no database connection came free in time")?;
        conn.busy_timeout(self.options.busy_timeout)?;
        Ok(conn)
    }

    /// Runs one write, retrying while the database is locked, for at most `budget`.
    fn write_with_retry<T>(
        &self,
        budget: Duration,
        write: impl Fn(&Connection) -> rusqlite::Result<T>,
    ) -> anyhow::Result<T> {
        let deadline = Instant::now() + budget;
        let mut pause = Duration::from_millis(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let result = match self.pool.get_timeout(left.max(Duration::from_millis(1))) {
                Ok(conn) => conn
                    .busy_timeout(left.min(ATTEMPT))
                    .and_then(|()| write(&conn))
                    .map_err(anyhow::Error::from),
                Err(e) => Err(anyhow::Error::from(e).context("no database connection came free")),
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) if is_locked(&e) && Instant::now() + pause < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The spool file, for a store on a database file.
    pub fn spool_path(&self) -> Option<&Path> {
        self.spool.as_deref()
    }

    /// Moves questions kept in the spool into the database. Idempotent: a question already there
    /// (a replay interrupted by a crash) is skipped by its `uid`. The spool is removed once its
    /// questions are in the database, unless more arrived meanwhile (the next replay takes those).
    /// Lines that cannot be read (torn by a crash mid-write) are moved to `….rejected.jsonl`,
    /// never dropped. Returns how many questions were added.
    pub fn replay_spool(&self) -> anyhow::Result<usize> {
        let Some(spool) = &self.spool else {
            return Ok(0);
        };
        if !spool.exists() {
            return Ok(0);
        }
        let bytes = {
            let _lock = lock_spool(spool)?;
            match std::fs::read(spool) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(e).with_context(|| format!("reading {}", spool.display())),
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let (mut rows, mut rejected) = (Vec::new(), Vec::new());
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<QuestionRow>(line) {
                Ok(r) => rows.push(r),
                Err(_) => rejected.push(line),
            }
        }
        let added = {
            let mut conn = self.conn()?;
            let tx = conn.transaction()?;
            let mut added = 0;
            for r in &rows {
                added += r.insert(&tx, INSERT_QUESTION_ONCE)?;
            }
            tx.commit()?;
            added
        };
        let _lock = lock_spool(spool)?;
        let len = std::fs::metadata(spool).map(|m| m.len()).unwrap_or(0);
        if len == bytes.len() as u64 {
            if !rejected.is_empty() {
                let to = spool.with_extension("rejected.jsonl");
                let mut f = OpenOptions::new().create(true).append(true).open(&to)?;
                f.write_all(format!("{}\n", rejected.join("\n")).as_bytes())?;
                f.sync_all()?;
                tracing::error!(lines = rejected.len(), file = %to.display(), "spool lines that could not be read were moved aside");
            }
            std::fs::remove_file(spool).with_context(|| format!("removing {}", spool.display()))?;
            sync_dir(spool)?;
        }
        if added > 0 {
            tracing::info!(questions = added, "replayed questions from the spool into the database");
        }
        Ok(added)
    }
}

/// Per-connection settings, applied to every connection the pool opens.
fn init_connection(options: &StoreOptions) -> impl Fn(&mut Connection) -> rusqlite::Result<()> + Send + Sync + 'static {
    let (busy, cap) = (options.busy_timeout, options.max_page_count);
    move |c: &mut Connection| {
        c.busy_timeout(busy)?;
        c.pragma_update(None, "foreign_keys", true)?;
        if let Some(pages) = cap {
            c.pragma_update(None, "max_page_count", pages)?;
        }
        Ok(())
    }
}

/// A locked database or no free connection: worth another attempt within the budget.
fn is_locked(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<r2d2::Error>()
            || c.downcast_ref::<rusqlite::Error>()
                .and_then(rusqlite::Error::sqlite_error_code)
                .is_some_and(|code| {
                    matches!(
                        code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    )
                })
    })
}

/// One logged question as written, in the database and in the spool (the text already masked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct QuestionRow {
    uid: String,
    at: String,
    channel: String,
    chat: String,
    question: String,
    decision: String,
    entry: Option<String>,
    confidence: f32,
    latency_ms: f32,
}

const INSERT_QUESTION: &str =
    "INSERT INTO questions (uid, at, channel, chat, question, decision, entry, confidence, latency_ms)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const INSERT_QUESTION_ONCE: &str =
    "INSERT INTO questions (uid, at, channel, chat, question, decision, entry, confidence, latency_ms)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(uid) DO NOTHING";

impl QuestionRow {
    fn new(q: &QuestionRecord) -> Self {
        Self {
            uid: random_key(),
            at: now(),
            channel: q.channel.clone(),
            chat: q.chat.clone(),
            question: mask(&q.question),
            decision: q.decision.clone(),
            entry: q.entry.clone(),
            confidence: q.confidence,
            latency_ms: q.latency_ms,
        }
    }

    /// Rows changed (0 when `sql` skips a uid already present).
    fn insert(&self, conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
        conn.prepare_cached(sql)?.execute(params![
            self.uid,
            self.at,
            self.channel,
            self.chat,
            self.question,
            self.decision,
            self.entry,
            self.confidence,
            self.latency_ms
        ])
    }
}

/// Holds the spool's lock file (an OS file lock, released when dropped, also by a killed process),
/// so appends and a replay's removal never interleave, across threads and processes.
fn lock_spool(spool: &Path) -> anyhow::Result<File> {
    let path = spool.with_extension("lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.lock().with_context(|| format!("locking {}", path.display()))?;
    Ok(f)
}

/// Appends one question to the spool and makes it durable before returning.
fn append_spool(spool: &Path, row: &QuestionRow) -> anyhow::Result<()> {
    let _lock = lock_spool(spool)?;
    let existed = spool.exists();
    let mut f = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(spool)
        .with_context(|| format!("opening {}", spool.display()))?;
    let mut line = serde_json::to_string(row)?;
    line.push('\n');
    // A line torn by a crash mid-write must not swallow this one.
    if f.metadata()?.len() > 0 {
        let mut last = [0u8];
        f.seek(SeekFrom::End(-1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, '\n');
        }
    }
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", spool.display()))?;
    if !existed {
        sync_dir(spool)?;
    }
    Ok(())
}

/// Makes a file's creation or removal durable (fsync of its folder).
fn sync_dir(file: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Applies the pending migrations (and WAL mode) on one connection.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
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
    Ok(())
}

impl SqliteStore {
    /// The schema step the database is at.
    pub fn schema_version(&self) -> anyhow::Result<usize> {
        Ok(self.conn()?.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// How many questions are logged (tests, stats).
    pub fn question_count(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn()?
            .query_row("SELECT COUNT(*) FROM questions", [], |r| r.get(0))?)
    }

    /// The last logged question (tests).
    pub fn last_question(&self) -> anyhow::Result<Option<QuestionRecord>> {
        Ok(self.conn()?.query_row(
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
        let conn = self.conn()?;
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
        let row = QuestionRow::new(q);
        self.write_with_retry(self.options.log_budget, |conn| {
            row.insert(conn, INSERT_QUESTION)?;
            Ok(conn.last_insert_rowid())
        })
    }

    fn record_question(&self, q: &QuestionRecord) -> anyhow::Result<Logged> {
        let started = Instant::now();
        let row = QuestionRow::new(q);
        let stored = self.write_with_retry(self.options.log_budget, |conn| {
            row.insert(conn, INSERT_QUESTION)?;
            Ok(conn.last_insert_rowid())
        });
        let db_error = match stored {
            Ok(id) => return Ok(Logged::Stored(id)),
            Err(e) => e,
        };
        let Some(spool) = &self.spool else {
            return Err(db_error.context("the question log could not be written and an in-memory store has no spool"));
        };
        match append_spool(spool, &row) {
            Ok(()) => {
                tracing::error!(
                    channel = %row.channel,
                    chat = %row.chat,
                    uid = %row.uid,
                    waited_ms = started.elapsed().as_millis() as u64,
                    spool = %spool.display(),
                    error = %format!("{db_error:#}"),
                    "the question log could not be written: the question is kept in the spool and will be replayed"
                );
                Ok(Logged::Spooled)
            }
            Err(spool_error) => Err(db_error.context(format!(
                "the question log could not be written, and neither could the spool: {spool_error:#}"
            ))),
        }
    }

    fn open_ticket(&self, t: &NewTicket<'_>) -> anyhow::Result<Ticket> {
        // On the reply's path, like the question: bounded by the same budget.
        let id = self.write_with_retry(self.options.log_budget, |conn| {
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
            Ok(conn.last_insert_rowid())
        })?;
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
        self.conn()?.execute(
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
        self.conn()?.execute(
            "UPDATE tickets SET relayed_at = ?2, state = 'closed', closed_at = ?2, close_reason = 'relayed' WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    fn close_ticket(&self, id: i64, reason: CloseReason, promoted_to: Option<&str>) -> anyhow::Result<Ticket> {
        self.get_ticket(id)?;
        self.conn()?.execute(
            "UPDATE tickets SET state = 'closed', closed_at = ?2, close_reason = ?3,
                 promoted_to = COALESCE(?4, promoted_to) WHERE id = ?1",
            params![id, now(), reason.as_str(), promoted_to],
        )?;
        self.get_ticket(id)
    }

    fn set_notice(&self, id: i64, message_id: i64) -> anyhow::Result<()> {
        self.conn()?.execute(
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
        self.conn()?
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
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO clarifies (at, channel, chat, question, candidates, question_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![now(), channel, chat, mask(question), candidates, question_id],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn clarify_picked(&self, channel: &str, chat: &str) -> anyhow::Result<()> {
        self.conn()?.execute(
            "UPDATE clarifies SET picked = 1 WHERE channel = ?1 AND chat = ?2 AND picked = 0",
            params![channel, chat],
        )?;
        Ok(())
    }

    fn clarify_offered(&self, channel: &str, chat: &str, entry: &str) -> anyhow::Result<bool> {
        let conn = self.conn()?;
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
        let conn = self.conn()?;
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
        self.conn()?.execute(
            "UPDATE clarifies SET ticket_id = ?2 WHERE id = ?1",
            params![clarify_id, ticket_id],
        )?;
        Ok(())
    }

    fn stats(&self, days: u32) -> anyhow::Result<Stats> {
        let since = (chrono::Utc::now() - chrono::Duration::days(days.into()))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let conn = self.conn()?;
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
        let conn = self.conn()?;
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
        let mut conn = self.conn()?;
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
        let mut conn = self.conn()?;
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
            .unwrap()
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
            .unwrap()
            .execute(
                "INSERT INTO questions (at, channel, chat, question, decision, confidence, latency_ms) VALUES ('2000-01-01T00:00:00.000Z', 't', '1', '旧', 'answer', 1, 1)",
                [],
            )
            .unwrap();
        assert_eq!(store.purge(30).unwrap(), 1);
        assert_eq!(store.question_count().unwrap(), 1);
    }

    /// A store on a database file in `dir`, logging with `budget`.
    fn file_store(dir: &Path, budget_ms: u64) -> SqliteStore {
        let options = StoreOptions {
            log_budget: Duration::from_millis(budget_ms),
            busy_timeout: Duration::from_millis(500),
            ..StoreOptions::default()
        };
        SqliteStore::open_with(&dir.join("store.sqlite"), options).unwrap()
    }

    /// Another connection (as another process would) holding the database's write lock.
    fn write_lock(dir: &Path) -> Connection {
        let c = Connection::open(dir.join("store.sqlite")).unwrap();
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        c
    }

    fn spool_lines(store: &SqliteStore) -> Vec<String> {
        std::fs::read_to_string(store.spool_path().unwrap())
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_locked_database_is_retried_within_the_budget_then_the_question_is_spooled_and_replayed_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path(), 300);
        let lock = write_lock(dir.path());
        let started = Instant::now();
        let logged = store.record_question(&record("手机13812345678，转关怎么办")).unwrap();
        let waited = started.elapsed();
        assert_eq!(logged, Logged::Spooled);
        assert!(
            waited >= Duration::from_millis(250),
            "retried for the budget: {waited:?}"
        );
        assert!(
            waited < Duration::from_millis(1500),
            "bounded by the budget: {waited:?}"
        );
        assert_eq!(store.question_count().unwrap(), 0, "the database did not take it");
        let lines = spool_lines(&store);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].contains("138****5678") && !lines[0].contains("13812345678"),
            "masked: {}",
            lines[0]
        );
        // Still locked: the replay fails and keeps the spool.
        assert!(store.replay_spool().is_err());
        assert_eq!(spool_lines(&store).len(), 1);
        drop(lock);
        assert_eq!(store.replay_spool().unwrap(), 1);
        assert!(
            !store.spool_path().unwrap().exists(),
            "the spool is removed once replayed"
        );
        assert_eq!(store.replay_spool().unwrap(), 0);
        assert_eq!(store.question_count().unwrap(), 1);
        assert_eq!(
            store.last_question().unwrap().unwrap().question,
            "手机138****5678，转关怎么办"
        );
    }

    #[test]
    fn a_lock_released_within_the_budget_costs_a_wait_not_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path(), 3000);
        let lock = write_lock(dir.path());
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            drop(lock);
        });
        let started = Instant::now();
        let logged = store.record_question(&record("转关")).unwrap();
        release.join().unwrap();
        assert!(matches!(logged, Logged::Stored(_)), "{logged:?}");
        assert!(started.elapsed() >= Duration::from_millis(350));
        assert!(spool_lines(&store).is_empty());
        assert_eq!(store.question_count().unwrap(), 1);
    }

    #[test]
    fn concurrent_writers_under_a_lock_wait_side_by_side_not_in_a_queue() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(file_store(dir.path(), 500));
        let lock = write_lock(dir.path());
        let started = Instant::now();
        let writers: Vec<_> = (0..6)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || store.record_question(&record(&format!("问题{i}"))).unwrap())
            })
            .collect();
        let outcomes: Vec<Logged> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        let elapsed = started.elapsed();
        assert!(outcomes.iter().all(|o| *o == Logged::Spooled), "{outcomes:?}");
        // One global lock would take 6 × 500 ms.
        assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
        drop(lock);
        assert_eq!(store.replay_spool().unwrap(), 6);
        assert_eq!(store.question_count().unwrap(), 6);
    }

    #[test]
    fn a_replay_interrupted_after_its_commit_stores_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path(), 100);
        let lock = write_lock(dir.path());
        for q in ["甲", "乙"] {
            assert_eq!(store.record_question(&record(q)).unwrap(), Logged::Spooled);
        }
        drop(lock);
        let spool = store.spool_path().unwrap().to_path_buf();
        let kept = std::fs::read(&spool).unwrap();
        assert_eq!(store.replay_spool().unwrap(), 2);
        // As if the process died after the commit, before the spool was removed.
        std::fs::write(&spool, &kept).unwrap();
        assert_eq!(store.replay_spool().unwrap(), 0);
        assert_eq!(store.question_count().unwrap(), 2);
        assert!(!spool.exists());
    }

    #[test]
    fn a_torn_spool_line_neither_swallows_the_next_question_nor_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path(), 100);
        let spool = store.spool_path().unwrap().to_path_buf();
        // A crash in the middle of an append left half a line.
        std::fs::write(&spool, r#"{"uid":"abc","at":"2026-"#).unwrap();
        let lock = write_lock(dir.path());
        assert_eq!(store.record_question(&record("转关")).unwrap(), Logged::Spooled);
        drop(lock);
        assert_eq!(store.replay_spool().unwrap(), 1);
        assert_eq!(store.last_question().unwrap().unwrap().question, "转关");
        let rejected = std::fs::read_to_string(spool.with_extension("rejected.jsonl")).unwrap();
        assert_eq!(rejected, "{\"uid\":\"abc\",\"at\":\"2026-\n");
        assert!(!spool.exists());
    }

    #[test]
    fn when_neither_the_database_nor_the_spool_take_a_question_the_caller_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(dir.path(), 100);
        // Something else sits where the spool would be written.
        std::fs::create_dir(store.spool_path().unwrap()).unwrap();
        let lock = write_lock(dir.path());
        let err = store.record_question(&record("转关")).unwrap_err();
        assert!(format!("{err:#}").contains("neither could the spool"), "{err:#}");
        drop(lock);
        assert!(matches!(
            store.record_question(&record("转关")).unwrap(),
            Logged::Stored(_)
        ));
    }
}
