//! Webhook mode end to end: replicas (each a desk, a web listener and `telegram::run_webhook`,
//! as `serve` runs them) over one SQLite file, and the fake Bot API posting updates to their
//! `POST /telegram/webhook` as Telegram and a load balancer would. The route on its own is tested
//! through the router (`oneshot`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use customs_bot::app::Assistant;
use customs_bot::config::Config;
use customs_bot::desk::{Desk, housekeeping};
use customs_bot::telegram;
use customs_bot::tickets::{SqliteStore, TicketStore};
use serde_json::json;
use tokio::sync::watch;

use crate::fake_telegram::FakeTelegram;
use crate::support::{copy_tree, fixtures, question_count};
use crate::telegram::{text, write_extra_entries};
use crate::web::{send, site};

const SECRET: &str = "hook-Secret_42";

/// One process as `serve` runs it in webhook mode.
struct Replica {
    /// Its webhook address.
    url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    /// Stops it as SIGTERM does; returns once it has stopped.
    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(40), self.task)
            .await
            .expect("the replica stops")
            .unwrap()
            .unwrap();
    }
}

/// Replicas over one knowledge folder and one ticket database, and the fake Bot API.
struct Hooked {
    fake: FakeTelegram,
    /// A handle on the shared database, for the test's own checks.
    store: Arc<SqliteStore>,
    replicas: Vec<Replica>,
    _site: tempfile::TempDir,
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

impl Hooked {
    async fn start(replicas: usize) -> Self {
        Self::start_with(replicas, "").await
    }

    /// [`start`](Self::start) with `telegram` added to each replica's `[telegram]` table.
    async fn start_with(replicas: usize, telegram: &str) -> Self {
        let fake = FakeTelegram::start().await;
        let site = tempfile::tempdir().unwrap();
        copy_tree(&fixtures().join("valid/knowledge"), &site.path().join("knowledge"));
        std::fs::create_dir_all(site.path().join("knowledge/permit")).unwrap();
        write_extra_entries(&site.path().join("knowledge"));
        let db = site.path().join("tickets.sqlite");
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        let hook_store = store.clone();
        fake.on_send(move || question_count(hook_store.as_ref()));
        let mut started = Vec::new();
        for i in 0..replicas {
            // Started one after another: the first builds the index, the others load it.
            started.push(Self::replica(&fake, site.path(), i, telegram).await);
        }
        Hooked {
            fake,
            store,
            replicas: started,
            _site: site,
        }
    }

    async fn replica(fake: &FakeTelegram, site: &std::path::Path, i: usize, telegram: &str) -> Replica {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/telegram/webhook", listener.local_addr().unwrap());
        let text = format!(
            "[office]\noffice_name = \"测试海关\"\nhotline = \"12360\"\nconsult_phone = \"测试咨询电话\"\n\
             [tickets]\ndb = \"tickets.sqlite\"\n\
             [web]\nshutdown_grace_seconds = 1\n\
             [telegram]\nmode = \"webhook\"\nwebhook_url = \"{url}\"\nwebhook_secret = \"{SECRET}\"\n\
             api_url = \"{}\"\nmessages_per_second_per_chat = 100\nmessages_per_minute_per_chat = 1000\n{telegram}",
            fake.url
        );
        let path = site.join(format!("bot{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        let (tc, operators) = (config.telegram.clone(), config.operators.clone());
        let store: Arc<dyn TicketStore> = Arc::new(SqliteStore::open(&config.tickets.db).unwrap());
        let assistant = Arc::new(
            tokio::task::spawn_blocking(move || Assistant::start(config))
                .await
                .unwrap()
                .unwrap(),
        );
        let bot = telegram::throttled(telegram::bot("123:TEST", Some(&fake.url)).unwrap(), &tc);
        let notifier = Arc::new(telegram::TelegramNotifier::new(bot.clone(), &operators));
        let desk = Arc::new(Desk::new(assistant, store).with_notifier(notifier));
        let ctx = Arc::new(telegram::Context::new(desk.clone(), &tc, operators));
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            let web = tokio::spawn(customs_bot::web::serve(desk.clone(), listener, stopped(rx.clone())));
            let keeper = tokio::spawn(housekeeping(desk, stopped(rx.clone())));
            let outcome = telegram::run_webhook(ctx, bot, stopped(rx)).await;
            web.await??;
            keeper.await?;
            outcome
        });
        Replica { url, stop, task }
    }

