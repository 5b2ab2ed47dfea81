//! What several processes share through the store (#15): relays, overdue reminders and unpicked
//! choices claimed once under leases, rate-limit windows, console sessions, the live index
//! generation and the webhook inbox. `b.another()` is a second store on the same database, as a
//! second process opens it.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use customs_bot::ratelimit::Rate;
use customs_bot::tickets::*;

use super::{Backend, new_ticket};

conformance!(
    a_relay_is_claimed_by_one_store_until_relayed_or_released,
    an_expired_relay_lease_makes_the_relay_due_again_and_a_new_answer_ends_the_lease,
    concurrent_claims_from_two_stores_share_out_relays_without_overlap,
    an_overdue_ticket_is_claimed_once,
    an_unpicked_set_of_choices_is_leased_to_one_caller_until_linked,
    rate_hits_count_per_scope_and_key_across_stores_and_tell_once_per_window,
    sessions_are_kept_by_digest_shared_and_expire,
    the_live_generation_is_recorded_and_replaced,
    inbox_updates_are_kept_once_and_claimed_in_each_chat_s_order,
    inbox_claims_from_two_stores_at_once_never_overlap,
    an_inbox_lease_is_renewed_only_by_its_owner,
);

const LEASE: Duration = Duration::from_secs(60);

fn answered(b: &Backend, channel: &str, question: &str) -> Ticket {
    let t = b
        .store
        .open_ticket(&NewTicket {
            channel,
            ..new_ticket(question, None)
        })
        .unwrap();
    b.store.answer_ticket(t.id, "请携带转关申报单。", "op").unwrap()
}

fn a_relay_is_claimed_by_one_store_until_relayed_or_released(b: &Backend) {
    let other = (b.another)();
    let t = b.store.open_ticket(&new_ticket("转关", None)).unwrap();
    answered(b, "web", "网页的问题");
    assert!(
        b.store.claim_relays("telegram", LEASE).unwrap().is_empty(),
        "not answered yet"
    );
    b.store.answer_ticket(t.id, "请携带转关申报单。", "op").unwrap();
    let claimed = b.store.claim_relays("telegram", LEASE).unwrap();
    assert_eq!(claimed.iter().map(|t| t.id).collect::<Vec<_>>(), [t.id]);
    assert_eq!(claimed[0].answer.as_deref(), Some("请携带转关申报单。"));
    assert!(
        other.claim_relays("telegram", LEASE).unwrap().is_empty(),
        "leased to the other"
    );
    assert!(
        b.store.claim_relays("telegram", LEASE).unwrap().is_empty(),
        "leased, even to the same caller"
    );
    b.store.release_relay(t.id).unwrap();
    assert_eq!(other.claim_relays("telegram", LEASE).unwrap().len(), 1);
    other.mark_relayed(t.id).unwrap();
    other.release_relay(t.id).unwrap();
    assert!(
        b.store.claim_relays("telegram", LEASE).unwrap().is_empty(),
        "relayed: never again"
    );
    assert_eq!(b.store.claim_relays("web", LEASE).unwrap().len(), 1, "per channel");
}

fn an_expired_relay_lease_makes_the_relay_due_again_and_a_new_answer_ends_the_lease(b: &Backend) {
    let t = answered(b, "telegram", "转关");
    assert_eq!(b.store.claim_relays("telegram", Duration::ZERO).unwrap().len(), 1);
    // A lease of zero has run out already: the process that held it is taken as gone.
    assert_eq!(b.store.claim_relays("telegram", LEASE).unwrap().len(), 1);
    assert!(b.store.claim_relays("telegram", LEASE).unwrap().is_empty());
    b.store.answer_ticket(t.id, "更正后的答复", "op").unwrap();
    let again = b.store.claim_relays("telegram", LEASE).unwrap();
    assert_eq!(again[0].answer.as_deref(), Some("更正后的答复"));
}

