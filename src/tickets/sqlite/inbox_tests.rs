//! The webhook inbox: once per `update_id`, per-chat order, leases that lapse, drains that release.

use std::time::Duration;

use super::*;
use crate::tickets::{InboxUpdate, TicketStore};

const HOUR: Duration = Duration::from_secs(3600);

fn update(update_id: i64, chat: i64) -> InboxUpdate {
    InboxUpdate {
        update_id,
        chat,
        payload: format!(r#"{{"update_id":{update_id},"chat":{chat}}}"#),
    }
}

fn claimed_id(store: &SqliteStore, owner: &str, lease: Duration) -> Option<i64> {
    store.inbox_claim(owner, lease).unwrap().map(|u| u.update_id)
}

#[test]
fn an_update_is_kept_once() {
    let store = SqliteStore::in_memory().unwrap();
    assert!(store.inbox_put(&update(10, 7)).unwrap());
    let mut again = update(10, 7);
    again.payload = "{}".into();
    assert!(
        !store.inbox_put(&again).unwrap(),
        "a retried update_id is not kept again"
    );
    let got = store.inbox_claim("a", HOUR).unwrap().unwrap();
    assert_eq!(got, update(10, 7), "the first payload stays");
    store.inbox_done(10).unwrap();
    assert!(!store.inbox_put(&update(10, 7)).unwrap(), "nor once it is done");
    assert_eq!(store.inbox_claim("a", HOUR).unwrap(), None);
}

#[test]
fn nothing_to_claim_in_an_empty_inbox() {
    let store = SqliteStore::in_memory().unwrap();
    assert_eq!(store.inbox_claim("a", HOUR).unwrap(), None);
}

#[test]
fn a_chat_s_updates_are_claimed_in_order() {
    let store = SqliteStore::in_memory().unwrap();
    // Received out of order: the chat's order is the update_id's.
    store.inbox_put(&update(12, 7)).unwrap();
    store.inbox_put(&update(11, 7)).unwrap();
    store.inbox_put(&update(13, 8)).unwrap();
    assert_eq!(claimed_id(&store, "a", HOUR), Some(11), "the oldest first");
    assert_eq!(
        claimed_id(&store, "b", HOUR),
        Some(13),
        "chat 7's second update waits while its first is leased; another chat goes on"
    );
    assert_eq!(claimed_id(&store, "c", HOUR), None, "12 waits for 11 to be done");
    store.inbox_release("a").unwrap();
    assert_eq!(
        claimed_id(&store, "c", HOUR),
        Some(11),
        "released, not done: 11 again, never 12 before it"
    );
    store.inbox_done(11).unwrap();
    assert_eq!(claimed_id(&store, "c", HOUR), Some(12), "11 done: now 12");
    assert_eq!(claimed_id(&store, "c", HOUR), None);
}

#[test]
fn a_lapsed_lease_is_claimable_again() {
    let store = SqliteStore::in_memory().unwrap();
    store.inbox_put(&update(20, 1)).unwrap();
    store.inbox_put(&update(21, 1)).unwrap();
    // A lease of a second: the second claim comes well within it even on a loaded machine.
    assert_eq!(claimed_id(&store, "dead", Duration::from_secs(1)), Some(20));
    assert_eq!(claimed_id(&store, "alive", HOUR), None, "leased");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        claimed_id(&store, "alive", HOUR),
        Some(20),
        "the process holding it died: its lease ran out"
    );
    assert_eq!(claimed_id(&store, "other", HOUR), None, "and it is leased again");
}

#[test]
fn release_ends_only_the_owner_s_leases() {
    let store = SqliteStore::in_memory().unwrap();
    store.inbox_put(&update(30, 1)).unwrap();
    store.inbox_put(&update(31, 2)).unwrap();
    assert_eq!(claimed_id(&store, "p1-0", HOUR), Some(30));
    assert_eq!(claimed_id(&store, "p2-0", HOUR), Some(31));
    store.inbox_release("p1-0").unwrap();
    assert_eq!(
        claimed_id(&store, "p3-0", HOUR),
        Some(30),
        "p1's update is free at once"
    );
    assert_eq!(claimed_id(&store, "p3-1", HOUR), None, "p2's lease stands");
}

#[test]
fn done_is_final_and_idempotent() {
    let store = SqliteStore::in_memory().unwrap();
    store.inbox_put(&update(40, 1)).unwrap();
    assert_eq!(claimed_id(&store, "a", Duration::ZERO), Some(40));
    store.inbox_done(40).unwrap();
    store.inbox_done(40).unwrap();
    store.inbox_release("a").unwrap();
    assert_eq!(
        claimed_id(&store, "b", HOUR),
        None,
        "a done update is never claimed again"
    );
}

#[test]
fn purge_removes_done_updates_after_a_day() {
    let store = SqliteStore::in_memory().unwrap();
    for id in [50, 51, 52] {
        store.inbox_put(&update(id, id)).unwrap();
    }
    store.inbox_done(50).unwrap();
    store.inbox_done(51).unwrap();
    let old = stamp(chrono::Utc::now() - chrono::Duration::hours(25));
    store
        .conn()
        .unwrap()
        .execute(
            "UPDATE telegram_inbox SET received_at = ?1, done_at = CASE WHEN done_at IS NULL THEN NULL ELSE ?1 END
             WHERE update_id IN (50, 52)",
            [&old],
        )
        .unwrap();
    store.purge(365).unwrap();
    let left: Vec<i64> = {
        let conn = store.conn().unwrap();
        let mut stmt = conn
            .prepare("SELECT update_id FROM telegram_inbox ORDER BY update_id")
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(
        left,
        vec![51, 52],
        "done a day ago: gone; done recently, or not done: kept"
    );
    // 52 was never done, whatever its age: still claimable.
    assert_eq!(claimed_id(&store, "a", HOUR), Some(52));
}

#[test]
fn two_stores_on_one_file_never_claim_the_same_update() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    let (a, b) = (SqliteStore::open(&path).unwrap(), SqliteStore::open(&path).unwrap());
    for id in 0..40 {
        a.inbox_put(&update(id, id % 5)).unwrap();
    }
    let claim_all = |store: SqliteStore, owner: &'static str| {
        std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut idle = 0;
            while idle < 20 {
                match store.inbox_claim(owner, HOUR).unwrap() {
                    Some(u) => {
                        got.push(u.update_id);
                        store.inbox_done(u.update_id).unwrap();
                        idle = 0;
                    }
                    None => {
                        idle += 1;
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
            }
            got
        })
    };
    let (ta, tb) = (claim_all(a, "a"), claim_all(b, "b"));
    let mut all = ta.join().unwrap();
    all.extend(tb.join().unwrap());
    all.sort();
    assert_eq!(all, (0..40).collect::<Vec<_>>(), "each update claimed exactly once");
}
