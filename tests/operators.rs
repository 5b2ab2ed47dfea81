//! Tickets and operators end to end over the fake Telegram server: hand-off → ticket → notice in
//! the operators' chat → operator's reply → answer relayed to the person → promotion → reindex →
//! the same question now answered. Also: who may use operator commands, overdue re-announcement,
//! choices nobody picked, and questions during a reindex.

use std::sync::Arc;
use std::time::Duration;

use customs_bot::answer::Decision;
use customs_bot::app::{self, Assistant};
use customs_bot::config::Config;
use customs_bot::desk::{Cases, PromoteTarget, knowledge};
use customs_bot::index;
use customs_bot::reply::{Body, HandoffReason};
use customs_bot::tickets::TicketStore;

use crate::support::valid_site;
use crate::telegram::{Harness, buttons, text};

const OPS: i64 = -500;
const OPERATOR: i64 = 900;
const OPERATORS: &str = "[operators]\nchat_id = -500\nuser_ids = [900]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_loop_from_hand_off_to_new_knowledge() {
    let h = Harness::start_with(OPERATORS).await;
    let question = "货物超期申报罚多少";
    h.fake.send_text(42, question);
    let sent = h.fake.wait_sent(42, 1).await;
    assert!(text(&sent[0]).contains("工单 <b>T000001</b>"), "{}", text(&sent[0]));

    // The operators' chat hears about it.
    let notices = h.fake.wait_sent(OPS, 1).await;
    let notice = &notices[0];
    assert!(
        text(notice).contains("T000001") && text(notice).contains(question),
        "{}",
        text(notice)
    );
    let notice_id = notice.message_id.expect("the notice was sent");

    // An operator answers by replying to the notice; the bot confirms and relays to the person.
    let answer = "超过十四日未申报的，自第十五日起按日征收滞报金。";
    h.fake
        .send_text_in(OPS, OPERATOR, "supergroup", answer, Some(notice_id));
    let ops = h.fake.wait_sent(OPS, 2).await;
    assert!(text(&ops[1]).contains("已记录工单 <b>T000001</b>"), "{}", text(&ops[1]));
    let user = h.fake.wait_sent(42, 2).await;
    let relayed = text(&user[1]);
    assert!(
        relayed.contains("工作人员答复") && relayed.contains(answer) && relayed.contains(question),
        "{relayed}"
    );
    // The relay marks the ticket closed once Telegram has taken the message: a moment after the
    // person sees it, so wait for it rather than racing it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let ticket = loop {
        let t = h.store.ticket(1).unwrap().unwrap();
        if t.state.as_str() == "closed" || std::time::Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (ticket.state.as_str(), ticket.close_reason.map(|r| r.as_str())),
        ("closed", Some("relayed"))
    );
    assert_eq!(ticket.answered_by.as_deref(), Some("telegram:900"));

    // Promote: the question joins the entry, the index is rebuilt, the running bot picks it up.
    let config = h.config.clone();
    let store = h.store.clone();
    let promoted = tokio::task::spawn_blocking(move || {
        let cases = Cases::new(Arc::new(config), store);
        knowledge::promote(&cases, 1, PromoteTarget::To("proc-late-fee".into()), "cli:test", false)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(promoted.entry, "proc-late-fee");
    assert!(std::fs::read_to_string(&promoted.path).unwrap().contains(question));
    assert_eq!(
        h.store.ticket(1).unwrap().unwrap().close_reason.map(|r| r.as_str()),
        Some("promoted")
    );
    // The running bot's watcher picks the new generation up (every 200 ms; opening it takes a
    // while on a busy machine): wait until the bot in service answers it, then ask on Telegram.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while h.assistant.ask(question).entry.map(|e| e.id).as_deref() != Some("proc-late-fee") {
        assert!(
            std::time::Instant::now() < deadline,
            "the promoted index was never picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    h.fake.send_text(42, question);
    let user = h.fake.wait_sent(42, 3).await;
    assert!(
        text(&user[2]).starts_with("<b>滞报金</b>"),
        "now answered: {}",
        text(&user[2])
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_operators_may_use_operator_commands() {
    let h = Harness::start_with(OPERATORS).await;
    h.fake.send_text(42, "西宁明天天气怎么样");
    h.fake.wait_sent(42, 1).await;
    // A person (not an operator) tries the operator commands in a private chat.
    h.fake.send_text(42, "/tickets");
    h.fake.send_text(42, "/reply T000001 我来答");
    let sent = h.fake.wait_sent(42, 3).await;
    for refusal in &sent[1..3] {
        assert!(text(refusal).contains("仅限值班人员"), "{}", text(refusal));
        assert!(!text(refusal).contains("西宁明天天气"), "no ticket content leaks");
    }
    assert_eq!(h.store.ticket(1).unwrap().unwrap().state.as_str(), "open");
    // A stranger in the operators' chat cannot answer by replying to a notice either.
    let notice_id = h.fake.wait_sent(OPS, 1).await[0].message_id.unwrap();
    h.fake
        .send_text_in(OPS, 12345, "supergroup", "随便答一个", Some(notice_id));
    let ops = h.fake.wait_sent(OPS, 2).await;
    assert!(text(&ops[1]).contains("只有值班人员"), "{}", text(&ops[1]));
    assert_eq!(h.store.ticket(1).unwrap().unwrap().state.as_str(), "open");
    // The operator lists open tickets, oldest first, and answers with /reply.
    h.fake.send_text_in(OPS, OPERATOR, "supergroup", "/tickets", None);
    let ops = h.fake.wait_sent(OPS, 3).await;
    assert!(
        text(&ops[2]).contains("T000001") && text(&ops[2]).contains("西宁明天天气怎么样"),
        "{}",
        text(&ops[2])
    );
    h.fake.send_text_in(
        OPS,
        OPERATOR,
        "supergroup",
        "/reply T000001 天气请看气象部门发布。",
        None,
    );
    let user = h.fake.wait_sent(42, 4).await;
    assert!(text(&user[3]).contains("天气请看气象部门发布。"), "{}", text(&user[3]));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_tickets_are_announced_once_and_unpicked_choices_become_tickets() {
    let h = Harness::start_with(
        "[operators]\nchat_id = -500\nuser_ids = [900]\noverdue_hours = 0\nclarify_timeout_minutes = 0\n",
    )
    .await;
    h.fake.send_text(42, "ATA单证册手续");
    let sent = h.fake.wait_sent(42, 1).await;
    assert!(
        buttons(&sent[0]).iter().any(|(_, d)| d.starts_with("pick:")),
        "choices offered"
    );
    // Nobody picks: the choices become ticket T000001, the person is told, operators hear of it.
    let user = h.fake.wait_sent(42, 2).await;
    assert!(text(&user[1]).contains("T000001"), "{}", text(&user[1]));
    assert_eq!(h.store.ticket(1).unwrap().unwrap().reason.as_str(), "unpicked_clarify");
    // With overdue_hours = 0 the open ticket is overdue at once: re-announced exactly once.
    h.fake
        .wait_for(10, "overdue notice", |calls| {
            calls
                .iter()
                .any(|c| c.method == "sendmessage" && c.body["chat_id"] == OPS && text(c).contains("已逾期"))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let overdue = h
        .fake
        .sent_to(OPS)
        .iter()
        .filter(|c| text(c).contains("已逾期"))
        .count();
    assert_eq!(overdue, 1);
    h.finish().await;
}

#[test]
fn questions_during_reindexing_never_fail() {
    let site = valid_site();
    let config = Config::load(&site.path().join("bot.toml")).unwrap();
    let assistant = Arc::new(Assistant::start(config.clone()).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let askers: Vec<_> = (0..2)
        .map(|_| {
            let (a, stop) = (assistant.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut asked = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let r = a.ask("转关怎么办理");
                    assert_eq!(r.decision, Decision::Answer, "{r:?}");
                    assert!(!matches!(r.body, Body::Handoff(HandoffReason::Internal)));
                    asked += 1;
                }
                asked
            })
        })
        .collect();
    let loaded = app::load_knowledge(&config);
    for _ in 0..5 {
        index::build(&loaded.knowledge, &config.index.dir).unwrap();
        assert!(assistant.reload_if_changed(&config.index.dir).unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let asked: usize = askers.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(asked > 10, "{asked} questions asked during 5 reindexes");
}