fn concurrent_claims_from_two_stores_share_out_relays_without_overlap(b: &Backend) {
    let mut ids: Vec<i64> = (0..40)
        .map(|i| answered(b, "telegram", &format!("问题{i}")).id)
        .collect();
    let stores = [b.store.clone(), (b.another)(), b.store.clone(), (b.another)()];
    let handles: Vec<_> = stores
        .into_iter()
        .map(|s| {
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

fn an_overdue_ticket_is_claimed_once(b: &Backend) {
    let other = (b.another)();
    let t = b.store.open_ticket(&new_ticket("转关", None)).unwrap();
    assert!(
        b.store.claim_overdue(t.opened_at).unwrap().is_empty(),
        "not before the cutoff"
    );
    let later = Utc::now() + chrono::Duration::minutes(1);
    let claimed = b.store.claim_overdue(later).unwrap();
    assert_eq!(claimed.iter().map(|t| t.id).collect::<Vec<_>>(), [t.id]);
    assert!(other.claim_overdue(later).unwrap().is_empty());
    assert!(b.store.claim_overdue(later).unwrap().is_empty());
    assert!(b.store.ticket(t.id).unwrap().unwrap().overdue_announced);
}

fn an_unpicked_set_of_choices_is_leased_to_one_caller_until_linked(b: &Backend) {
    let other = (b.another)();
    let choices = [Guess {
        id: "permit-ata-a".into(),
        title: "ATA".into(),
    }];
    let id = b.store.log_clarify("web", "web:aa", "ATA", &choices, None).unwrap();
    let later = Utc::now() + chrono::Duration::minutes(1);
    let got = b.store.claim_stale_clarifies(later, LEASE).unwrap();
    assert_eq!(
        (got.len(), got[0].id, got[0].candidates.clone()),
        (1, id, choices.to_vec())
    );
    assert!(other.claim_stale_clarifies(later, LEASE).unwrap().is_empty(), "leased");
    // The process died before linking: once the lease is over the set is due again, once.
    let zero = Utc::now() + chrono::Duration::minutes(1);
    let t = b.store.open_ticket(&new_ticket("ATA", None)).unwrap();
    assert!(other.claim_stale_clarifies(zero, LEASE).unwrap().is_empty());
    b.store.link_clarify(id, t.id).unwrap();
    assert!(
        other.claim_stale_clarifies(later, Duration::ZERO).unwrap().is_empty(),
        "linked: done"
    );
    let id2 = b.store.log_clarify("web", "web:bb", "ATA", &choices, None).unwrap();
    assert_eq!(b.store.claim_stale_clarifies(later, Duration::ZERO).unwrap()[0].id, id2);
    assert_eq!(
        other.claim_stale_clarifies(later, LEASE).unwrap()[0].id,
        id2,
        "lease ran out"
    );
}

fn rate_hits_count_per_scope_and_key_across_stores_and_tell_once_per_window(b: &Backend) {
    let other = (b.another)();
    let window = Duration::from_secs(60);
    assert_eq!(b.store.rate_hit("telegram", "42", 2, window).unwrap(), Rate::Allowed);
    assert_eq!(other.rate_hit("telegram", "42", 2, window).unwrap(), Rate::Allowed);
    assert_eq!(
        b.store.rate_hit("telegram", "42", 2, window).unwrap(),
        Rate::Limited(true)
    );
    assert_eq!(
        other.rate_hit("telegram", "42", 2, window).unwrap(),
        Rate::Limited(false)
    );
    assert_eq!(
        b.store.rate_hit("telegram", "43", 2, window).unwrap(),
        Rate::Allowed,
        "per key"
    );
    assert_eq!(
        b.store.rate_hit("web", "42", 2, window).unwrap(),
        Rate::Allowed,
        "per scope"
    );
    assert_eq!(
        b.store.rate_hit("telegram", "42", 0, window).unwrap(),
        Rate::Allowed,
        "0: no limit"
    );
    // A window that is over starts afresh (a second long, so that a loaded machine's two writes
    // fit inside it).
    let short = Duration::from_secs(1);
    assert_eq!(b.store.rate_hit("login", "1.2.3.4", 1, short).unwrap(), Rate::Allowed);
    assert_eq!(
        b.store.rate_hit("login", "1.2.3.4", 1, short).unwrap(),
        Rate::Limited(true)
    );
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(other.rate_hit("login", "1.2.3.4", 1, short).unwrap(), Rate::Allowed);
}

fn sessions_are_kept_by_digest_shared_and_expire(b: &Backend) {
    let other = (b.another)();
    let token = random_key();
    let session = OperatorSession {
        operator: "wang".into(),
        csrf: random_key(),
        expires: Utc::now() + chrono::Duration::hours(1),
    };
    b.store.create_session(&token, &session).unwrap();
    let got = other.session(&token).unwrap().unwrap();
    assert_eq!(
        (got.operator.as_str(), got.csrf.as_str()),
        ("wang", session.csrf.as_str())
    );
    assert!((got.expires - session.expires).num_milliseconds().abs() < 2);
    assert_eq!(other.session(&random_key()).unwrap(), None);
    let stored = (b.exec)(&format!("SELECT COUNT(*) FROM sessions WHERE token_sha256 = '{token}'"));
    assert_eq!(stored, 0, "the token itself is never stored");
    other.end_session(&token).unwrap();
    assert_eq!(b.store.session(&token).unwrap(), None);
    let old = random_key();
    b.store
        .create_session(
            &old,
            &OperatorSession {
                expires: Utc::now() - chrono::Duration::seconds(1),
                ..session
            },
        )
        .unwrap();
    assert_eq!(b.store.session(&old).unwrap(), None, "expired");
    b.store.purge(30).unwrap();
    assert_eq!((b.exec)("SELECT COUNT(*) FROM sessions"), 0, "purged");
}

fn the_live_generation_is_recorded_and_replaced(b: &Backend) {
    let other = (b.another)();
    assert_eq!(b.store.live_generation().unwrap(), None);
    b.store.set_live_generation("gen-1").unwrap();
    assert_eq!(other.live_generation().unwrap().as_deref(), Some("gen-1"));
    other.set_live_generation("gen-2").unwrap();
    assert_eq!(b.store.live_generation().unwrap().as_deref(), Some("gen-2"));
}

fn update(update_id: i64, chat: i64) -> InboxUpdate {
    InboxUpdate {
        update_id,
        chat,
        payload: format!("{{\"update_id\":{update_id}}}"),
    }
}

fn inbox_updates_are_kept_once_and_claimed_in_each_chat_s_order(b: &Backend) {
    let other = (b.another)();
    assert_eq!(b.store.inbox_claim("a", LEASE).unwrap(), None, "empty");
    assert!(b.store.inbox_put(&update(10, 1)).unwrap());
    assert!(!other.inbox_put(&update(10, 1)).unwrap(), "a retry is kept once");
    assert!(b.store.inbox_put(&update(11, 1)).unwrap());
    assert!(b.store.inbox_put(&update(12, 2)).unwrap());
    assert_eq!(b.store.inbox_claim("a", LEASE).unwrap(), Some(update(10, 1)));
    // Chat 1's next update waits for 10; chat 2's does not.
    assert_eq!(other.inbox_claim("b", LEASE).unwrap(), Some(update(12, 2)));
    assert_eq!(other.inbox_claim("b", LEASE).unwrap(), None);
    b.store.inbox_done(10).unwrap();
    assert_eq!(other.inbox_claim("b", LEASE).unwrap(), Some(update(11, 1)));
    // A drain hands b's leases back: another worker takes them at once.
    other.inbox_release("b").unwrap();
    assert_eq!(b.store.inbox_claim("a", LEASE).unwrap(), Some(update(11, 1)));
    b.store.inbox_done(11).unwrap();
    b.store.inbox_done(11).unwrap();
    // A lease that ran out (its process died) makes the update claimable again.
    b.store.inbox_release("nobody").unwrap();
    assert!(b.store.inbox_put(&update(13, 3)).unwrap());
    assert_eq!(
        b.store.inbox_claim("c", Duration::ZERO).unwrap(),
        Some(update(12, 2)),
        "b's, released"
    );
    assert_eq!(
        b.store.inbox_claim("c", Duration::ZERO).unwrap(),
        Some(update(12, 2)),
        "lease of zero ran out"
    );
    b.store.inbox_done(12).unwrap();
    assert_eq!(other.inbox_claim("d", LEASE).unwrap(), Some(update(13, 3)));
    b.store.inbox_done(13).unwrap();
    assert_eq!(b.store.inbox_claim("a", LEASE).unwrap(), None, "all done");
    assert!(
        !b.store.inbox_put(&update(13, 3)).unwrap(),
        "a done update is still recognised"
    );
}

fn inbox_claims_from_two_stores_at_once_never_overlap(b: &Backend) {
    for id in 0..60 {
        assert!(b.store.inbox_put(&update(1000 + id, id % 12)).unwrap());
    }
    let stores: Vec<Arc<dyn TicketStore>> = vec![b.store.clone(), (b.another)(), (b.another)()];
    let workers: Vec<_> = stores
        .into_iter()
        .enumerate()
        .map(|(n, s)| {
            std::thread::spawn(move || {
                let owner = format!("w{n}");
                let mut got = Vec::new();
                let mut idle = 0;
                while idle < 50 {
                    match s.inbox_claim(&owner, LEASE).unwrap() {
                        Some(u) => {
                            got.push(u.update_id);
                            s.inbox_done(u.update_id).unwrap();
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
        })
        .collect();
    let mut claimed: Vec<i64> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    claimed.sort_unstable();
    assert_eq!(
        claimed,
        (1000..1060).collect::<Vec<_>>(),
        "every update claimed exactly once"
    );
}

fn an_inbox_lease_is_renewed_only_by_its_owner(b: &Backend) {
    let other = (b.another)();
    assert!(b.store.inbox_put(&update(20, 5)).unwrap());
    assert_eq!(b.store.inbox_claim("a", Duration::ZERO).unwrap(), Some(update(20, 5)));
    // A handler still at work renews its lapsed lease: nobody else takes the update.
    assert!(b.store.inbox_renew(20, "a", LEASE).unwrap());
    assert_eq!(other.inbox_claim("b", LEASE).unwrap(), None, "renewed");
    assert!(!other.inbox_renew(20, "b", LEASE).unwrap(), "not b's lease");
    b.store.inbox_done(20).unwrap();
    assert!(!b.store.inbox_renew(20, "a", LEASE).unwrap(), "done");
    assert_eq!(other.inbox_claim("b", LEASE).unwrap(), None, "done stays done");
}
