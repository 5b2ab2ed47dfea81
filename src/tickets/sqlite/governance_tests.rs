//! Provenance kept through the spool (the store's other governance tests run against both stores
//! in `tests/store_conformance.rs`).

use super::*;
use crate::tickets::*;

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
