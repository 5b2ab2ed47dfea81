//! Faults of the question log, on stores in-process and against a real `serve`: another process
//! holding the database's write lock, a full database (`max_page_count`), a spool that cannot be
//! written, kill -9 at random moments, and a bounded load. The promise checked everywhere: every
//! question that got a reply is in the log (or in the spool, replayed later), once. Traffic goes
//! to 127.0.0.1 only; every loop is bounded in count and time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use customs_bot::app::Assistant;
use customs_bot::config::Config;
use customs_bot::tickets::{Logged, QuestionRecord, SqliteStore, StoreOptions, TicketStore};
use rusqlite::Connection;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::{copy_tree, fixtures};

/// A site: the valid fixture (knowledge + bot.toml) with the web front on a free port, no per-IP
/// limit that load could hit, and `extra` appended (e.g. a [tickets] table).
fn site(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid"), dir.path());
    let mut text = std::fs::read_to_string(dir.path().join("bot.toml")).unwrap();
    text.push_str(&format!(
        "\n[web]\nlisten = \"127.0.0.1:0\"\nrequests_per_minute = 1000000\n{extra}\n"
    ));
    std::fs::write(dir.path().join("bot.toml"), text).unwrap();
    dir
}

fn db(site: &Path) -> std::path::PathBuf {
    site.join("data/customs-bot.sqlite")
}

/// Another process's view of the database: a connection holding SQLite's write lock.
fn write_lock(db: &Path) -> Connection {
    let c = Connection::open(db).unwrap();
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    c
}

