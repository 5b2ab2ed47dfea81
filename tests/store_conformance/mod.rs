//! The store's behaviour, written once over `&dyn TicketStore` and run against both stores: SQLite
//! (a file in a temporary folder) and PostgreSQL (a database of its own on a throwaway server, see
//! `support::postgres`). What only one store has — SQLite's spool under a locked file, its page
//! cap — is tested in `src/tickets/sqlite/`.
//!
//! `records.rs`: questions, tickets, choices, feedback, conversations, figures, provenance and the
//! audit trail; `shared.rs`: what several processes share (claims under leases, rate windows,
//! sessions, the live generation, the webhook inbox), each also with a second store on the same
//! database as a second process would open; `postgres.rs`: PostgreSQL only.
//!
//! Some tests date rows back (nothing in the trait writes the past): `Backend::exec` runs one SQL
//! statement written to mean the same in both dialects (times as RFC 3339 text).

use std::sync::Arc;

use customs_bot::config::TicketsConfig;
use customs_bot::tickets::*;

use crate::support::postgres::{PgServer, connect};

/// A store under test, a way to open another on the same database, and to reach its tables directly.
pub struct Backend {
    pub store: Arc<dyn TicketStore>,
    pub another: Box<dyn Fn() -> Arc<dyn TicketStore>>,
    pub exec: Box<dyn Fn(&str) -> i64>,
    // Kept alive with the store: the SQLite file's folder, or the PostgreSQL server.
    _keep: Box<dyn std::any::Any>,
}

pub fn options() -> StoreOptions {
    StoreOptions {
        pool_size: 4,
        ..StoreOptions::default()
    }
}

pub fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite");
    let config = TicketsConfig {
        db: db.clone(),
        url: None,
        ..TicketsConfig::default()
    };
    let store = open_store(&config, options()).unwrap();
    let again = config.clone();
    let another = move || open_store(&again, options()).unwrap();
    let exec = move |sql: &str| -> i64 {
        let c = rusqlite::Connection::open(&db).unwrap();
        if sql.trim_start().to_ascii_uppercase().starts_with("SELECT") {
            c.query_row(sql, [], |r| r.get(0)).unwrap()
        } else {
            c.execute(sql, []).unwrap() as i64
        }
    };
    Backend {
        store,
        another: Box::new(another),
        exec: Box::new(exec),
        _keep: Box::new(dir),
    }
}

pub fn postgres() -> Backend {
    let server = PgServer::shared();
    let url = server.create_database();
    let dir = tempfile::tempdir().unwrap();
    let config = TicketsConfig {
        db: dir.path().join("store.sqlite"),
        url: Some(customs_bot::config::Secret(url.clone())),
        ..TicketsConfig::default()
    };
    let store = open_store(&config, options()).unwrap();
    let again = config.clone();
    let another = move || open_store(&again, options()).unwrap();
    let exec = move |sql: &str| -> i64 {
        let mut c = connect(&url);
        if sql.trim_start().to_ascii_uppercase().starts_with("SELECT") {
            c.query_one(sql, &[]).unwrap().get(0)
        } else {
            c.execute(sql, &[]).unwrap() as i64
        }
    };
    Backend {
        store,
        another: Box::new(another),
        exec: Box::new(exec),
        _keep: Box::new((server, dir)),
    }
}

/// `conformance!(name, …)` runs each `fn name(&Backend)` as `name::sqlite` and `name::postgres`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(&crate::store_conformance::sqlite());
                }
                #[test]
                fn postgres() {
                    super::$name(&crate::store_conformance::postgres());
                }
            }
        )*
    };
}

pub const LONG_AGO: &str = "2000-01-01T00:00:00.000Z";

pub fn count(b: &Backend) -> i64 {
    (b.exec)("SELECT COUNT(*) FROM questions")
}

pub fn last(b: &Backend) -> QuestionRecord {
    b.store.recent_questions(1).unwrap().remove(0)
}

pub fn log(b: &Backend, q: &QuestionRecord) -> i64 {
    b.store.record_question(q).unwrap().id().expect("stored, not spooled")
}

pub fn record(q: &str) -> QuestionRecord {
    QuestionRecord {
        channel: "telegram".into(),
        chat: "42".into(),
        question: q.into(),
        decision: "answer".into(),
        entry: Some("proc-transit".into()),
        confidence: 0.9,
        latency_ms: 0.3,
        provenance: None,
    }
}

pub fn new_ticket<'a>(question: &'a str, question_id: Option<i64>) -> NewTicket<'a> {
    NewTicket {
        channel: "telegram",
        chat: "42",
        question,
        reason: TicketReason::Handoff,
        guesses: &[],
        question_id,
    }
}

// After the macro: the modules that use it.
mod postgres;
mod records;
mod shared;
