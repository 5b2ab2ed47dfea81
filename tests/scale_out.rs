//! Several processes (issue #15): three real `customs-bot serve` processes in webhook mode on one
//! machine, one throwaway PostgreSQL server, and the fake Bot API delivering updates across them
//! as Telegram behind a load balancer would (round robin; an update not acknowledged is re-sent to
//! the next process). Traffic goes to 127.0.0.1 only and is bounded in count and time.
//!
//! What it shows: a choice offered by one process is picked on another; a follow-up reaches its
//! context on another process; an operator's answer is relayed exactly once while several
//! processes run the relay; `kill -9` of a process holding an update mid-stream loses no question
//! (the others take it over when its lease runs out) and sends no duplicate reply; every question
//! is answered exactly once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fake_telegram::FakeTelegram;
use crate::support::postgres::{PgServer, connect};
use crate::support::{copy_tree, fixtures, free_port, run, spawn_logged, stderr};
use crate::telegram::{buttons, text, write_extra_entries};

const SECRET: &str = "scale-out_Secret-42";
const OPS: i64 = -500;
const OPERATOR: i64 = 900;

/// One `serve` process; killed (SIGKILL) when dropped.
struct Process {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    fn start(config: &Path, addr: SocketAddr) -> Process {
        let (child, log) = spawn_logged(
            Command::new(env!("CARGO_BIN_EXE_customs-bot"))
                .arg("--config")
                .arg(config)
                .args(["serve", "--listen", &addr.to_string()])
                .env("TELOXIDE_TOKEN", "123:TEST")
                .env("RUST_LOG", "customs_bot=info"),
        );
        Process { child, addr, log }
    }