    fn targets(&self) -> Vec<String> {
        self.replicas.iter().map(|r| r.url.clone()).collect()
    }

    /// Stops every replica and checks that Telegram rejected nothing and every update was
    /// acknowledged.
    async fn finish(self) -> FakeTelegram {
        for r in self.replicas {
            r.stop().await;
        }
        assert!(self.fake.errors().is_empty(), "{:?}", self.fake.errors());
        self.fake
    }
}

/// A POST of `body` to the webhook route with `secret` (None: no header).
fn post(body: &str, secret: Option<&str>) -> Request<Body> {
    let mut req = Request::post("/telegram/webhook").header("content-type", "application/json");
    if let Some(s) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
    }
    req.body(Body::from(body.to_string())).unwrap()
}

fn update(id: i64, chat: i64, text: &str) -> String {
    json!({"update_id": id, "message": {"message_id": id, "date": 1_700_000_000, "text": text,
        "chat": {"id": chat, "type": "private", "first_name": "张三"},
        "from": {"id": chat, "is_bot": false, "first_name": "张三"}}})
    .to_string()
}

const WEBHOOK: &str = "[telegram]\nmode = \"webhook\"\nwebhook_url = \"https://bot.example.org/telegram/webhook\"\n\
                       webhook_secret = \"hook-Secret_42\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_keeps_an_update_only_with_the_right_secret() {
    let s = site(WEBHOOK);
    let app = crate::web::app(&s);
    let body = update(5, 42, "转关怎么办理");
    for secret in [
        None,
        Some(""),
        Some("hook-Secret_43"),
        Some("hook-Secret_42 "),
        Some("hook"),
    ] {
        let (status, _, _) = send(&app, post(&body, secret)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{secret:?}");
    }
    assert_eq!(
        s.store.inbox_claim("probe", Duration::from_secs(60)).unwrap(),
        None,
        "nothing refused was kept"
    );
    let (status, _, _) = send(&app, post(&body, Some(SECRET))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&app, post(&body, Some(SECRET))).await;
    assert_eq!(status, StatusCode::OK, "a retry is acknowledged too");
    let kept = s.store.inbox_claim("probe", Duration::from_secs(60)).unwrap().unwrap();
    assert_eq!((kept.update_id, kept.chat), (5, 42));
    assert_eq!(kept.payload, body);
    s.store.inbox_done(5).unwrap();
    assert_eq!(
        s.store.inbox_claim("probe", Duration::from_secs(60)).unwrap(),
        None,
        "kept once"
    );
    // Not an update: refused, nothing kept.
    for bad in ["{}", "not json", r#"{"update_id":"x"}"#] {
        let (status, _, _) = send(&app, post(bad, Some(SECRET))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // An update larger than `[web] max_body_bytes` (2048 here) is still read: Telegram would send
    // a refused one forever. Beyond a megabyte it is refused.
    let long = update(6, 42, &"报关".repeat(3000));
    assert_eq!(send(&app, post(&long, Some(SECRET))).await.0, StatusCode::OK);
    let huge = update(7, 42, &"报".repeat(400_000));
    assert_eq!(
        send(&app, post(&huge, Some(SECRET))).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn there_is_no_webhook_route_in_polling_mode() {
    let s = site("");
    let (status, _, _) = send(&crate::web::app(&s), post(&update(5, 42, "你好"), Some(SECRET))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_is_answered_through_the_webhook() {
    let h = Hooked::start(1).await;
    let calls = h
        .fake
        .wait_for(20, "setWebhook", |c| c.iter().any(|c| c.method == "setwebhook"))
        .await;
    let set = &calls.iter().find(|c| c.method == "setwebhook").unwrap().body;
    assert_eq!(set["url"], json!(h.replicas[0].url));
    assert_eq!(set["secret_token"], json!(SECRET));
    assert_eq!(
        set["allowed_updates"],
        json!(["message", "edited_message", "callback_query"])
    );
    h.fake.deliver_to(h.targets(), SECRET);
    h.fake.send_text(42, "转关怎么办理？");
    let sent = h.fake.wait_sent(42, 1).await;
    assert!(text(&sent[0]).starts_with("<b>跨关区转关</b>"), "{}", text(&sent[0]));
    assert_eq!(sent[0].hook, Some(1), "logged before the reply was sent");
    let deliveries = h.fake.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(200));
    let fake = h.finish().await;
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.method == "getupdates" || c.method == "deletewebhook"),
        "webhook mode neither polls nor deletes the webhook other replicas use"
    );
    assert!(fake.webhook().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_secret_is_refused_and_not_answered() {
    let h = Hooked::start(1).await;
    let client = reqwest::Client::new();
    for secret in [None, Some("wrong")] {
        let mut req = client
            .post(&h.replicas[0].url)
            .header("content-type", "application/json")
            .body(update(900, 77, "转关怎么办理"));
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 401);
    }
    // The same update with the secret is answered: the refusal above was the secret's.
    let ok = client
        .post(&h.replicas[0].url)
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .header("content-type", "application/json")
        .body(update(901, 78, "转关怎么办理"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    h.fake.wait_sent(78, 1).await;
    assert!(h.fake.sent_to(77).is_empty(), "a refused post is never answered");
    assert_eq!(question_count(h.store.as_ref()), 1);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_update_delivered_twice_is_answered_once() {
    let h = Hooked::start(2).await;
    h.fake.deliver_to(h.targets(), SECRET);
    h.fake.send_text(42, "滞报金怎么算");
    // Sent again at once (the acknowledgement was lost) and once more after the reply, each time
    // to the other replica.
    h.fake.resend(1);
    h.fake.wait_sent(42, 1).await;
    h.fake.resend(1);
    h.fake
        .wait_for(20, "three acknowledged deliveries", |_| {
            h.fake.deliveries().iter().filter(|d| d.status == Some(200)).count() == 3
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.fake.sent_to(42).len(), 1, "one reply");
    assert_eq!(question_count(h.store.as_ref()), 1, "one question logged");
    let deliveries = h.fake.deliveries();
    assert!(deliveries.iter().all(|d| d.update_id == 1), "{deliveries:?}");
    let targets: std::collections::HashSet<String> = deliveries.into_iter().map(|d| d.target).collect();
    assert_eq!(targets.len(), 2, "both replicas received it");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_s_updates_are_answered_in_order_across_replicas() {
    let h = Hooked::start(2).await;
    h.fake.deliver_to(h.targets(), SECRET);
    // Queued together: the fake posts each chat's next update as soon as the previous one is
    // acknowledged (kept), to the other replica, while the first is still being answered — its
    // reply is slow: a follow-up handled before its question is done would be sent first.
    for chat in [51, 52, 53] {
        h.fake.hold_next_send(chat, Duration::from_millis(700));
        h.fake.send_text(chat, "进口报关要什么单证");
        h.fake.send_text(chat, "那要多久");
    }
    for chat in [51, 52, 53] {
        let sent = h.fake.wait_sent(chat, 2).await;
        assert!(
            text(&sent[0]).starts_with("<b>进口报关随附单证</b>"),
            "{}",
            text(&sent[0])
        );
        let follow = text(&sent[1]);
        assert!(
            follow.starts_with("关于<b>进口报关随附单证</b>的办理时限："),
            "the follow-up after its question, in its context: {follow}"
        );
    }
    let targets: std::collections::HashSet<String> = h.fake.deliveries().into_iter().map(|d| d.target).collect();
    assert_eq!(targets.len(), 2, "both replicas received updates");
    h.finish().await;
}

/// A reply slower than the lease (Telegram's limits can hold a send that long): the worker renews
/// its lease while it handles the update, so the other replica never takes it and the person
/// gets one reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reply_keeps_its_lease_and_is_sent_once() {
    let h = Hooked::start_with(2, "webhook_lease_seconds = 5\n").await;
    h.fake.deliver_to(h.targets(), SECRET);
    h.fake.hold_next_send(61, Duration::from_secs(8));
    h.fake.send_text(61, "进口报关要什么单证");
    h.fake.wait_sent(61, 1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(h.fake.sent_to(61).len(), 1, "answered once");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replica_loses_no_question() {
    let mut h = Hooked::start(2).await;
    h.fake.deliver_to(h.targets(), SECRET);
    for chat in 61..65 {
        h.fake.send_text(chat, "滞报金怎么算");
    }
    for chat in 61..65 {
        h.fake.wait_sent(chat, 1).await;
    }
    // One replica stops (SIGTERM): posts to it fail and go to the other.
    h.replicas.remove(0).stop().await;
    for chat in 71..75 {
        h.fake.send_text(chat, "转关怎么办理");
    }
    for chat in 71..75 {
        let sent = h.fake.wait_sent(chat, 1).await;
        assert!(text(&sent[0]).starts_with("<b>跨关区转关</b>"), "{}", text(&sent[0]));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for chat in (61..65).chain(71..75) {
        assert_eq!(h.fake.sent_to(chat).len(), 1, "one reply per question");
    }
    assert!(
        h.fake.deliveries().iter().any(|d| d.status.is_none()),
        "some posts went to the stopped replica and were sent again"
    );
    assert_eq!(question_count(h.store.as_ref()), 8);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_update_in_hand() {
    let h = Hooked::start(1).await;
    h.fake.deliver_to(h.targets(), SECRET);
    // The reply's first attempt is refused with a 2-second wait: the update is in hand then.
    h.fake.fail_next(
        "SendMessage",
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 2", "parameters": {"retry_after": 2}}),
    );
    h.fake.send_text(42, "滞报金怎么算");
    h.fake
        .wait_for(20, "the refused first attempt", |c| {
            c.iter().any(|c| c.method == "sendmessage")
        })
        .await;
    let fake = h.fake.clone();
    let store = h.store.clone();
    h.finish().await;
    let sent = fake.sent_to(42);
    assert_eq!(
        sent.len(),
        1,
        "the update in hand was answered before the replica stopped"
    );
    assert!(text(&sent[0]).starts_with("<b>滞报金</b>"));
    assert_eq!(
        store.inbox_claim("probe", Duration::from_secs(60)).unwrap(),
        None,
        "and marked done: nothing is left for another replica to answer again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_in_webhook_mode_answers_through_the_webhook_and_stops_on_sigterm() {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid/knowledge"), &dir.path().join("knowledge"));
    let port = crate::support::free_port();
    let url = format!("http://127.0.0.1:{port}/telegram/webhook");
    std::fs::write(
        dir.path().join("bot.toml"),
        format!(
            "[office]\noffice_name = \"测试海关\"\nhotline = \"12360\"\nconsult_phone = \"测试咨询电话\"\n\
             [web]\nlisten = \"127.0.0.1:{port}\"\n\
             [telegram]\nmode = \"webhook\"\nwebhook_url = \"{url}\"\napi_url = \"{}\"\n",
            fake.url
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_customs-bot"))
        .arg("--config")
        .arg(dir.path().join("bot.toml"))
        .arg("serve")
        .env("TELOXIDE_TOKEN", "123:TEST")
        // The secret from the environment (the file has none).
        .env("CUSTOMS_BOT_WEBHOOK_SECRET", SECRET)
        .env("RUST_LOG", "customs_bot=info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let calls = fake
        .wait_for(60, "setWebhook", |c| c.iter().any(|c| c.method == "setwebhook"))
        .await;
    let set = &calls.iter().find(|c| c.method == "setwebhook").unwrap().body;
    assert_eq!(
        (set["url"].as_str(), set["secret_token"].as_str()),
        (Some(url.as_str()), Some(SECRET))
    );
    fake.deliver_to(vec![url], SECRET);
    fake.send_text(42, "转关怎么办理");
    let sent = fake.wait_sent(42, 1).await;
    assert!(text(&sent[0]).starts_with("<b>跨关区转关</b>"), "{}", text(&sent[0]));
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not stop on SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(fake.errors().is_empty(), "{:?}", fake.errors());
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.method == "deletewebhook" || c.method == "getupdates")
    );
}
