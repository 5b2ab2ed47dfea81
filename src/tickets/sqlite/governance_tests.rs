//! The store's provenance, replayed questions and audit trail.

use super::*;
use crate::tickets::*;

fn asked(store: &SqliteStore, q: &str, provenance: Option<Box<Provenance>>) -> i64 {
    let record = QuestionRecord {
        channel: "telegram".into(),
        chat: "42".into(),
        question: q.into(),
        decision: "answer".into(),
        entry: Some("proc-transit".into()),
        confidence: 0.9,
        latency_ms: 0.3,
        provenance,
    };
    store.record_question(&record).unwrap().id().unwrap()
}

fn provenance(reply: &str) -> Provenance {
    Provenance {
        generation: "gen-1".into(),
        reply: reply.into(),
        entries: vec![EntryVersion {
            id: "proc-transit".into(),
            updated: "2026-11-26".into(),
            hash: "0123456789abcdef".into(),
        }],
    }
}

#[test]
fn a_logged_reply_is_kept_masked_with_where_it_came_from() {
    let store = SqliteStore::in_memory().unwrap();
    let id = asked(
        &store,
        "转关 13912345678",
        Some(Box::new(provenance("您问「转关 13912345678」：转关答复。"))),
    );
    let old = asked(&store, "旧问题", None);
    let told = store.question_told(id).unwrap().unwrap();
    assert_eq!(told.question, "转关 139****5678");
    let p = told.provenance.unwrap();
    assert_eq!(p.reply, "您问「转关 139****5678」：转关答复。");
    assert_eq!((p.generation.as_str(), p.entries.len()), ("gen-1", 1));
    assert_eq!(p.entries[0].hash, "0123456789abcdef");
    assert!(store.question_told(old).unwrap().unwrap().provenance.is_none());
    assert!(store.question_told(999).unwrap().is_none());

    // An operator's answer to a ticket for the question is shown with who wrote it.
    let t = store
        .open_ticket(&NewTicket {
            channel: "telegram",
            chat: "42",
            question: "转关",
            reason: TicketReason::Handoff,
            guesses: &[],
            question_id: Some(id),
        })
        .unwrap();
    store.answer_ticket(t.id, "请走转关申报。", "web:wang").unwrap();
    let told = store.question_told(id).unwrap().unwrap();
    assert_eq!(told.operator_answers.len(), 1);
    assert_eq!(
        (
            told.operator_answers[0].answer.as_str(),
            told.operator_answers[0].by.as_str()
        ),
        ("请走转关申报。", "web:wang")
    );
}

#[test]
fn provenance_survives_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite");
    let store = SqliteStore::open(&db).unwrap();
    let record = QuestionRecord {
        channel: "web".into(),
        chat: "web:1".into(),
        question: "转关".into(),
        decision: "answer".into(),
        entry: Some("proc-transit".into()),
        confidence: 1.0,
        latency_ms: 1.0,
        provenance: Some(Box::new(provenance("转关答复。"))),
    };
    crate::tickets::spool::append_spool(&spool_path(&db), &QuestionRow::new(&record)).unwrap();
    assert_eq!(store.replay_spool().unwrap(), 1);
    let id: i64 = store
        .conn()
        .unwrap()
        .query_row("SELECT MAX(id) FROM questions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        store.question_told(id).unwrap().unwrap().provenance.unwrap().reply,
        "转关答复。"
    );
}

#[test]
fn the_questions_to_replay_are_distinct_most_asked_first_without_choices() {
    let store = SqliteStore::in_memory().unwrap();
    for q in [
        "转关怎么办",
        "滞报金",
        "转关怎么办",
        "[选择] 跨关区转关",
        "滞报金",
        "转关怎么办",
    ] {
        asked(&store, q, None);
    }
    assert_eq!(store.asked_questions(30, 10).unwrap(), ["转关怎么办", "滞报金"]);
    assert_eq!(store.asked_questions(30, 1).unwrap(), ["转关怎么办"]);
    store
        .conn()
        .unwrap()
        .execute(
            "UPDATE questions SET at = '2020-01-01T00:00:00.000Z' WHERE question = '滞报金'",
            [],
        )
        .unwrap();
    assert_eq!(store.asked_questions(30, 10).unwrap(), ["转关怎么办"]);
}

#[test]
fn the_audit_trail_lists_changes_by_entry_and_purge_covers_it() {
    let store = SqliteStore::in_memory().unwrap();
    let change = |who: &str, changed: &[&str], gate: &str| KnowledgeChange {
        who: who.into(),
        action: "reindex".into(),
        fingerprint_before: Some("aa".into()),
        fingerprint_after: "bb".into(),
        changed: changed.iter().map(|s| s.to_string()).collect(),
        outside: changed.iter().map(|s| s.to_string()).collect(),
        gate: gate.into(),
        detail: "report".into(),
        ..Default::default()
    };
    store
        .record_change(&change("cli:wang", &["proc-transit"], "refused"))
        .unwrap();
    store
        .record_change(&change("cli:wang", &["proc-transit"], "accepted"))
        .unwrap();
    store
        .record_change(&change("web:li", &["proc-transit-old"], "passed"))
        .unwrap();
    let all = store.changes(None, 10).unwrap();
    assert_eq!(
        all.iter().map(|c| c.gate.as_str()).collect::<Vec<_>>(),
        ["passed", "accepted", "refused"]
    );
    assert!(all[0].at.is_some());
    // An id matches exactly, never as part of another id.
    let one = store.changes(Some("proc-transit"), 10).unwrap();
    assert_eq!(one.len(), 2);
    assert_eq!(
        (one[0].who.as_str(), one[0].outside.clone()),
        ("cli:wang", vec!["proc-transit".to_string()])
    );
    assert_eq!(store.changes(None, 1).unwrap().len(), 1);
    store
        .conn()
        .unwrap()
        .execute(
            "UPDATE knowledge_changes SET at = '2020-01-01T00:00:00.000Z' WHERE gate = 'refused'",
            [],
        )
        .unwrap();
    store.purge(30).unwrap();
    assert_eq!(store.changes(None, 10).unwrap().len(), 2);
}