/// How often each question text is in the log.
fn logged_counts(db: &Path) -> std::collections::HashMap<String, i64> {
    let c = Connection::open(db).unwrap();
    let mut stmt = c
        .prepare("SELECT question, COUNT(*) FROM questions GROUP BY question")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Rows, and distinct uids among them.
fn rows_and_uids(db: &Path) -> (i64, i64) {
    let c = Connection::open(db).unwrap();
    c.query_row("SELECT COUNT(*), COUNT(DISTINCT uid) FROM questions", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

/// `customs-bot serve` (web front only) as a child process; killed when dropped.
struct Serve {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Serve {
    fn start(site: &Path) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_customs-bot"))
            .arg("--config")
            .arg(site.join("bot.toml"))
            .arg("serve")
            .env("RUST_LOG", "customs_bot=info")
            .env("NO_COLOR", "1")
            .env_remove("TELOXIDE_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the customs-bot binary runs");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("serving the web front")
                    && let Some(at) = line.find("http://127.0.0.1:")
                {
                    let port: String = line[at + 17..].chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(format!("http://127.0.0.1:{port}"));
                }
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("serve did not start:\n{}", log.lock().unwrap()));
        Serve { child, url, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL: no shutdown code runs.
    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and wait (bounded) for a clean exit. Returns the log.
    fn stop(mut self) -> String {
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "serve exited with {status}:\n{}", self.log());
                break;
            }
            assert!(Instant::now() < deadline, "serve did not stop:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.log()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// POSTs a question; the status and the JSON body, or the transport error.
async fn ask(client: &reqwest::Client, url: &str, path: &str, question: &str) -> Result<(u16, Value), String> {
    let res = client
        .post(format!("{url}{path}"))
        .json(&json!({ "question": question }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res.json::<Value>().await.map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// Polls (bounded) until `done` holds.
async fn eventually(what: &str, secs: u64, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn record(question: &str) -> QuestionRecord {
    QuestionRecord {
        channel: "web".into(),
        chat: "web:127.0.0.1".into(),
        question: question.into(),
        decision: "answer".into(),
        entry: Some("proc-transit".into()),
        confidence: 0.9,
        latency_ms: 1.0,
        provenance: None,
    }
}

fn post_json(uri: &str, body: &Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn oneshot_json(app: &axum::Router, uri: &str, question: &str) -> (u16, Value) {
    let res = app
        .clone()
        .oneshot(post_json(uri, &json!({ "question": question })))
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// A database capped at its current size, so the next pages cannot be written ("database or disk
/// is full"), and the web app over it.
fn full_store(site: &Path) -> (Arc<SqliteStore>, axum::Router) {
    let db = db(site);
    drop(SqliteStore::open(&db).unwrap());
    let pages: u64 = Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let options = StoreOptions {
        log_budget: Duration::from_millis(300),
        max_page_count: Some(pages),
        ..StoreOptions::default()
    };
    let store = Arc::new(SqliteStore::open_with(&db, options).unwrap());
    // Fill the last free space.
    let filler = "填".repeat(300);
    for i in 0..500 {
        if store.record_question(&record(&format!("{i}{filler}"))).unwrap() == Logged::Spooled {
            break;
        }
    }
    let config = Config::load(&site.join("bot.toml")).unwrap();
    let assistant = Arc::new(Assistant::start(config).unwrap());
    let app = customs_bot::web::router(Arc::new(customs_bot::desk::Desk::new(assistant, store.clone())));
    (store, app)
}

#[tokio::test]
async fn a_full_database_keeps_questions_in_the_spool_and_a_replay_stores_each_once() {
    let site = site("");
    let (store, app) = full_store(site.path());
    let spool = customs_bot::tickets::spool_path(&db(site.path()));
    let spooled_before = std::fs::read_to_string(&spool).unwrap().lines().count();
    assert!(spooled_before >= 1, "the database filled up");

    // A full database is not waited on: the question goes to the spool at once, the answer goes out,
    // and no feedback is offered (there is no id to attach it to).
    let started = Instant::now();
    let (status, v) = oneshot_json(&app, "/chat/ask", "转关怎么办理").await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["decision"], "answer", "{v}");
    assert!(v["ref"].is_null(), "no feedback for a question without an id: {v}");
    let (status, v) = oneshot_json(&app, "/api/ask", "转关怎么办理").await;
    assert_eq!((status, v["entry"]["id"].as_str()), (200, Some("proc-transit")), "{v}");
    let spooled = std::fs::read_to_string(&spool).unwrap().lines().count();
    assert_eq!(spooled, spooled_before + 2);

    // Still full: the replay fails and keeps everything.
    assert!(store.replay_spool().is_err());
    assert_eq!(std::fs::read_to_string(&spool).unwrap().lines().count(), spooled);
    let (rows_before, _) = rows_and_uids(&db(site.path()));
    drop(app);
    drop(store);

    // Room again: every spooled question goes in once, and a second replay adds nothing.
    let store = SqliteStore::open(&db(site.path())).unwrap();
    assert_eq!(store.replay_spool().unwrap(), spooled);
    assert_eq!(store.replay_spool().unwrap(), 0);
    assert!(!spool.exists());
    let (rows, uids) = rows_and_uids(&db(site.path()));
    assert_eq!(rows, rows_before + spooled as i64);
    assert_eq!(rows, uids, "no duplicate rows");
    assert_eq!(logged_counts(&db(site.path()))["转关怎么办理"], 2);
}

#[tokio::test]
async fn when_neither_the_database_nor_the_spool_take_a_question_the_person_gets_the_hotline() {
    let site = site("");
    let (_store, app) = full_store(site.path());
    // Something that is not a file sits where the spool is written.
    let spool = customs_bot::tickets::spool_path(&db(site.path()));
    std::fs::remove_file(&spool).unwrap();
    std::fs::create_dir(&spool).unwrap();

    let (status, v) = oneshot_json(&app, "/chat/ask", "转关怎么办理").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["decision"], "handoff",
        "not an answer that pretends to be logged: {v}"
    );
    let html = v["html"].as_str().unwrap();
    assert!(html.contains("12360") && html.contains("系统暂时无法回答"), "{html}");
    assert!(v["ref"].is_null());
    let (status, v) = oneshot_json(&app, "/api/ask", "转关怎么办理").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["decision"], "handoff", "{v}");
    assert!(v["reply"].as_str().unwrap().contains("12360"), "{v}");
    let text = v.to_string().to_lowercase();
    assert!(
        !text.contains("sqlite") && !text.contains("database") && !text.contains("spool"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn questions_under_a_write_locked_database_return_within_the_budget_and_are_replayed() {
    let site = site("[tickets]\nlog_timeout_ms = 500\nspool_replay_seconds = 1\n");
    let serve = Serve::start(site.path());
    let client = client();
    let (status, v) = ask(&client, &serve.url, "/chat/ask", "转关怎么办理").await.unwrap();
    assert_eq!(status, 200);
    assert!(v["ref"].is_string(), "logged normally, feedback offered: {v}");

    let db = db(site.path());
    let lock = write_lock(&db);
    let n = 8;
    let started = Instant::now();
    let asks: Vec<_> = (0..n)
        .map(|i| {
            let (client, url) = (client.clone(), serve.url.clone());
            let path = if i % 2 == 0 { "/chat/ask" } else { "/api/ask" };
            tokio::spawn(async move {
                let t = Instant::now();
                let r = ask(&client, &url, path, "转关怎么办理").await;
                (path, r, t.elapsed())
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for a in asks {
        let (path, r, took) = a.await.unwrap();
        let (status, v) = r.unwrap();
        assert_eq!(status, 200, "{path}: {v}");
        if path == "/chat/ask" {
            assert_eq!(v["decision"], "answer", "{v}");
            assert!(v["ref"].is_null(), "spooled: no feedback offered: {v}");
        } else {
            assert_eq!(v["entry"]["id"], "proc-transit", "{v}");
        }
        slowest = slowest.max(took);
    }
    let all = started.elapsed();
    eprintln!(
        "write-locked database: {n} concurrent questions, slowest {slowest:?}, all done in {all:?} (budget 500 ms)"
    );
    // Each waits the budget side by side, not n × budget in a queue.
    assert!(slowest < Duration::from_millis(1800), "slowest {slowest:?}");
    assert!(all < Duration::from_millis(2000), "all {all:?}");
    assert_eq!(rows_and_uids(&db).0, 1, "the database was locked");
    drop(lock);

    // The running process replays the spool once the database works again.
    eventually("the spool replayed", 15, || rows_and_uids(&db).0 == 1 + n).await;
    let (rows, uids) = rows_and_uids(&db);
    assert_eq!(rows, uids, "no duplicates");
    eventually("the spool removed", 5, || {
        !customs_bot::tickets::spool_path(&db).exists()
    })
    .await;
    let log = serve.stop();
    assert_eq!(
        log.matches("the question is kept in the spool").count(),
        n as usize,
        "one error line per spooled question:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_random_moments_loses_no_question_that_got_a_reply() {
    let site = site("[tickets]\nlog_timeout_ms = 300\nspool_replay_seconds = 1\n");
    let db = db(site.path());
    let replied = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut kills = Vec::new();
    for round in 0..4 {
        let mut serve = Serve::start(site.path());
        // Odd rounds: another process holds the write lock, so questions wait and go to the spool.
        let lock = (round % 2 == 1).then(|| write_lock(&db));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..3)
            .map(|c| {
                let (client, url, replied, stop) = (client(), serve.url.clone(), replied.clone(), stop.clone());
                tokio::spawn(async move {
                    for k in 0..2000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let q = format!("第{round}轮{c}号第{k}问：转关怎么办理");
                        let path = if k % 2 == 0 { "/chat/ask" } else { "/api/ask" };
                        match ask(&client, &url, path, &q).await {
                            Ok((200, _)) => replied.lock().unwrap().push(q),
                            Ok((status, v)) => panic!("{path} answered {status}: {v}"),
                            Err(_) => break, // killed
                        }
                    }
                })
            })
            .collect();
        let at = Duration::from_millis(rand::random_range(200..1500));
        tokio::time::sleep(at).await;
        serve.kill9();
        kills.push(at);
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.await.unwrap();
        }
        drop(lock);
    }
    let spooled = std::fs::read_to_string(customs_bot::tickets::spool_path(&db))
        .map(|t| t.lines().count())
        .unwrap_or(0);

    // The next start replays what the killed processes left in the spool.
    let serve = Serve::start(site.path());
    let replied = replied.lock().unwrap().clone();
    let all_in = || {
        let counts = logged_counts(&db);
        replied.iter().all(|q| counts.get(q).is_some_and(|&n| n >= 1))
    };
    eventually("every replied question in the log", 15, all_in).await;
    serve.stop();
    let counts = logged_counts(&db);
    let missing: Vec<&String> = replied.iter().filter(|q| !counts.contains_key(*q)).collect();
    let doubled: Vec<(&String, &i64)> = counts.iter().filter(|(_, n)| **n > 1).collect();
    let (rows, uids) = rows_and_uids(&db);
    eprintln!(
        "kill -9 at {kills:?}: {} questions replied, {rows} rows logged, {spooled} left in the spool by the kills, missing {}, doubled {}",
        replied.len(),
        missing.len(),
        doubled.len()
    );
    assert!(missing.is_empty(), "replied but not logged: {missing:?}");
    assert!(doubled.is_empty(), "logged twice: {doubled:?}");
    assert_eq!(rows, uids);
    assert!(replied.len() >= 8, "the rounds did ask something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn load_of_four_clients_on_api_and_chat_loses_nothing() {
    const CLIENTS: usize = 4;
    const PER_CLIENT: usize = 150;
    let site = site("");
    let serve = Serve::start(site.path());
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (client, url) = (client(), serve.url.clone());
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(PER_CLIENT);
                for k in 0..PER_CLIENT {
                    let q = format!("负载{c}号第{k}问：转关怎么办理");
                    let path = if k % 2 == 0 { "/api/ask" } else { "/chat/ask" };
                    let t = Instant::now();
                    let ok = matches!(ask(&client, &url, path, &q).await, Ok((200, _)));
                    out.push((q, ok, t.elapsed()));
                }
                out
            })
        })
        .collect();
    let mut results = Vec::new();
    for c in clients {
        results.extend(c.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    serve.stop();
    let counts = logged_counts(&db(site.path()));
    let errors = results.iter().filter(|r| !r.1).count();
    let lost = results.iter().filter(|r| r.1 && !counts.contains_key(&r.0)).count();
    let mut ms: Vec<f64> = results.iter().map(|r| r.2.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1];
    eprintln!(
        "load: {} requests ({CLIENTS} clients × {PER_CLIENT}, /api/ask and /chat/ask) in {secs:.1} s, {errors} errors, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, questions lost {lost}",
        results.len(),
        pct(0.5),
        pct(0.99),
        ms[ms.len() - 1]
    );
    assert_eq!(errors, 0);
    assert_eq!(lost, 0);
    assert!(counts.values().all(|&n| n == 1), "no question logged twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_offers_no_feedback_for_a_spooled_question_and_hands_off_when_nothing_kept_it() {
    use crate::telegram::{Harness, buttons, text};

    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("customs-bot.sqlite");
    let options = StoreOptions {
        log_budget: Duration::from_millis(300),
        busy_timeout: Duration::from_millis(500),
        ..StoreOptions::default()
    };
    let store = Arc::new(SqliteStore::open_with(&db, options).unwrap());
    let spool = customs_bot::tickets::spool_path(&db);
    let h = Harness::start_with_store("", store.clone()).await;
    let fake = &h.fake;

    // Logged: the answer with its feedback buttons.
    fake.send_text(42, "转关怎么办理");
    let sent = fake.wait_sent(42, 1).await;
    assert!(text(&sent[0]).starts_with("<b>跨关区转关</b>"), "{}", text(&sent[0]));
    assert_eq!(buttons(&sent[0]).len(), 2);

    // Neither the database (write-locked by another process) nor the spool (something else is
    // in its place) takes the question: the hotline hand-off instead of an answer.
    let lock = write_lock(&db);
    std::fs::create_dir(&spool).unwrap();
    fake.send_text(42, "转关怎么办理");
    let sent = fake.wait_sent(42, 2).await;
    let body = text(&sent[1]);
    assert!(body.contains("系统暂时无法回答") && body.contains("12360"), "{body}");
    assert!(!body.contains("跨关区转关"), "{body}");

    // Only the spool takes it: the answer goes out, without feedback buttons (no id to attach).
    std::fs::remove_dir(&spool).unwrap();
    fake.send_text(42, "转关怎么办理");
    let sent = fake.wait_sent(42, 3).await;
    assert!(text(&sent[2]).starts_with("<b>跨关区转关</b>"), "{}", text(&sent[2]));
    assert!(buttons(&sent[2]).is_empty(), "{:?}", buttons(&sent[2]));
    drop(lock);
    assert_eq!(store.replay_spool().unwrap(), 1);
    assert_eq!(rows_and_uids(&db), (2, 2));

    h.finish().await;
}
