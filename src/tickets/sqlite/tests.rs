//! The SQLite store's tests: migrations, masking on write, feedback, choices, retention, the spool.

use super::*;
use crate::tickets::*;

/// Questions in the log (read directly: no caller needs this).
fn count(store: &SqliteStore) -> i64 {
    let conn = store.conn().unwrap();
    conn.query_row("SELECT COUNT(*) FROM questions", [], |r| r.get(0))
        .unwrap()
}

fn last(store: &SqliteStore) -> QuestionRecord {
    store.recent_questions(1).unwrap().remove(0)
}

fn log(store: &SqliteStore, q: &QuestionRecord) -> i64 {
    store.record_question(q).unwrap().id().expect("stored, not spooled")
}

fn spool_of(store: &SqliteStore) -> &Path {
    store.spool.as_deref().expect("a store on a file has a spool")
}

fn schema_version(store: &SqliteStore) -> usize {
    let conn = store.conn().unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
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
        provenance: None,
    }
}

#[test]
fn migrations_apply_once_on_a_file_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/store.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(schema_version(&store), MIGRATIONS.len());
    log(&store, &record("转关怎么办"));
    drop(store);
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(schema_version(&again), MIGRATIONS.len());
    assert_eq!(count(&again), 1);
    let mode: String = again
        .conn()
        .unwrap()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
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
    std::fs::read_to_string(spool_of(store))
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
    assert_eq!(count(&store), 0, "the database did not take it");
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
    assert!(!spool_of(&store).exists(), "the spool is removed once replayed");
    assert_eq!(store.replay_spool().unwrap(), 0);
    assert_eq!(count(&store), 1);
    assert_eq!(last(&store).question, "手机138****5678，转关怎么办");
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
    assert_eq!(count(&store), 1);
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
    assert_eq!(count(&store), 6);
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
    let spool = spool_of(&store).to_path_buf();
    let kept = std::fs::read(&spool).unwrap();
    assert_eq!(store.replay_spool().unwrap(), 2);
    // As if the process died after the commit, before the spool was removed.
    std::fs::write(&spool, &kept).unwrap();
    assert_eq!(store.replay_spool().unwrap(), 0);
    assert_eq!(count(&store), 2);
    assert!(!spool.exists());
}

#[test]
fn a_torn_spool_line_neither_swallows_the_next_question_nor_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path(), 100);
    let spool = spool_of(&store).to_path_buf();
    // A crash in the middle of an append left half a line.
    std::fs::write(&spool, r#"{"uid":"abc","at":"2026-"#).unwrap();
    let lock = write_lock(dir.path());
    assert_eq!(store.record_question(&record("转关")).unwrap(), Logged::Spooled);
    drop(lock);
    assert_eq!(store.replay_spool().unwrap(), 1);
    assert_eq!(last(&store).question, "转关");
    let rejected = std::fs::read_to_string(spool.with_extension("rejected.jsonl")).unwrap();
    assert_eq!(rejected, "{\"uid\":\"abc\",\"at\":\"2026-\n");
    assert!(!spool.exists());
}

#[test]
fn when_neither_the_database_nor_the_spool_take_a_question_the_caller_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path(), 100);
    // Something else sits where the spool would be written.
    std::fs::create_dir(spool_of(&store)).unwrap();
    let lock = write_lock(dir.path());
    let err = store.record_question(&record("转关")).unwrap_err();
    assert!(format!("{err:#}").contains("neither could the spool"), "{err:#}");
    drop(lock);
    assert!(matches!(
        store.record_question(&record("转关")).unwrap(),
        Logged::Stored(_)
    ));
}
