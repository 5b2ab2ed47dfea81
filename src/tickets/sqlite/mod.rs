//! The embedded SQLite store (bundled SQLite, WAL mode): the only place that imports the database
//! crates (rusqlite, r2d2).
//!
//! Migrations live in `migrations/` and are applied on open (`PRAGMA user_version` records the
//! step). Log before reply, and nothing lost: the store keeps a small pool of connections (no global
//! lock: a write waits only for SQLite's own write lock), and `record_question` retries a locked
//! database within a bounded time (`[tickets] log_timeout_ms`), then appends the question to a spool
//! file beside the database (JSON lines, fsynced). [`SqliteStore::replay_spool`] moves spooled
//! questions into the database — idempotently: each question carries a random `uid` with a UNIQUE
//! index, so a replay interrupted by a crash never stores a question twice.

mod coordination;
#[cfg(test)]
mod coordination_tests;
mod governance;
#[cfg(test)]
mod governance_tests;
mod inbox;
#[cfg(test)]
mod inbox_tests;
mod insight;
mod records;
mod report;
mod rows;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, params};

use super::spool::{QuestionRow, replay};

/// The migrations, in order. Each runs once.
const MIGRATIONS: [&str; 11] = [
    include_str!("../../../migrations/0001_init.sql"),
    include_str!("../../../migrations/0002_operators.sql"),
    include_str!("../../../migrations/0003_ticket_keys.sql"),
    include_str!("../../../migrations/0004_question_refs.sql"),
    include_str!("../../../migrations/0005_question_uid.sql"),
    include_str!("../../../migrations/0006_conversations.sql"),
    include_str!("../../../migrations/0007_knowledge_governance.sql"),
    include_str!("../../../migrations/0008_insight.sql"),
    include_str!("../../../migrations/0009_popular_index.sql"),
    include_str!("../../../migrations/0010_coordination.sql"),
    include_str!("../../../migrations/0011_inbox.sql"),
];

/// How long one attempt waits for SQLite's write lock before the retry loop looks at its budget.
const ATTEMPT: Duration = Duration::from_millis(250);

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
    stamp(Utc::now())
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
    pub(super) fn write_with_retry<T>(
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

    /// Moves questions kept in the spool into the database (see [`replay`]).
    pub fn replay_spool(&self) -> anyhow::Result<usize> {
        let Some(spool) = &self.spool else {
            return Ok(0);
        };
        replay(spool, |rows| {
            let mut conn = self.conn()?;
            let tx = conn.transaction()?;
            let mut added = 0;
            for r in rows {
                added += insert_row(r, &tx, INSERT_QUESTION_ONCE)?;
            }
            tx.commit()?;
            Ok(added)
        })
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

const INSERT_QUESTION: &str = "INSERT INTO questions (uid, at, channel, chat, question, decision, entry, confidence, \
     latency_ms, generation, reply, sources) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
const INSERT_QUESTION_ONCE: &str = "INSERT INTO questions (uid, at, channel, chat, question, decision, entry, confidence, \
     latency_ms, generation, reply, sources) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
     ON CONFLICT(uid) DO NOTHING";

/// Rows changed (0 when `sql` skips a uid already present).
fn insert_row(row: &QuestionRow, conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params![
        row.uid,
        row.at,
        row.channel,
        row.chat,
        row.question,
        row.decision,
        row.entry,
        row.confidence,
        row.latency_ms,
        row.generation,
        row.reply,
        row.sources
    ])
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

/// A time as stored: RFC 3339, UTC, milliseconds (text that sorts in time order).
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The stored form of the instant `days` days ago.
fn cutoff(days: u32) -> String {
    stamp(Utc::now() - chrono::Duration::days(days.into()))
}
