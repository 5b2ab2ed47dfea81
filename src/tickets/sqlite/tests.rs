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

#[test]
fn questions_are_logged_masked_and_tickets_numbered() {
    let store = SqliteStore::in_memory().unwrap();
    let qid = log(&store, &record("手机13812345678，转关怎么办"));
    assert_eq!(last(&store).question, "手机138****5678，转关怎么办");
    let t = store
        .open_ticket(&NewTicket {
            channel: "telegram",
            chat: "42",
            question: "手机13812345678",
            reason: TicketReason::Handoff,
            guesses: &[],
            question_id: Some(qid),
        })
        .unwrap();
    assert_eq!(t.number(), format!("T{:06}", t.id));
    assert_eq!(store.ticket(t.id).unwrap().unwrap().question, "手机138****5678");
}

#[test]
fn feedback_is_recorded_once() {
    let store = SqliteStore::in_memory().unwrap();
    let qid = log(&store, &record("转关"));
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
    let qid = log(&store, &record("转关 13812345678"));
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
    let candidates = [("permit-ata-a", "A"), ("permit-ata-b", "B")].map(|(id, title)| Guess {
        id: id.into(),
        title: title.into(),
    });
    store.log_clarify("web", "web:aa", "ATA", &candidates, None).unwrap();
    assert!(store.clarify_offered("web", "web:aa", "permit-ata-b").unwrap());
    assert!(!store.clarify_offered("web", "web:bb", "permit-ata-b").unwrap());
    assert!(!store.clarify_offered("web", "web:aa", "proc-transit").unwrap());
    assert!(!store.clarify_offered("telegram", "web:aa", "permit-ata-a").unwrap());
    let later = chrono::Utc::now() + chrono::Duration::minutes(1);
    let stale = store.stale_clarifies(later).unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(
        (stale[0].channel.as_str(), stale[0].candidates.as_slice()),
        ("web", &candidates[..])
    );
    let earlier = chrono::Utc::now() - chrono::Duration::minutes(1);
    assert!(store.stale_clarifies(earlier).unwrap().is_empty());
}

