//! The desk driven directly, once per channel: every ticket rule exists once, so Telegram and the
//! web behave the same — choices offered are remembered (and become tickets when nobody picks),
//! every ticket is announced, 没帮助 keeps the same guesses, a chosen entry is logged the same way —
//! and operators' answers are relayed the moment they are stored, one failed send stopping nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use customs_bot::app::Assistant;
use customs_bot::config::Config;
use customs_bot::desk::{Channel, Chat, Desk, FeedbackOutcome, Notice, Notifier, Pending, housekeeping};
use customs_bot::reply::Body as ReplyBody;
use customs_bot::tickets::{Guess, QuestionRef, SqliteStore, Ticket, TicketReason, TicketState, TicketStore};
use tower::ServiceExt;

use crate::support::{copy_tree, fixtures, last_question};

/// What the desk told whom, in order.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) announced: Mutex<Vec<Ticket>>,
    pub(crate) reminded: Mutex<Vec<i64>>,
    pub(crate) told: Mutex<Vec<(&'static str, Ticket)>>,
    /// Telegram chats that cannot be reached (a blocked bot, a deleted account).
    pub(crate) unreachable: Vec<String>,
    /// How long a reminder or a message takes to send (a slow network widens races).
    pub(crate) delay: Duration,
}

impl Notifier for Recorder {
    fn announce<'a>(&'a self, t: &'a Ticket) -> Pending<'a, Option<i64>> {
        self.announced.lock().unwrap().push(t.clone());
        Box::pin(async move { Ok(Some(1000 + t.id)) })
    }

    fn remind<'a>(&'a self, t: &'a Ticket, _: f64) -> Pending<'a, bool> {
        self.reminded.lock().unwrap().push(t.id);
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            Ok(true)
        })
    }

    fn reaches(&self, channel: Channel) -> bool {
        channel == Channel::Telegram
    }

    fn tell<'a>(&'a self, notice: Notice<'a>) -> Pending<'a, ()> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            let (kind, t) = match notice {
                Notice::Answer(t) => ("answer", t),
                Notice::Registered(t) => ("registered", t),
            };
            anyhow::ensure!(!self.unreachable.contains(&t.chat), "chat {} blocked the bot", t.chat);
            self.told.lock().unwrap().push((kind, t.clone()));
            Ok(())
        })
    }
}

struct Site {
    desk: Arc<Desk>,
    store: Arc<SqliteStore>,
    recorder: Arc<Recorder>,
    _dir: tempfile::TempDir,
}

/// A site in `dir` (the fixture knowledge with the permit entries) with `[operators]` as given.
pub(crate) fn site_config(dir: &std::path::Path, operators: &str) -> Config {
    copy_tree(&fixtures().join("valid/knowledge"), &dir.join("knowledge"));
    std::fs::create_dir_all(dir.join("knowledge/permit")).unwrap();
    crate::telegram::write_extra_entries(&dir.join("knowledge"));
    let text = format!(
        "[office]\noffice_name = \"测试海关\"\nhotline = \"12360\"\nconsult_phone = \"测试咨询电话\"\n[operators]\n{operators}\n"
    );
    std::fs::write(dir.join("bot.toml"), text).unwrap();
    Config::load(&dir.join("bot.toml")).unwrap()
}

fn site(operators: &str, unreachable: &[&str]) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let config = site_config(dir.path(), operators);
    let assistant = Arc::new(Assistant::start(config).unwrap());
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let recorder = Arc::new(Recorder {
        unreachable: unreachable.iter().map(|c| c.to_string()).collect(),
        ..Recorder::default()
    });
    let desk = Desk::new(assistant, store.clone() as Arc<dyn TicketStore>).with_notifier(recorder.clone());
    Site {
        desk: Arc::new(desk),
        store,
        recorder,
        _dir: dir,
    }
}

