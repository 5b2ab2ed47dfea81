//! The web front: router tests without a server (`oneshot`), and end to end in headless Chromium
//! (Debian's chromium and chromium-driver, installed by .ci/run) driven over WebDriver.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use customs_bot::app::Assistant;
use customs_bot::config::Config;
use customs_bot::desk::Desk;
use customs_bot::tickets::{SqliteStore, TicketStore};
use serde_json::Value;
use tower::ServiceExt;

use crate::support::{copy_tree, fixtures};

/// The password of the test operator `wang`.
pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) struct Site {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) assistant: Arc<Assistant>,
    pub(crate) store: Arc<SqliteStore>,
}

pub(crate) fn site(extra: &str) -> Site {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid/knowledge"), &dir.path().join("knowledge"));
    std::fs::create_dir_all(dir.path().join("knowledge/permit")).unwrap();
    for (id, title, q) in [
        ("permit-ata-a", "ATA单证册报关", "ATA单证册报关手续"),
        ("permit-ata-b", "ATA单证册担保", "ATA单证册担保手续"),
    ] {
        std::fs::write(
            dir.path().join(format!("knowledge/permit/{id}.md")),
            format!("+++\nid = \"{id}\"\nkind = \"permit\"\ntitle = \"{title}\"\nquestions = [\"{q}\"]\nkeywords = [\"ata单证册\"]\nlegal_basis = [\"《海关法》\"]\nupdated = 2026-11-26\n+++\n{title}的说明 <b>不是标签</b>。\n"),
        )
        .unwrap();
    }
    let hash = {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        argon2::Argon2::default()
            .hash_password(PASSWORD.as_bytes(), &salt)
            .unwrap()
            .to_string()
    };
    let text = format!(
        "[office]\noffice_name = \"测试海关\"\nhotline = \"12360\"\nconsult_phone = \"测试咨询电话\"\n\
         [web]\nmax_body_bytes = 2048\n{extra}\n[[web.operators]]\nname = \"wang\"\npassword_hash = \"{hash}\"\n"
    );
    std::fs::write(dir.path().join("bot.toml"), text).unwrap();
    let config = Config::load(&dir.path().join("bot.toml")).unwrap();
    let assistant = Arc::new(Assistant::start(config).unwrap());
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    Site {
        _dir: dir,
        assistant,
        store,
    }
}

pub(crate) fn app(s: &Site) -> axum::Router {
    customs_bot::web::router(Arc::new(Desk::new(s.assistant.clone(), s.store.clone())))
}