    /// Waits until `/readyz` answers 200 and the webhook workers have started (their process key
    /// is logged).
    async fn ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = client
                .get(format!("http://{}/readyz", self.addr))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok && self.key().is_some() {
                return;
            }
            assert!(Instant::now() < deadline, "serve did not become ready:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The random key this process's webhook workers lease updates under (`<key>-<worker>`).
    fn key(&self) -> Option<String> {
        let log = self.log();
        let at = log.find("handling Telegram updates received by webhook")?;
        let line = log[at..].lines().next()?;
        let value = &line[line.find("process=")? + "process=".len()..];
        Some(value.split_whitespace().next()?.trim_matches('"').to_string())
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and the process must end within 40 s.
    fn terminate(mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(40);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "serve did not stop on SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The site all processes share: the knowledge, the index folder, one bot.toml naming the
/// PostgreSQL database, with the index built once by `reindex`.
fn site(fake: &FakeTelegram, database: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid/knowledge"), &dir.path().join("knowledge"));
    std::fs::create_dir_all(dir.path().join("knowledge/permit")).unwrap();
    write_extra_entries(&dir.path().join("knowledge"));
    let config = dir.path().join("bot.toml");
    std::fs::write(
        &config,
        format!(
            "[office]\noffice_name = \"测试海关\"\nhotline = \"12360\"\nconsult_phone = \"测试咨询电话\"\n\
             [tickets]\nurl = \"{database}\"\n\
             [operators]\nchat_id = {OPS}\nuser_ids = [{OPERATOR}]\n\
             [web]\nshutdown_grace_seconds = 1\n\
             [telegram]\nmode = \"webhook\"\nwebhook_url = \"https://bot.test/telegram/webhook\"\n\
             webhook_secret = \"{SECRET}\"\napi_url = \"{}\"\n\
             webhook_workers = 1\nwebhook_lease_seconds = 5\n\
             messages_per_second_per_chat = 100\nmessages_per_minute_per_chat = 1000\n",
            fake.url
        ),
    )
    .unwrap();
    let built = run(&["--config", config.to_str().unwrap(), "reindex"], None);
    assert!(built.status.success(), "reindex: {}", stderr(&built));
    (dir, config)
}

/// The lease owner of chat `chat`'s update that is not done yet, if one is leased.
async fn lease_owner(database: &str, chat: i64) -> Option<String> {
    let url = database.to_string();
    tokio::task::spawn_blocking(move || {
        let mut c = connect(&url);
        c.query_opt(
            "SELECT lease_owner FROM telegram_inbox WHERE chat = $1 AND done_at IS NULL AND lease_owner IS NOT NULL",
            &[&chat],
        )
        .unwrap()
        .map(|r| r.get::<_, String>(0))
    })
    .await
    .unwrap()
}

/// Updates kept and not yet done.
async fn undone(database: &str) -> i64 {
    let url = database.to_string();
    tokio::task::spawn_blocking(move || {
        connect(&url)
            .query_one("SELECT count(*) FROM telegram_inbox WHERE done_at IS NULL", &[])
            .unwrap()
            .get(0)
    })
    .await
    .unwrap()
}

async fn until(secs: u64, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_one_database_behind_webhooks() {
    let server = tokio::task::spawn_blocking(PgServer::shared).await.unwrap();
    let database = {
        let s = server.clone();
        tokio::task::spawn_blocking(move || s.create_database()).await.unwrap()
    };
    let fake = FakeTelegram::start().await;
    let (_dir, config) = {
        let (f, d) = (fake.clone(), database.clone());
        tokio::task::spawn_blocking(move || site(&f, &d)).await.unwrap()
    };
    let addrs: Vec<SocketAddr> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()).parse().unwrap())
        .collect();
    fake.deliver_to(
        addrs.iter().map(|a| format!("http://{a}/telegram/webhook")).collect(),
        SECRET,
    );

    // 1. Only the first process runs (the others' addresses refuse connections, and the fake
    //    moves on): choices offered, a topic set, a ticket opened and announced — all by it.
    let first = Process::start(&config, addrs[0]);
    first.ready().await;
    assert!(
        fake.webhook().is_some_and(|w| w["secret_token"] == SECRET),
        "{:?}",
        fake.webhook()
    );
    fake.send_text(11, "ATA单证册手续");
    fake.send_text(12, "进口报关要什么单证");
    fake.send_text(13, "货物超期申报罚多少");
    let offered = fake.wait_sent(11, 1).await;
    let pick = buttons(&offered[0])
        .into_iter()
        .find(|(_, d)| d.starts_with("pick:"))
        .unwrap_or_else(|| panic!("choices offered: {}", text(&offered[0])))
        .1;
    assert!(text(&fake.wait_sent(12, 1).await[0]).contains("进口报关随附单证"));
    assert!(text(&fake.wait_sent(13, 1).await[0]).contains("T000001"));
    let notice = fake.wait_sent(OPS, 1).await[0].message_id.unwrap();
    until(20, "every update done", async || undone(&database).await == 0).await;
    tokio::task::spawn_blocking(move || first.kill_9()).await.unwrap();

    // 2. The first process is gone; the other two carry on from the shared store.
    let (second, third) = (Process::start(&config, addrs[1]), Process::start(&config, addrs[2]));
    second.ready().await;
    third.ready().await;
    fake.press(11, offered[0].message_id.unwrap(), &pick);
    let picked = fake.wait_sent(11, 2).await;
    assert!(
        text(&picked[1]).starts_with("<b>ATA单证册"),
        "the choice resolves: {}",
        text(&picked[1])
    );
    fake.send_text(12, "那要多久");
    let follow = fake.wait_sent(12, 2).await;
    assert!(
        text(&follow[1]).contains("进口报关随附单证") && text(&follow[1]).contains("办理时限"),
        "the follow-up is read in its context: {}",
        text(&follow[1])
    );
    let answer = "超过十四日未申报的，按日征收滞报金（测试答复）。";
    fake.send_text_in(OPS, OPERATOR, "supergroup", answer, Some(notice));
    let relayed = fake.wait_sent(13, 2).await;
    assert!(text(&relayed[1]).contains(answer), "{}", text(&relayed[1]));

    // 3. Three processes again, and a stream of questions from 20 chats. One process is killed
    //    (kill -9) while it holds an update whose reply Telegram never got.
    let first = Process::start(&config, addrs[0]);
    first.ready().await;
    let mut processes = vec![first, second, third];
    const VICTIM: i64 = 3000;
    fake.lose_next_send(VICTIM);
    fake.send_text(VICTIM, "转关怎么办理");
    let questions = [
        "滞报金怎么算",
        "转关怎么办理",
        "商标怎么在海关备案",
        "出口报关要什么单证",
        "晚报关要交钱吗",
    ];
    for (i, chat) in (2001..=2020).enumerate() {
        fake.send_text(chat, questions[i % questions.len()]);
    }
    until(20, "the victim's reply to be lost in flight", async || {
        fake.lost().len() == 1
    })
    .await;
    let owner = lease_owner(&database, VICTIM)
        .await
        .expect("the victim's update is leased");
    let holder = processes
        .iter()
        .position(|p| p.key().is_some_and(|k| owner.starts_with(&format!("{k}-"))))
        .unwrap_or_else(|| panic!("no process leases as {owner}"));
    let killed = processes.remove(holder);
    tokio::task::spawn_blocking(move || killed.kill_9()).await.unwrap();

    for chat in (2001..=2020).chain([VICTIM]) {
        fake.wait_sent(chat, 1).await;
    }
    // Past another lease and a relay pass: still exactly one reply each (nothing answered twice).
    tokio::time::sleep(Duration::from_secs(7)).await;
    for chat in (2001..=2020).chain([VICTIM]) {
        assert_eq!(fake.sent_to(chat).len(), 1, "chat {chat} got exactly one reply");
    }
    assert_eq!(fake.sent_to(11).len(), 2, "one answer to the pick");
    assert_eq!(fake.sent_to(12).len(), 2, "one answer to the follow-up");
    assert_eq!(fake.sent_to(13).len(), 2, "the operator's answer relayed exactly once");
    until(10, "every update done", async || undone(&database).await == 0).await;
    for p in processes {
        tokio::task::spawn_blocking(move || p.terminate()).await.unwrap();
    }
    assert!(fake.errors().is_empty(), "{:?}", fake.errors());
}
