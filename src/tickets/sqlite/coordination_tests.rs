//! Group A (#15): claims, leases, rate windows, sessions and the live generation, on one store and
//! on two stores over one database file (as two processes would have).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::ratelimit::Rate;
use crate::tickets::*;

fn ticket(store: &SqliteStore, channel: &str, question: &str) -> Ticket {
    store
        .open_ticket(&NewTicket {
            channel,
            chat: "42",
            question,
            reason: TicketReason::Handoff,
            guesses: &[],
            question_id: None,
        })
        .unwrap()
}

/// Two stores on one database file: what two processes see.
fn two_stores(dir: &Path) -> (SqliteStore, SqliteStore) {
    let path = dir.join("shared.sqlite");
    (SqliteStore::open(&path).unwrap(), SqliteStore::open(&path).unwrap())
}

const LEASE: Duration = Duration::from_secs(60);

#[test]
fn a_relay_is_claimed_by_one_store_until_relayed_or_released() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_stores(dir.path());
    let t = ticket(&a, "telegram", "转关");
    ticket(&a, "web", "网页的问题");
    assert!(
        a.claim_relays("telegram", LEASE).unwrap().is_empty(),
        "not answered yet"
    );
    a.answer_ticket(t.id, "请携带转关申报单。", "op").unwrap();
    let claimed = a.claim_relays("telegram", LEASE).unwrap();
    assert_eq!(claimed.iter().map(|t| t.id).collect::<Vec<_>>(), [t.id]);
    assert_eq!(claimed[0].answer.as_deref(), Some("请携带转关申报单。"));
    assert!(
        b.claim_relays("telegram", LEASE).unwrap().is_empty(),
        "leased to the other"
    );
    assert!(
        a.claim_relays("telegram", LEASE).unwrap().is_empty(),
        "leased, even to the same caller"
    );
    // The send failed: due again at once, for whoever comes first.
    a.release_relay(t.id).unwrap();
    assert_eq!(b.claim_relays("telegram", LEASE).unwrap().len(), 1);
    b.mark_relayed(t.id).unwrap();
    b.release_relay(t.id).unwrap();
    assert!(
        a.claim_relays("telegram", LEASE).unwrap().is_empty(),
        "relayed: never again"
    );
    assert!(a.pending_relays("telegram").unwrap().is_empty());
}

#[test]
fn an_expired_relay_lease_makes_the_relay_due_again_and_a_new_answer_ends_the_lease() {
    let store = SqliteStore::in_memory().unwrap();
    let t = ticket(&store, "telegram", "转关");
    store.answer_ticket(t.id, "第一次答复", "op").unwrap();
    assert_eq!(store.claim_relays("telegram", Duration::ZERO).unwrap().len(), 1);
    // A lease of zero has run out already: the process that held it is taken as gone.
    assert_eq!(store.claim_relays("telegram", LEASE).unwrap().len(), 1);
    assert!(store.claim_relays("telegram", LEASE).unwrap().is_empty());
    store.answer_ticket(t.id, "更正后的答复", "op").unwrap();
    let again = store.claim_relays("telegram", LEASE).unwrap();
    assert_eq!(again[0].answer.as_deref(), Some("更正后的答复"));
}

#[test]
fn concurrent_claims_share_out_relays_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite");
    let first = SqliteStore::open(&path).unwrap();
    let mut ids: Vec<i64> = (0..40)
        .map(|i| {
            let t = ticket(&first, "telegram", &format!("问题{i}"));
            first.answer_ticket(t.id, "答复", "op").unwrap();
            t.id
        })
        .collect();
    let stores: Vec<Arc<SqliteStore>> = (0..4).map(|_| Arc::new(SqliteStore::open(&path).unwrap())).collect();
    let handles: Vec<_> = stores
        .iter()
        .map(|s| {
            let s = Arc::clone(s);
            std::thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..5 {
                    got.extend(s.claim_relays("telegram", LEASE).unwrap().into_iter().map(|t| t.id));
                }
                got
            })
        })
        .collect();
    let mut claimed: Vec<i64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    claimed.sort_unstable();
    ids.sort_unstable();
    assert_eq!(claimed, ids, "every relay claimed exactly once");
}

#[test]
fn an_overdue_ticket_is_claimed_once() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_stores(dir.path());
    let t = ticket(&a, "telegram", "转关");
    let answered = ticket(&a, "telegram", "已答复的");
    a.answer_ticket(answered.id, "答复", "op").unwrap();
    let earlier = Utc::now() - chrono::Duration::minutes(1);
    assert!(a.claim_overdue(earlier).unwrap().is_empty(), "not overdue yet");
    let later = Utc::now() + chrono::Duration::minutes(1);
    let claimed = a.claim_overdue(later).unwrap();
    assert_eq!(claimed.iter().map(|t| t.id).collect::<Vec<_>>(), [t.id]);
    assert!(claimed[0].overdue_announced);
    assert!(b.claim_overdue(later).unwrap().is_empty());
    assert!(a.overdue_unannounced(later).unwrap().is_empty());
}