pub(crate) async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub(crate) fn post_json(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub(crate) fn post_form(uri: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.bytes()
                    .map(|b| if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    })
                    .collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn the_chat_page_is_served_with_security_headers_and_a_kiosk_mode() {
    let s = site("");
    let a = app(&s);
    let (status, headers, body) = send(&a, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("测试海关咨询助手") && body.contains("/static/chat.js"),
        "{body}"
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        !body.contains("http://") && !body.contains("https://"),
        "nothing fetched from the internet"
    );
    // The hall's touchscreen has its own front (tests/kiosk.rs); the old address leads there.
    let (status, headers, _) = send(&a, get("/?kiosk=1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/kiosk");
    let (status, headers, js) = send(&a, get("/static/chat.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.contains("/chat/ask"));
}

#[tokio::test]
async fn api_ask_returns_the_ask_json_object_and_rejects_bad_input_calmly() {
    let s = site("");
    let a = app(&s);
    let (status, _, body) = send(&a, post_json("/api/ask", r#"{"question":"转关怎么办理"}"#)).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "candidates",
            "confidence",
            "decision",
            "entry",
            "question",
            "refer",
            "reply"
        ]
    );
    assert_eq!(v["entry"]["id"], "proc-transit");
    assert_eq!(crate::support::question_count(s.store.as_ref()), 1, "logged");

    let (status, _, body) = send(&a, post_json("/api/ask", "{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("JSON"), "{body}");
    assert!(!body.contains("panicked") && !body.contains("src/"));

    let big = format!(r#"{{"question":"{}"}}"#, "报".repeat(2000));
    let (status, _, _) = send(&a, post_json("/api/ask", &big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn too_many_requests_from_one_address_are_refused() {
    let s = site("requests_per_minute = 3");
    let a = app(&s);
    for _ in 0..3 {
        let (status, _, _) = send(&a, post_json("/api/ask", r#"{"question":"滞报金"}"#)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _, body) = send(&a, post_json("/api/ask", r#"{"question":"滞报金"}"#)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("稍等"));
}

#[tokio::test]
async fn a_hand_off_gives_a_private_ticket_page_that_shows_the_answer_later() {
    let s = site("");
    let a = app(&s);
    let (_, _, body) = send(&a, post_json("/chat/ask", r#"{"question":"西宁明天天气怎么样"}"#)).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["decision"], "handoff");
    assert_eq!(v["ticket"]["number"], "T000001");
    let url = v["ticket"]["url"].as_str().unwrap().to_string();
    assert!(v["html"].as_str().unwrap().contains("12360"));
    let (status, _, page) = send(&a, get(&url)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("西宁明天天气怎么样") && page.contains("还在处理"),
        "{page}"
    );
    let (status, _, _) = send(&a, get("/ticket/T000001")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no key, no ticket");
    let (status, _, _) = send(&a, get("/ticket/T000001?key=00000000000000000000000000000000")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    s.store.answer_ticket(1, "天气请看气象台 <发布>。", "test").unwrap();
    let (_, _, page) = send(&a, get(&url)).await;
    assert!(page.contains("天气请看气象台 &lt;发布&gt;。"), "{page}");
    assert_eq!(
        s.store.ticket(1).unwrap().unwrap().close_reason.map(|r| r.as_str()),
        Some("relayed")
    );
}

#[tokio::test]
async fn clarify_choices_pick_and_feedback() {
    let s = site("");
    let a = app(&s);
    let (_, headers, body) = send(&a, post_json("/chat/ask", r#"{"question":"ATA单证册手续"}"#)).await;
    let cookie = cookie_of(&headers);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["decision"], "clarify", "{v}");
    let id = v["choices"][0]["id"].as_str().unwrap().to_string();
    let (_, _, body) = send(&a, chat_post("/chat/pick", &format!(r#"{{"id":"{id}"}}"#), &cookie)).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["decision"], "answer");
    let html = v["html"].as_str().unwrap();
    assert!(
        html.contains("<h2>ATA单证册") && html.contains("&lt;b&gt;不是标签&lt;/b&gt;"),
        "escaped: {html}"
    );
    let key = v["ref"].as_str().unwrap().to_string();
    let (_, _, body) = send(
        &a,
        chat_post(
            "/chat/feedback",
            &format!(r#"{{"ref":"{key}","helpful":false}}"#),
            &cookie,
        ),
    )
    .await;
    assert!(body.contains("工单"), "{body}");
    assert_eq!(s.store.ticket(1).unwrap().unwrap().reason.as_str(), "not_helpful");
}

/// A JSON post from a browser that holds `cookie` (`cb_chat=…`).
fn chat_post(uri: &str, body: &str, cookie: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Regression (issue #9, item 1): anyone could file "没帮助" on anyone's question by its
/// sequential id, open a ticket holding the victim's question under their own chat, and use up
/// the victim's feedback.
#[tokio::test]
async fn feedback_on_another_conversations_question_looks_unknown_and_changes_nothing() {
    let s = site("");
    let a = app(&s);
    let (_, headers, body) = send(&a, post_json("/chat/ask", r#"{"question":"转关怎么办理 13812345678"}"#)).await;
    let victim = cookie_of(&headers);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["decision"], "answer", "{v}");
    assert!(v.get("qid").is_none(), "no row id reaches the browser: {v}");
    let key = v["ref"].as_str().unwrap().to_string();
    assert!(key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    let (_, headers, _) = send(&a, post_json("/chat/ask", r#"{"question":"滞报金怎么算"}"#)).await;
    let attacker = cookie_of(&headers);
    assert_ne!(victim, attacker, "each browser has its own conversation");

    let not_found = |status: StatusCode, body: &str| status == StatusCode::NOT_FOUND && body.contains("找不到这个问题");
    let (status, _, made_up) = send(
        &a,
        chat_post(
            "/chat/feedback",
            r#"{"ref":"0123456789abcdef0123456789abcdef","helpful":false}"#,
            &attacker,
        ),
    )
    .await;
    assert!(not_found(status, &made_up), "{status} {made_up}");
    let forged = format!(r#"{{"ref":"{key}","helpful":false}}"#);
    let (status, _, stolen) = send(&a, chat_post("/chat/feedback", &forged, &attacker)).await;
    assert_eq!(
        (status, &stolen),
        (StatusCode::NOT_FOUND, &made_up),
        "exactly like an unknown question"
    );
    let (status, _, _) = send(&a, post_json("/chat/feedback", &forged)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no conversation, no feedback");
    let (status, _, _) = send(
        &a,
        chat_post("/chat/feedback", r#"{"qid":1,"helpful":false}"#, &attacker),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "row ids are not accepted");
    assert!(s.store.ticket(1).unwrap().is_none(), "no ticket opened");
    assert_eq!(s.store.stats(1).unwrap().not_helpful, 0, "nothing recorded");

    // The victim's own feedback still counts and opens the ticket under the victim's conversation.
    let (status, _, body) = send(&a, chat_post("/chat/feedback", &forged, &victim)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("工单"), "{body}");
    let t = s.store.ticket(1).unwrap().unwrap();
    assert_eq!(t.chat, chat_of(&victim));
    assert_eq!(t.question, "转关怎么办理 138****5678");
}

/// Regression (issue #9, item 1): a pick is an answer to choices offered to this conversation.
#[tokio::test]
async fn picks_count_only_for_choices_offered_to_this_conversation() {
    let s = site("");
    let a = app(&s);
    let (_, headers, body) = send(&a, post_json("/chat/ask", r#"{"question":"ATA单证册手续"}"#)).await;
    let victim = cookie_of(&headers);
    let v: Value = serde_json::from_str(&body).unwrap();
    let id = v["choices"][1]["id"].as_str().unwrap().to_string();
    let (_, headers, _) = send(&a, post_json("/chat/ask", r#"{"question":"滞报金怎么算"}"#)).await;
    let other = cookie_of(&headers);
    let questions = crate::support::question_count(s.store.as_ref());
    for (body, cookie) in [
        (format!(r#"{{"id":"{id}"}}"#), Some(&other)),
        (format!(r#"{{"id":"{id}"}}"#), None),
        (r#"{"id":"proc-transit"}"#.to_string(), Some(&victim)),
    ] {
        let req = match cookie {
            Some(c) => chat_post("/chat/pick", &body, c),
            None => post_json("/chat/pick", &body),
        };
        let (status, _, text) = send(&a, req).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body} {cookie:?}: {text}");
    }
    assert_eq!(
        crate::support::question_count(s.store.as_ref()),
        questions,
        "nothing logged"
    );
    let (status, _, body) = send(&a, chat_post("/chat/pick", &format!(r#"{{"id":"{id}"}}"#), &victim)).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["decision"], "answer", "{v}");
    assert!(v["html"].as_str().unwrap().contains("ATA单证册"), "{v}");
}

/// Regression (issue #9, item 1): the conversation was `web:{ip}`, shared by everyone behind one
/// address (an office's NAT, the kiosk).
#[tokio::test]
async fn each_browser_has_its_own_conversation_not_its_address() {
    let s = site("");
    let a = app(&s);
    let (_, headers, _) = send(&a, get("/")).await;
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.starts_with("cb_chat=")
            && set.contains("HttpOnly")
            && set.contains("SameSite=Lax")
            && set.contains("Path=/"),
        "{set}"
    );
    let first = cookie_of(&headers);
    let page = Request::get("/")
        .header(header::COOKIE, &first)
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = send(&a, page).await;
    assert!(
        headers.get(header::SET_COOKIE).is_none(),
        "a known browser keeps its conversation"
    );
    send(
        &a,
        chat_post("/chat/ask", r#"{"question":"西宁明天天气怎么样"}"#, &first),
    )
    .await;
    let (_, headers, _) = send(&a, post_json("/chat/ask", r#"{"question":"西宁明天天气怎么样"}"#)).await;
    let second = cookie_of(&headers);
    assert_ne!(first, second);
    let (t1, t2) = (s.store.ticket(1).unwrap().unwrap(), s.store.ticket(2).unwrap().unwrap());
    assert_eq!(t1.chat, chat_of(&first));
    assert_eq!(t2.chat, chat_of(&second));
    let token = first.strip_prefix("cb_chat=").unwrap();
    assert!(!t1.chat.contains(token), "the store never holds the cookie itself");
    assert!(!t1.chat.contains("0.0.0.0") && !t1.chat.contains("127.0.0.1"));
    // A forged cookie that is not one of ours starts a new conversation.
    let (_, headers, _) = send(
        &a,
        chat_post("/chat/ask", r#"{"question":"滞报金"}"#, "cb_chat=web:1.2.3.4"),
    )
    .await;
    assert!(cookie_of(&headers).len() == "cb_chat=".len() + 32);
    // The kiosk asks for a new conversation for the next person.
    let (status, headers, _) = send(&a, chat_post("/chat/reset", "{}", &first)).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(cookie_of(&headers), first);
}

#[tokio::test]
async fn browse_by_kind_and_read_an_entry() {
    let s = site("");
    let a = app(&s);
    let (_, _, body) = send(&a, get("/browse")).await;
    assert!(body.contains("/browse/procedure") && body.contains("办事程序"));
    let (_, _, body) = send(&a, get("/browse/procedure")).await;
    assert!(body.contains("/entry/proc-transit") && body.contains("跨关区转关"));
    let (status, _, body) = send(&a, get("/entry/proc-transit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<h2>跨关区转关</h2>") && body.contains("法律依据：《海关法》第三十五条"),
        "{body}"
    );
    let (status, _, _) = send(&a, get("/entry/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

pub(crate) fn cookie_of(headers: &axum::http::HeaderMap) -> String {
    headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

pub(crate) fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    page[at..at + 32].to_string()
}

#[tokio::test]
async fn the_console_needs_a_login_a_session_and_csrf_tokens() {
    let s = site("login_attempts = 3");
    let a = app(&s);
    let (status, headers, _) = send(&a, get("/ops")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ops/login");

    let (status, _, _) = send(
        &a,
        post_form("/ops/login", &form(&[("name", "wang"), ("password", "wrong")]), None),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, _) = send(
        &a,
        post_form("/ops/login", &form(&[("name", "wang"), ("password", PASSWORD)]), None),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = cookie_of(&headers);

    // A ticket to work on.
    send(&a, post_json("/chat/ask", r#"{"question":"西宁明天天气怎么样"}"#)).await;
    let queue = Request::get("/ops")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let (status, _, page) = send(&a, queue).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("T000001") && page.contains("西宁明天天气怎么样"),
        "{page}"
    );
    let csrf = csrf_of(&page);

    let (status, _, _) = send(
        &a,
        post_form(
            "/ops/ticket/1/answer",
            &form(&[("csrf", "forged"), ("answer", "x")]),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(s.store.ticket(1).unwrap().unwrap().state.as_str(), "open");
    let (status, _, _) = send(
        &a,
        post_form(
            "/ops/ticket/1/answer",
            &form(&[("csrf", &csrf), ("answer", "请看气象台。")]),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "no session: back to login");
    let (status, _, _) = send(
        &a,
        post_form(
            "/ops/ticket/1/answer",
            &form(&[("csrf", &csrf), ("answer", "请看气象台。")]),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let t = s.store.ticket(1).unwrap().unwrap();
    assert_eq!(
        (t.state.as_str(), t.answered_by.as_deref()),
        ("answered", Some("web:wang"))
    );

    let (status, _, page) = send(&a, post_form("/ops/reindex", &form(&[("csrf", &csrf)]), Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("已重建索引"), "{page}");
    let stats = Request::get("/ops/stats")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let (_, _, page) = send(&a, stats).await;
    assert!(page.contains("提问 1"), "{page}");

    // Login attempts are limited per address.
    for _ in 0..2 {
        send(
            &a,
            post_form("/ops/login", &form(&[("name", "x"), ("password", "y")]), None),
        )
        .await;
    }
    let (status, _, _) = send(
        &a,
        post_form("/ops/login", &form(&[("name", "wang"), ("password", PASSWORD)]), None),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

pub(crate) mod browser {
    //! Headless Chromium over WebDriver (chromedriver), against the real server on 127.0.0.1.

    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use fantoccini::{Client, ClientBuilder, Locator};

    use super::*;

    impl Drop for Driver {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    pub(crate) struct Driver(Child);

    /// Chromium under chromedriver; `extra` is merged into `goog:chromeOptions` (mobileEmulation …).
    pub(crate) async fn browser_with(profile: &std::path::Path, extra: serde_json::Value) -> (Driver, Client) {
        let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("the browser tests need Debian's chromium and chromium-driver: scripts/test installs them");
        let port = crate::support::free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Driver(child);
        let mut caps = serde_json::map::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            {
                let mut options = serde_json::json!({
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                             "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             format!("--user-data-dir={}", profile.display()), "--window-size=390,844"]
                });
                if let (Some(o), serde_json::Value::Object(extra)) = (options.as_object_mut(), extra) {
                    o.extend(extra);
                }
                options
            },
        );
        for _ in 0..100 {
            if let Ok(c) = ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                return (driver, c);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start");
    }

    pub(crate) async fn browser(profile: &std::path::Path) -> (Driver, Client) {
        browser_with(profile, serde_json::json!({})).await
    }

    /// Logs `wang` in on the console's login page.
    pub(crate) async fn log_in(c: &Client, base: &str) {
        c.goto(&format!("{base}/ops")).await.unwrap();
        c.find(Locator::Css("input[name=name]"))
            .await
            .unwrap()
            .send_keys("wang")
            .await
            .unwrap();
        c.find(Locator::Css("input[name=password]"))
            .await
            .unwrap()
            .send_keys(PASSWORD)
            .await
            .unwrap();
        c.find(Locator::Css("form button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(c, "h1", "工单").await;
    }

    pub(crate) async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
        for _ in 0..100 {
            if let Ok(els) = c.find_all(Locator::Css(css)).await {
                for el in els {
                    if let Ok(t) = el.text().await
                        && t.contains(needle)
                    {
                        return t;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no {css} containing {needle:?}; page: {}",
            c.source().await.unwrap_or_default()
        );
    }

    pub(crate) async fn screenshot(c: &Client, name: &str, w: u32, h: u32) {
        // Screenshots for docs/ are written only when asked: CUSTOMS_BOT_SCREENSHOTS=docs
        let Ok(dir) = std::env::var("CUSTOMS_BOT_SCREENSHOTS") else {
            return;
        };
        c.set_window_size(w, h).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = c.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }

    async fn ask(c: &Client, q: &str) {
        let input = c.find(Locator::Id("q")).await.unwrap();
        input.send_keys(q).await.unwrap();
        c.find(Locator::Css("form#ask button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_person_and_an_operator_in_a_real_browser() {
        let s = site("");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(customs_bot::web::serve(
            Arc::new(Desk::new(s.assistant.clone(), s.store.clone())),
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        let profile = tempfile::tempdir().unwrap();
        let (_driver, c) = browser(profile.path()).await;

        // Ask and see the answer.
        c.goto(&format!("{base}/")).await.unwrap();
        ask(&c, "转关怎么办理").await;
        let answer = wait_text(&c, ".msg.bot", "跨关区转关").await;
        assert!(answer.contains("法律依据"), "{answer}");

        // Choices: press one.
        ask(&c, "ATA单证册手续").await;
        wait_text(&c, ".choices button", "ATA单证册").await;
        c.find(Locator::Css(".choices button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, ".msg.bot h2", "ATA单证册").await;

        // A hand-off with a ticket number.
        ask(&c, "西宁明天天气怎么样").await;
        let handoff = wait_text(&c, ".msg.bot", "工单").await;
        assert!(handoff.contains("T000001") && handoff.contains("12360"), "{handoff}");
        let ticket_url = c
            .find(Locator::Css(".ticket a"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        screenshot(&c, "chat-phone.png", 390, 844).await;

        // An operator logs in and answers the ticket.
        c.set_window_size(1280, 900).await.unwrap();
        log_in(&c, &base).await;
        wait_text(&c, "table", "T000001").await;
        screenshot(&c, "console-desktop.png", 1280, 900).await;
        screenshot(&c, "console-phone.png", 390, 844).await;
        c.find(Locator::Css("a[href='/ops/ticket/1']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::Css("textarea[name=answer]"))
            .await
            .unwrap()
            .send_keys("天气请看气象台发布的预报。")
            .await
            .unwrap();
        c.find(Locator::Css("form[action='/ops/ticket/1/answer'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(&c, "main", "天气请看气象台发布的预报。").await;

        // The person opens the ticket page and sees the answer.
        c.goto(&format!("{base}{ticket_url}")).await.unwrap();
        let page = wait_text(&c, "main", "工作人员的答复").await;
        assert!(page.contains("天气请看气象台发布的预报。"), "{page}");

        c.close().await.unwrap();
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

/// The conversation id the server stores for a `cb_chat=<token>` cookie: a digest of the token.
pub(crate) fn chat_of(cookie: &str) -> String {
    use sha2::{Digest, Sha256};
    let token = cookie.strip_prefix("cb_chat=").unwrap();
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("web:{hex}")
}