#[test]
fn purge_removes_old_rows_only() {
    let store = SqliteStore::in_memory().unwrap();
    log(&store, &record("新问题"));
    store
        .conn()
        .unwrap()
        .execute(
            "INSERT INTO questions (at, channel, chat, question, decision, confidence, latency_ms) VALUES ('2000-01-01T00:00:00.000Z', 't', '1', '旧', 'answer', 1, 1)",
            [],
        )
        .unwrap();
    assert_eq!(store.purge(30).unwrap(), 1);
    assert_eq!(count(&store), 1);
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

#[test]
fn popular_entries_count_answers_and_picks_once_per_conversation_within_the_period() {
    let store = SqliteStore::in_memory().unwrap();
    let q = |chat: &str, decision: &str, entry: Option<&str>| QuestionRecord {
        channel: "web".into(),
        chat: chat.into(),
        question: "问题".into(),
        decision: decision.into(),
        entry: entry.map(str::to_string),
        confidence: 1.0,
        latency_ms: 1.0,
        provenance: None,
    };
    // proc-a: three conversations (one of them asked twice); proc-b: two; a hand-off naming an
    // entry as its guess and a clarify do not count; proc-old was asked before the period.
    for (chat, decision, entry) in [
        ("1", "answer", Some("proc-a")),
        ("1", "answer", Some("proc-a")),
        ("2", "answer", Some("proc-a")),
        ("3", "answer", Some("proc-a")),
        ("1", "answer", Some("proc-b")),
        ("4", "answer", Some("proc-b")),
        ("5", "handoff", Some("proc-c")),
        ("6", "handoff", Some("proc-c")),
        ("7", "handoff", Some("proc-c")),
        ("8", "clarify", None),
        ("9", "smalltalk", None),
    ] {
        log(&store, &q(chat, decision, entry));
    }
    store
        .conn()
        .unwrap()
        .execute(
            "INSERT INTO questions (at, channel, chat, question, decision, entry, confidence, latency_ms) VALUES ('2000-01-01T00:00:00.000Z', 'web', 'x', '旧', 'answer', 'proc-old', 1, 1)",
            [],
        )
        .unwrap();
    let since = Utc::now() - chrono::Duration::days(7);
    assert_eq!(
        store.popular_entries(since, 10).unwrap(),
        [("proc-a".to_string(), 3), ("proc-b".to_string(), 2)]
    );
    assert_eq!(store.popular_entries(since, 1).unwrap().len(), 1);
    // The same number of conversations on two channels are two conversations.
    log(
        &store,
        &QuestionRecord {
            channel: "telegram".into(),
            ..q("1", "answer", Some("proc-b"))
        },
    );
    assert_eq!(store.popular_entries(since, 1).unwrap(), [("proc-a".to_string(), 3)]);
    assert_eq!(store.popular_entries(since, 2).unwrap()[1], ("proc-b".to_string(), 3));
}

#[test]
fn a_forgotten_conversation_is_gone_and_others_stay() {
    let store = SqliteStore::in_memory().unwrap();
    let talk = crate::conversation::Conversation {
        topic: Some("proc-a".into()),
        last_question: Some("转关怎么办".into()),
        offered: Vec::new(),
    };
    store.save_conversation("web", "a", &talk).unwrap();
    store.save_conversation("web", "b", &talk).unwrap();
    let since = Utc::now() - chrono::Duration::minutes(30);
    store.forget_conversation("web", "a").unwrap();
    assert_eq!(store.conversation("web", "a", since).unwrap(), None);
    assert_eq!(store.conversation("web", "b", since).unwrap(), Some(talk));
    // Forgetting what is not there is not an error.
    store.forget_conversation("web", "nobody").unwrap();
}

#[test]
fn the_question_log_carries_feedback_unpicked_choices_and_the_latest_ticket() {
    let store = SqliteStore::in_memory().unwrap();
    let since = Utc::now() - chrono::Duration::minutes(1);
    let answered = log(&store, &record("滞报金怎么算 13812345678"));
    let mut clarify = record("ATA单证册手续");
    clarify.decision = "clarify".into();
    clarify.entry = None;
    let clarified = log(&store, &clarify);
    let offered = [Guess {
        id: "permit-ata-a".into(),
        title: "ATA单证册报关".into(),
    }];
    store
        .log_clarify("telegram", "42", "ATA单证册手续", &offered, Some(clarified))
        .unwrap();
    store
        .feedback(QuestionRef::Id(answered), "telegram", "42", false)
        .unwrap();
    let t = store
        .open_ticket(&NewTicket {
            channel: "telegram",
            chat: "42",
            question: "滞报金怎么算",
            reason: TicketReason::NotHelpful,
            guesses: &[Guess {
                id: "proc-transit".into(),
                title: "转关".into(),
            }],
            question_id: Some(answered),
        })
        .unwrap();
    store.answer_ticket(t.id, "按日加收万分之五。", "web:wang").unwrap();

    let got = store.question_log(since).unwrap();
    assert_eq!(got.len(), 2);
    let (a, c) = (&got[0], &got[1]);
    assert_eq!((a.id, a.helpful), (answered, Some(false)));
    assert!(a.question.contains("138****5678"), "masked: {}", a.question);
    let link = a.ticket.as_ref().unwrap();
    assert_eq!(
        (link.id, link.reason, link.answer.as_deref()),
        (t.id, TicketReason::NotHelpful, Some("按日加收万分之五。"))
    );
    assert_eq!(link.guesses[0].id, "proc-transit");
    assert_eq!(
        (c.helpful, c.unpicked.clone(), c.ticket.clone()),
        (None, offered.to_vec(), None)
    );
    // Once picked, the choices are no longer unpicked; nothing before `since` is read.
    store.clarify_picked("telegram", "42").unwrap();
    assert!(store.question_log(since).unwrap()[1].unpicked.is_empty());
    assert!(
        store
            .question_log(Utc::now() + chrono::Duration::minutes(1))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn tickets_since_are_those_opened_since_or_not_closed_before() {
    let store = SqliteStore::in_memory().unwrap();
    let new = |q: &'static str| NewTicket {
        channel: "web",
        chat: "web:x",
        question: q,
        reason: TicketReason::Handoff,
        guesses: &[],
        question_id: None,
    };
    let old_open = store.open_ticket(&new("一")).unwrap();
    let old_closed = store.open_ticket(&new("二")).unwrap();
    store.close_ticket(old_closed.id, CloseReason::Duplicate, None).unwrap();
    // Both were opened "long ago".
    store
        .conn()
        .unwrap()
        .execute(
            "UPDATE tickets SET opened_at = ?1, closed_at = CASE WHEN closed_at IS NULL THEN NULL ELSE ?1 END",
            [stamp(Utc::now() - chrono::Duration::days(40))],
        )
        .unwrap();
    let recent = store.open_ticket(&new("三")).unwrap();
    let ids: Vec<i64> = store
        .tickets_since(Utc::now() - chrono::Duration::days(30))
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec![old_open.id, recent.id]);
}
