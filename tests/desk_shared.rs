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

/// A new entry, written into the shared knowledge folder.
fn add_entry(site: &std::path::Path) {
    std::fs::write(
        site.join("knowledge/faq/shared-new.md"),
        "+++\nid = \"faq-bonded-exhibition\"\nkind = \"faq\"\ntitle = \"保税展示交易的办理\"\nquestions = [\"保税展示交易怎么办理\"]\nkeywords = [\"保税展示交易\"]\nlegal_basis = []\nupdated = 2026-11-26\n+++\n保税展示交易的说明（测试用）。\n",
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reindex_through_one_desk_is_picked_up_by_the_other_without_a_failed_question() {
    let p = pair("");
    let site = p._dir.path();
    let before = p.desks[1].assistant().index().generation_name();
    // The second desk follows the generation the store names, as `serve` has it do.
    let store = p.store.clone();
    let watcher = tokio::spawn(customs_bot::app::watch_index(
        p.desks[1].assistant().clone(),
        Duration::from_millis(50),
        move || store.live_generation(),
    ));
    // Questions keep coming to the second desk while the first reindexes.
    let asker = {
        let desk = p.desks[1].clone();
        tokio::spawn(async move {
            let chat = Chat::new(Channel::Web, "web:00000000000000000000aaaa");
            let mut decisions = Vec::new();
            for _ in 0..40 {
                let a = desk.assistant().clone();
                let reply = tokio::task::spawn_blocking(move || a.ask("转关怎么办")).await.unwrap();
                decisions.push(reply.decision);
                desk.ask(&chat, "转关怎么办").await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            decisions
        })
    };
    add_entry(site);
    let done = p.desks[0]
        .reindex("web:wang".into(), customs_bot::desk::Mode::Accept(None))
        .await
        .unwrap();
    assert!(done.outcome.published(), "{:?}", done.warnings);
    let published = p.desks[0].assistant().index().generation_name();
    assert_ne!(published, before);
    assert_eq!(p.store.live_generation().unwrap().as_deref(), Some(published.as_str()));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while p.desks[1].assistant().index().generation_name() != published {
        assert!(std::time::Instant::now() < deadline, "the other desk never switched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let decisions = asker.await.unwrap();
    let first = decisions[0];
    assert!(
        decisions.iter().all(|d| *d == first),
        "the same answer throughout: {decisions:?}"
    );
    // The other desk answers from the new entry, and reports the generation in service.
    let reply = p.desks[1].assistant().ask("保税展示交易怎么办理");
    assert_eq!(
        reply.entry.as_ref().map(|e| e.id.as_str()),
        Some("faq-bonded-exhibition")
    );
    let ready = p.desks[1].readiness().await;
    assert_eq!(ready.index_generation, published);
    assert_eq!(ready.live_generation.as_deref(), Some(published.as_str()));
    watcher.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generation_the_store_names_is_served_and_current_only_when_it_names_none() {
    let p = pair("");
    let site = p._dir.path();
    let first = p.desks[0].assistant().index().generation_name();
    add_entry(site);
    p.desks[0]
        .reindex("web:wang".into(), customs_bot::desk::Mode::Accept(None))
        .await
        .unwrap();
    let second = p.desks[0].assistant().index().generation_name();
    // The store names the first generation (kept on disk as the previous one): the watcher serves
    // it, whatever CURRENT says.
    p.store.set_live_generation(&first).unwrap();
    let assistant = p.desks[1].assistant().clone();
    let follows = |named: Option<String>| {
        let a = assistant.clone();
        customs_bot::app::watch_index(a, Duration::from_millis(20), move || Ok(named.clone()))
    };
    let watcher = tokio::spawn(follows(Some(first.clone())));
    tokio::time::sleep(Duration::from_millis(300)).await;
    watcher.abort();
    assert_eq!(assistant.index().generation_name(), first);
    // A name that is not a generation is refused before it touches the file system.
    let watcher = tokio::spawn(follows(Some("../../etc".into())));
    tokio::time::sleep(Duration::from_millis(200)).await;
    watcher.abort();
    assert_eq!(assistant.index().generation_name(), first);
    // Named by no one: CURRENT decides.
    let watcher = tokio::spawn(follows(None));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while assistant.index().generation_name() != second {
        assert!(std::time::Instant::now() < deadline, "never followed CURRENT");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watcher.abort();
}
