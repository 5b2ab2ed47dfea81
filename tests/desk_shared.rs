//! Two desks over one ticket database — what two `serve` processes are (#15): each piece of the
//! housekeeping is done once, whichever desk gets to it first: an operator's answer is relayed
//! once, an overdue ticket announced once, a set of unpicked choices becomes one ticket.

use std::sync::Arc;
use std::time::Duration;

use customs_bot::app::Assistant;
use customs_bot::desk::{Channel, Chat, Desk, housekeeping};
use customs_bot::tickets::{SqliteStore, Ticket, TicketReason, TicketState, TicketStore};

use crate::desk::{Recorder, site_config};

/// Two desks ("processes"), each with its own assistant, store connection pool and notifier, over
/// one knowledge folder, one index directory and one database file.
struct Pair {
    desks: Vec<Arc<Desk>>,
    recorders: Vec<Arc<Recorder>>,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

fn pair(operators: &str) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let config = site_config(dir.path(), operators);
    let db = dir.path().join("tickets.sqlite");
    let (mut desks, mut recorders) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        let assistant = Arc::new(Assistant::start(config.clone()).unwrap());
        let store: Arc<dyn TicketStore> = Arc::new(SqliteStore::open(&db).unwrap());
        // Sending takes a while, so that a second sender would overlap the first.
        let recorder = Arc::new(Recorder {
            delay: Duration::from_millis(100),
            ..Recorder::default()
        });
        desks.push(Arc::new(Desk::new(assistant, store).with_notifier(recorder.clone())));
        recorders.push(recorder);
    }
    Pair {
        desks,
        recorders,
        store: Arc::new(SqliteStore::open(&db).unwrap()),
        _dir: dir,
    }
}

/// Runs both desks' housekeeping side by side until `done` holds (or 15 s pass), then for
/// `more` so that a second doer would have had its chance, then stops both.
async fn both_housekeep_until(p: &Pair, what: &str, more: Duration, done: impl Fn() -> bool) {
    let mut stops = Vec::new();
    let mut keepers = Vec::new();
    for desk in &p.desks {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        keepers.push(tokio::spawn(housekeeping(desk.clone(), async move {
            let _ = stopped.await;
        })));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "housekeeping never did: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(more).await;
    for stop in stops {
        stop.send(()).unwrap();
    }
    for k in keepers {
        k.await.unwrap();
    }
}

fn all_told(p: &Pair) -> Vec<(&'static str, Ticket)> {
    p.recorders
        .iter()
        .flat_map(|r| r.told.lock().unwrap().clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_desks_relay_each_answer_once() {
    let p = pair("");
    let mut tickets = Vec::new();
    for i in 0..6 {
        let chat = Chat::new(Channel::Telegram, format!("{}", 100 + i));
        let t = p.desks[i % 2].ask(&chat, "西宁明天天气怎么样").await.ticket.unwrap();
        tickets.push(t);
    }
    // Answered through both desks: each wakes its own housekeeping, the other finds them polling.
    for (i, t) in tickets.iter().enumerate() {
        p.desks[i % 2]
            .answer(t.id, "请看气象部门发布。".into(), "web:wang".into())
            .await
            .unwrap();
    }
    let store = p.store.clone();
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    both_housekeep_until(&p, "every answer relayed", Duration::from_millis(500), || {
        ids.iter()
            .all(|&id| store.ticket(id).unwrap().unwrap().state == TicketState::Closed)
    })
    .await;
    let mut relayed: Vec<i64> = all_told(&p)
        .into_iter()
        .filter(|(kind, _)| *kind == "answer")
        .map(|(_, t)| t.id)
        .collect();
    relayed.sort_unstable();
    assert_eq!(relayed, ids, "each answer told exactly once, by one desk or the other");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_desks_announce_an_overdue_ticket_once() {
    let p = pair("overdue_hours = 0");
    let mut ids = Vec::new();
    for i in 0..4 {
        let chat = Chat::new(Channel::Telegram, format!("{}", 200 + i));
        ids.push(p.desks[i % 2].ask(&chat, "西宁明天天气怎么样").await.ticket.unwrap().id);
    }
    let recorders = p.recorders.clone();
    let reminded = move || -> Vec<i64> {
        let mut all: Vec<i64> = recorders
            .iter()
            .flat_map(|r| r.reminded.lock().unwrap().clone())
            .collect();
        all.sort_unstable();
        all
    };
    let seen = reminded.clone();
    let expected = ids.clone();
    // Several timed passes (every 2 s) go by after the reminders.
    both_housekeep_until(
        &p,
        "every overdue ticket reminded",
        Duration::from_millis(4500),
        move || seen() == expected,
    )
    .await;
    assert_eq!(reminded(), ids, "each overdue ticket reminded once in all");
    assert!(
        ids.iter()
            .all(|&id| p.store.ticket(id).unwrap().unwrap().overdue_announced)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_desks_turn_an_unpicked_choice_into_one_ticket() {
    let p = pair("clarify_timeout_minutes = 0");
    let chat = Chat::new(Channel::Telegram, "300");
    let asked = p.desks[0].ask(&chat, "ATA单证册手续").await;
    assert!(asked.ticket.is_none(), "choices offered, no ticket yet");
    let store = p.store.clone();
    both_housekeep_until(
        &p,
        "the unpicked choices became a ticket",
        Duration::from_millis(4500),
        || !store.tickets(None).unwrap().is_empty(),
    )
    .await;
    let tickets = p.store.tickets(None).unwrap();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0].reason, TicketReason::UnpickedClarify);
    let announced: usize = p.recorders.iter().map(|r| r.announced.lock().unwrap().len()).sum();
    assert_eq!(announced, 1);
    let registered = all_told(&p)
        .into_iter()
        .filter(|(kind, _)| *kind == "registered")
        .count();
    assert_eq!(registered, 1, "the person is told once");
}