#[test]
fn an_unpicked_set_of_choices_is_leased_to_one_caller_until_linked() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_stores(dir.path());
    let candidates = [Guess {
        id: "permit-ata-a".into(),
        title: "A".into(),
    }];
    let id = a.log_clarify("telegram", "42", "ATA", &candidates, None).unwrap();
    let picked = a.log_clarify("telegram", "43", "ATA", &candidates, None).unwrap();
    a.clarify_picked("telegram", "43").unwrap();
    let later = Utc::now() + chrono::Duration::minutes(1);
    let claimed = a.claim_stale_clarifies(later, LEASE).unwrap();
    assert_eq!(claimed.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
    assert_ne!(claimed[0].id, picked);
    assert_eq!(claimed[0].candidates, candidates);
    assert!(
        b.claim_stale_clarifies(later, LEASE).unwrap().is_empty(),
        "leased to the other"
    );
    let t = ticket(&a, "telegram", "ATA");
    a.link_clarify(id, t.id).unwrap();
    assert!(
        b.claim_stale_clarifies(later, Duration::ZERO).unwrap().is_empty(),
        "linked: done"
    );
    // A lease that ran out (the process died before opening the ticket) frees the set again.
    let other = b.log_clarify("telegram", "44", "ATA", &candidates, None).unwrap();
    assert_eq!(b.claim_stale_clarifies(later, Duration::ZERO).unwrap()[0].id, other);
    assert_eq!(a.claim_stale_clarifies(later, LEASE).unwrap()[0].id, other);
}

#[test]
fn rate_hits_count_per_scope_and_key_across_stores_and_tell_once_per_window() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_stores(dir.path());
    let minute = Duration::from_secs(60);
    assert_eq!(a.rate_hit("telegram", "42", 2, minute).unwrap(), Rate::Allowed);
    assert_eq!(b.rate_hit("telegram", "42", 2, minute).unwrap(), Rate::Allowed);
    assert_eq!(a.rate_hit("telegram", "42", 2, minute).unwrap(), Rate::Limited(true));
    assert_eq!(b.rate_hit("telegram", "42", 2, minute).unwrap(), Rate::Limited(false));
    assert_eq!(
        a.rate_hit("telegram", "43", 2, minute).unwrap(),
        Rate::Allowed,
        "another key"
    );
    assert_eq!(
        a.rate_hit("web", "42", 2, minute).unwrap(),
        Rate::Allowed,
        "another scope"
    );
    assert!((0..50).all(|_| a.rate_hit("login", "1.2.3.4", 0, minute).unwrap() == Rate::Allowed));
    // A window that has ended starts afresh. A second long: two writes on a loaded 2-core machine
    // took longer than the 50 ms this window once was.
    let short = Duration::from_secs(1);
    assert_eq!(a.rate_hit("web", "9", 1, short).unwrap(), Rate::Allowed);
    assert_eq!(a.rate_hit("web", "9", 1, short).unwrap(), Rate::Limited(true));
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(b.rate_hit("web", "9", 1, short).unwrap(), Rate::Allowed);
    assert_eq!(b.rate_hit("web", "9", 1, short).unwrap(), Rate::Limited(true));
}

#[test]
fn sessions_are_kept_by_digest_shared_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_stores(dir.path());
    let token = random_key();
    let session = OperatorSession {
        operator: "li".into(),
        csrf: random_key(),
        expires: Utc::now() + chrono::Duration::hours(8),
    };
    a.create_session(&token, &session).unwrap();
    let read = b.session(&token).unwrap().expect("made by one, read by the other");
    assert_eq!(read.operator, "li");
    assert_eq!(read.csrf, session.csrf);
    assert_eq!(read.expires.timestamp_millis(), session.expires.timestamp_millis());
    assert_eq!(b.session(&random_key()).unwrap(), None);
    // The token itself is nowhere in the database.
    let stored: String = a
        .conn()
        .unwrap()
        .query_row("SELECT token_sha256 FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_ne!(stored, token);
    assert_eq!(stored.len(), 64);
    b.end_session(&token).unwrap();
    assert_eq!(a.session(&token).unwrap(), None);
    let old = random_key();
    let expired = OperatorSession {
        expires: Utc::now() - chrono::Duration::seconds(1),
        ..session
    };
    a.create_session(&old, &expired).unwrap();
    assert_eq!(a.session(&old).unwrap(), None, "expired");
}

#[test]
fn purge_removes_expired_sessions_and_rate_windows_only() {
    let store = SqliteStore::in_memory().unwrap();
    let session = |hours: i64| OperatorSession {
        operator: "li".into(),
        csrf: "c".into(),
        expires: Utc::now() + chrono::Duration::hours(hours),
    };
    store.create_session("live", &session(1)).unwrap();
    store.create_session("gone", &session(-1)).unwrap();
    store.rate_hit("web", "old", 5, Duration::ZERO).unwrap();
    store.rate_hit("web", "new", 5, Duration::from_secs(60)).unwrap();
    store.purge(30).unwrap();
    let rows = |sql: &str| -> i64 { store.conn().unwrap().query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(rows("SELECT COUNT(*) FROM sessions"), 1);
    assert_eq!(rows("SELECT COUNT(*) FROM rate_windows"), 1);
    assert!(store.session("live").unwrap().is_some());
}

#[test]
fn the_live_generation_is_recorded_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_stores(dir.path());
    assert_eq!(a.live_generation().unwrap(), None);
    a.set_live_generation("gen-1").unwrap();
    assert_eq!(b.live_generation().unwrap().as_deref(), Some("gen-1"));
    b.set_live_generation("gen-2").unwrap();
    assert_eq!(a.live_generation().unwrap().as_deref(), Some("gen-2"));
}