fn chats() -> [Chat; 2] {
    [
        Chat::new(Channel::Telegram, "42"),
        Chat::new(Channel::Web, "web:0123456789abcdef01234567"),
    ]
}

/// Runs the desk's housekeeping until `done` holds (or 10 s pass), then stops it.
async fn housekeep_until(s: &Site, what: &str, done: impl Fn() -> bool) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let keeper = tokio::spawn(housekeeping(s.desk.clone(), async move {
        let _ = stopped.await;
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "housekeeping never did: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(()).unwrap();
    keeper.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_off_opens_the_same_ticket_and_announces_it_on_every_channel() {
    let s = site("", &[]);
    for chat in chats() {
        let answered = s.desk.ask(&chat, "西宁明天天气怎么样").await;
        assert!(matches!(answered.reply.body, ReplyBody::Handoff(_)), "{chat:?}");
        let t = answered.ticket.expect("a hand-off opens a ticket");
        assert_eq!(
            (t.channel.as_str(), t.chat.as_str()),
            (chat.channel.as_str(), chat.id.as_str())
        );
        assert_eq!((t.reason, t.state), (TicketReason::Handoff, TicketState::Open));
        assert_eq!(t.question, "西宁明天天气怎么样");
        // Announced to the operators, and a reply to the notice finds the ticket.
        assert!(
            s.recorder.announced.lock().unwrap().iter().any(|a| a.id == t.id),
            "{chat:?}"
        );
        assert_eq!(s.desk.ticket_by_notice(1000 + t.id).await.map(|n| n.id), Some(t.id));
        // Logged before the reply, with the question's id kept for feedback.
        let logged = last_question(s.store.as_ref());
        assert_eq!(
            (logged.channel.as_str(), logged.decision.as_str()),
            (chat.channel.as_str(), "handoff")
        );
        assert!(answered.question_id.is_some());
    }
    let tickets = s.store.tickets(None).unwrap();
    assert_eq!(tickets.len(), 2);
    assert_eq!(
        tickets[0].guesses, tickets[1].guesses,
        "the same guesses whatever the channel"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choices_are_remembered_and_a_choice_is_logged_the_same_way_on_every_channel() {
    let s = site("", &[]);
    for chat in chats() {
        let answered = s.desk.ask(&chat, "ATA单证册手续").await;
        let ReplyBody::Clarify(offered) = &answered.reply.body else {
            panic!("choices expected: {:?}", answered.reply.body);
        };
        assert!(offered.iter().any(|c| c.id == "permit-ata-a"));
        let (c, s2) = (chat.clone(), s.store.clone());
        assert!(
            s2.clarify_offered(c.channel.as_str(), &c.id, "permit-ata-a").unwrap(),
            "{chat:?}"
        );

        // Only what was offered counts where the browser names the entry.
        assert!(s.desk.choose(&chat, "proc-transit", true).await.is_err(), "{chat:?}");
        let chosen = s.desk.choose(&chat, "permit-ata-a", true).await.expect("offered");
        assert_eq!(chosen.reply.entry.as_ref().map(|e| e.id.as_str()), Some("permit-ata-a"));
        let logged = last_question(s.store.as_ref());
        assert_eq!(
            (
                logged.channel.as_str(),
                logged.question.as_str(),
                logged.decision.as_str()
            ),
            (chat.channel.as_str(), "[选择] ATA单证册报关", "answer")
        );
        assert!(logged.latency_ms >= 0.0 && logged.entry.as_deref() == Some("permit-ata-a"));
    }
    // Both sets of choices were picked: housekeeping turns neither into a ticket.
    assert!(
        s.store
            .stale_clarifies(chrono::Utc::now() + chrono::Duration::minutes(1))
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_choice_typed_in_the_chat_is_picked_as_a_tapped_one_is() {
    let s = site("", &[]);
    let unpicked = || {
        s.store
            .stale_clarifies(chrono::Utc::now() + chrono::Duration::minutes(1))
            .unwrap()
            .len()
    };
    for (n, chat) in chats().into_iter().enumerate() {
        let answered = s.desk.ask(&chat, "ATA单证册手续").await;
        let ReplyBody::Clarify(offered) = &answered.reply.body else {
            panic!("choices expected: {:?}", answered.reply.body);
        };
        let first = offered[0].id.clone();
        assert_eq!(unpicked(), 1, "{chat:?}: the choices wait to be picked");
        // A new question answered meanwhile picks nothing: the choices still wait.
        let other = s.desk.ask(&chat, "滞报金怎么算").await;
        let other = other.reply.entry.expect("answered");
        assert!(offered.iter().all(|c| c.id != other.id), "{chat:?}: {other:?}");
        assert_eq!(unpicked(), 1, "{chat:?}");
        // Asked again, then answered by number: picked, and no ticket will come of it.
        s.desk.ask(&chat, "ATA单证册手续").await;
        let chosen = s.desk.ask(&chat, "1").await;
        assert_eq!(
            chosen.reply.entry.as_ref().map(|e| e.id.as_str()),
            Some(first.as_str()),
            "{chat:?}"
        );
        assert_eq!(unpicked(), 0, "{chat:?}: a typed choice is a pick (chat {n})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_helpful_keeps_the_same_guess_on_every_channel() {
    let s = site("", &[]);
    let mut guesses = Vec::new();
    for chat in chats() {
        let answered = s.desk.ask(&chat, "转关怎么办理").await;
        let qid = answered.question_id.expect("kept");
        // Another conversation's question is unknown to this one.
        let other = Chat::new(chat.channel, "someone-else");
        assert_eq!(
            s.desk.feedback(&other, QuestionRef::Id(qid), false).await,
            FeedbackOutcome::Unknown
        );
        let FeedbackOutcome::Sorry(Some(t)) = s.desk.feedback(&chat, QuestionRef::Id(qid), false).await else {
            panic!("没帮助 opens a ticket ({chat:?})");
        };
        assert_eq!(t.reason, TicketReason::NotHelpful);
        assert!(s.recorder.announced.lock().unwrap().iter().any(|a| a.id == t.id));
        assert_eq!(
            s.desk.feedback(&chat, QuestionRef::Id(qid), false).await,
            FeedbackOutcome::AlreadyRecorded
        );
        guesses.push(t.guesses);
    }
    let expected = vec![Guess {
        id: "proc-transit".into(),
        title: "跨关区转关".into(),
    }];
    assert_eq!(guesses, [expected.clone(), expected]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpicked_choices_become_tickets_on_every_channel_and_overdue_tickets_are_reminded_once() {
    let s = site("clarify_timeout_minutes = 0\noverdue_hours = 0", &[]);
    for chat in chats() {
        s.desk.ask(&chat, "ATA单证册手续").await;
    }
    let store = s.store.clone();
    housekeep_until(&s, "two unpicked tickets, both reminded", || {
        let unpicked = store.tickets(None).unwrap();
        unpicked.len() == 2 && unpicked.iter().all(|t| t.overdue_announced)
    })
    .await;
    let tickets = s.store.tickets(None).unwrap();
    for (t, chat) in tickets.iter().zip(chats()) {
        assert_eq!(
            (t.reason, t.channel.as_str()),
            (TicketReason::UnpickedClarify, chat.channel.as_str())
        );
        assert!(
            t.guess_titles().contains(&"ATA单证册报关".to_string()),
            "{:?}",
            t.guesses
        );
    }
    assert_eq!(s.recorder.announced.lock().unwrap().len(), 2, "both announced");
    // The Telegram person hears their question became a ticket; the web person sees it on the page.
    let told = s.recorder.told.lock().unwrap().clone();
    assert_eq!(told.len(), 1);
    assert_eq!((told[0].0, told[0].1.channel.as_str()), ("registered", "telegram"));
    // A second round reminds nobody again.
    let reminded = s.recorder.reminded.lock().unwrap().len();
    housekeep_until(&s, "a quiet second round", || true).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.recorder.reminded.lock().unwrap().len(), reminded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_is_relayed_when_stored_and_one_failed_send_stops_nothing() {
    let s = site("", &["7"]);
    let blocked = s
        .desk
        .ask(&Chat::new(Channel::Telegram, "7"), "西宁明天天气怎么样")
        .await
        .ticket
        .unwrap();
    let fine = s
        .desk
        .ask(&Chat::new(Channel::Telegram, "8"), "西宁明天天气怎么样")
        .await
        .ticket
        .unwrap();
    let web = s.desk.ask(&chats()[1], "西宁明天天气怎么样").await.ticket.unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let keeper = tokio::spawn(housekeeping(s.desk.clone(), async move {
        let _ = stopped.await;
    }));
    // Let the first (startup) relay pass go by, so what follows is the wake-up, not the poll.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    for t in [&blocked, &fine, &web] {
        s.desk
            .answer(t.id, "请看气象部门发布。".into(), "web:wang".into())
            .await
            .unwrap();
    }
    let deadline = started + Duration::from_secs(10);
    while s.store.ticket(fine.id).unwrap().unwrap().state != TicketState::Closed {
        assert!(std::time::Instant::now() < deadline, "never relayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "relayed on the wake-up, well before the 30 s poll: {:?}",
        started.elapsed()
    );
    stop.send(()).unwrap();
    keeper.await.unwrap();
    let told = s.recorder.told.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "only the reachable chat was told");
    assert_eq!((told[0].0, told[0].1.id), ("answer", fine.id));
    assert_eq!(
        s.store
            .ticket(fine.id)
            .unwrap()
            .unwrap()
            .close_reason
            .map(|r| r.as_str()),
        Some("relayed")
    );
    // The blocked chat's answer waits for a retry; the web answer waits on its ticket page.
    for t in [&blocked, &web] {
        assert_eq!(s.store.ticket(t.id).unwrap().unwrap().state, TicketState::Answered);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_opened_from_the_web_chat_is_announced_and_its_choices_remembered() {
    let s = site("", &[]);
    let app = customs_bot::web::router(s.desk.clone());
    let ask = |q: &str| {
        Request::post("/chat/ask")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::json!({ "question": q }).to_string()))
            .unwrap()
    };
    let res = app.clone().oneshot(ask("西宁明天天气怎么样")).await.unwrap();
    assert!(res.status().is_success());
    let announced = s.recorder.announced.lock().unwrap().clone();
    assert_eq!(announced.len(), 1, "the operators hear of a web ticket at once");
    assert_eq!(announced[0].channel, "web");

    let res = app.clone().oneshot(ask("ATA单证册手续")).await.unwrap();
    assert!(res.status().is_success());
    let offered = s
        .store
        .stale_clarifies(chrono::Utc::now() + chrono::Duration::minutes(1))
        .unwrap();
    assert_eq!(
        offered.len(),
        1,
        "the web's choices are remembered, so nobody's are lost"
    );
    assert_eq!(offered[0].channel, "web");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_about_ones_own_case_goes_to_a_person_with_a_ticket() {
    let s = site("", &[]);
    for chat in chats() {
        let answered = s.desk.ask(&chat, "我的转关申请审核到哪了").await;
        assert!(
            matches!(
                answered.reply.body,
                ReplyBody::Handoff(customs_bot::reply::HandoffReason::Specific(_))
            ),
            "{:?}",
            answered.reply.body
        );
        assert!(answered.reply.entry.is_none(), "never presented as the answer");
        let t = answered.ticket.expect("a person follows it up");
        assert_eq!(t.reason, TicketReason::Specific);
        assert!(s.recorder.announced.lock().unwrap().iter().any(|a| a.id == t.id));
    }
}
