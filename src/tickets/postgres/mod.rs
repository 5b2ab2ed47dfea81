//! The PostgreSQL store, for several processes sharing one database: the only place that imports
//! `postgres` (sfackler's synchronous client over tokio-postgres) and `r2d2_postgres` (its pool).
//!
//! The trait is synchronous and callers already run it on blocking threads: the synchronous client
//! runs its own small runtime per connection, so it must never be called from inside an async task.
//!
//! Migrations live in `migrations/postgres/` and are applied on open in one transaction holding
//! `pg_advisory_xact_lock(MIGRATION_LOCK)`, recorded in `schema_migrations(version)`: two processes
//! starting together take turns, and the second finds nothing left to do. Times are `TIMESTAMPTZ`
//! (written from this process's clock, as the SQLite store does, so both compare the same way).
//!
//! Log before reply, and nothing lost: `record_question` gets a connection within `[tickets]
//! log_timeout_ms` and bounds its insert by what is left of it (`SET LOCAL statement_timeout`);
//! when the database does not take the question in time (unreachable, or stuck) it goes to the
//! same spool as with SQLite — a file on this host beside `[tickets] db` — and
//! [`PgStore::replay_spool`] moves it into the database later, once (by its `uid`).

mod coordination;
mod governance;
mod insight;
mod records;
mod report;
mod rows;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use postgres::{NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;

use super::StoreOptions;
use super::spool::{QuestionRow, replay};

/// The migrations, in order, with their version. Each runs once per database.
const MIGRATIONS: [(i32, &str); 3] = [
    (1, include_str!("../../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../../migrations/postgres/0002_coordination.sql")),
    (3, include_str!("../../../migrations/postgres/0003_inbox.sql")),
];

/// The advisory lock held while migrating ("customs" in ASCII): one process at a time.
const MIGRATION_LOCK: i64 = 0x63_75_73_74_6f_6d_73;

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Conn = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// The PostgreSQL store.
pub struct PgStore {
    /// Always `Some` until dropped (see `Drop`).
    pool: Option<Pool>,
    options: StoreOptions,
    /// On this host, beside `[tickets] db`: where questions go when the database does not take them.
    spool: Option<PathBuf>,
    /// The URL without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgStore({})", self.shown)
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`), applies pending migrations, and keeps a
    /// pool of `options.pool_size` connections. `spool`: where questions go when the database does
    /// not take them in time (None: an error instead).
    pub fn open(url: &str, options: StoreOptions, spool: Option<PathBuf>) -> anyhow::Result<Self> {
        let shown = redact_url(url);
        let mut config: postgres::Config = url
            .parse()
            .with_context(|| format!("{shown} is not a PostgreSQL URL that can be used"))?;
        config.connect_timeout(options.busy_timeout);
        // A statement waits for another's row lock as long as SQLite waits for its write lock.
        let lock_ms = options.busy_timeout.as_millis().max(1);
        config.options(&format!("-c lock_timeout={lock_ms}"));
        if config.get_application_name().is_none() {
            config.application_name("customs-bot");
        }
        // One connection first, for a clear error when the server cannot be reached or refuses the
        // login, and to migrate before the pool opens more.
        let mut first = config
            .connect(NoTls)
            .with_context(|| format!("connecting to {shown}"))?;
        migrate(&mut first).with_context(|| format!("migrating {shown}"))?;
        drop(first);
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .test_on_check_out(false)
            .connection_timeout(options.busy_timeout)
            .build(manager)
            .with_context(|| format!("opening a pool of connections to {shown}"))?;
        if let Some(dir) = spool
            .as_deref()
            .and_then(|s| s.parent())
            .filter(|d| !d.as_os_str().is_empty())
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::warn!(folder = %dir.display(), error = %e, "the spool's folder could not be created");
        }
        tracing::info!(database = %shown, "the ticket store is PostgreSQL");
        Ok(Self {
            pool: Some(pool),
            options,
            spool,
            shown,
        })
    }

    fn pool(&self) -> &Pool {
        self.pool.as_ref().expect("the pool is kept until the store is dropped")
    }

    /// A connection from the pool, waiting up to the busy timeout for one to come free.
    fn conn(&self) -> anyhow::Result<Conn> {
        self.pool().get().map_err(|e| anyhow::anyhow!("{e}")).with_context(|| {
            format!(
                "the ticket store is busy or unreachable: no connection to {} in time",
                self.shown
            )
        })
    }

    /// Runs `write` in a transaction that must be done within `budget`: the wait for a connection
    /// and the statements together (`SET LOCAL statement_timeout` bounds them on the server).
    fn within<T>(
        &self,
        budget: Duration,
        write: impl FnOnce(&mut Transaction<'_>) -> Result<T, postgres::Error>,
    ) -> anyhow::Result<T> {
        let deadline = Instant::now() + budget;
        let mut conn = self
            .pool()
            .get_timeout(budget.max(Duration::from_millis(1)))
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("no connection to {} within {budget:?}", self.shown))?;
        let left = deadline.saturating_duration_since(Instant::now()).as_millis().max(1);
        let mut tx = conn.transaction()?;
        tx.batch_execute(&format!("SET LOCAL statement_timeout = {left}"))?;
        let value = write(&mut tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Moves questions kept in the spool into the database (see `spool::replay`).
    pub fn replay_spool(&self) -> anyhow::Result<usize> {
        let Some(spool) = &self.spool else {
            return Ok(0);
        };
        replay(spool, |rows| {
            let mut conn = self.conn()?;
            let mut tx = conn.transaction()?;
            let mut added = 0;
            for r in rows {
                added += insert_row(&mut tx, r, INSERT_QUESTION_ONCE)?;
            }
            tx.commit()?;
            Ok(added as usize)
        })
    }
}

impl Drop for PgStore {
    /// Closing a synchronous client blocks on its own small runtime, which panics on a thread that
    /// drives async tasks (the last holder of the store may be one): the pool is closed on a thread
    /// of its own.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// Applies the pending migrations, each once, under the advisory lock.
fn migrate(conn: &mut postgres::Client) -> anyhow::Result<()> {
    let mut tx = conn.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version     INTEGER PRIMARY KEY,
             applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if current > known {
        anyhow::bail!("the database is from a newer customs-bot (schema {current}, this one knows {known})");
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)
            .with_context(|| format!("applying migration {version}"))?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version])?;
    }
    tx.commit()?;
    Ok(())
}

const INSERT_QUESTION: &str = "INSERT INTO questions (uid, at, channel, chat, question, decision, entry, confidence, \
     latency_ms, generation, reply, sources) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id";
const INSERT_QUESTION_ONCE: &str = "INSERT INTO questions (uid, at, channel, chat, question, decision, entry, confidence, \
     latency_ms, generation, reply, sources) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
     ON CONFLICT (uid) DO NOTHING";

/// Writes one question row with `sql`; rows changed (0 when `sql` skips a uid already present).
fn insert_row(tx: &mut Transaction<'_>, r: &QuestionRow, sql: &str) -> Result<u64, postgres::Error> {
    tx.execute(sql, &params_of(r, &row_time(r)))
}

/// The row's time as stored (a row from a spool written by this version always parses; anything
/// else is kept as the time of the replay rather than lost).
fn row_time(r: &QuestionRow) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&r.at).map_or_else(|_| Utc::now(), |t| t.with_timezone(&Utc))
}

fn params_of<'a>(r: &'a QuestionRow, at: &'a DateTime<Utc>) -> [&'a (dyn postgres::types::ToSql + Sync); 12] {
    [
        &r.uid,
        at,
        &r.channel,
        &r.chat,
        &r.question,
        &r.decision,
        &r.entry,
        &r.confidence,
        &r.latency_ms,
        &r.generation,
        &r.reply,
        &r.sources,
    ]
}

/// The instant `days` days ago.
fn cutoff(days: u32) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(days.into())
}

/// `url` with its password replaced by `***` (in the user part and in a `password=` parameter),
/// for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let url = url.trim();
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "(not a URL)".to_string();
    };
    let (scheme, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (user, host) = authority.split_at(at);
            match user.find(':') {
                Some(colon) => format!("{}:***{host}", &user[..colon]),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_show_in_a_shown_url() {
        for (url, shown) in [
            (
                "postgres://bot:s3cr:et@db.example:5432/customs",
                "postgres://bot:***@db.example:5432/customs",
            ),
            ("postgresql://bot@db/customs", "postgresql://bot@db/customs"),
            (
                "postgres://db/customs?user=bot&password=hunter2&sslmode=disable",
                "postgres://db/customs?user=bot&password=***&sslmode=disable",
            ),
            ("postgres://bot:p%40ss@h", "postgres://bot:***@h"),
            ("host=db password=x", "(not a URL)"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
