//! The web front (axum): the portal's chat page and kiosk, `POST /api/ask`, browsing by kind,
//! ticket pages, and the operators' console at `/ops`.
//!
//! Only this module imports axum (and the HTTP server under it). [`router`] builds the whole app
//! from an [`Assistant`] and a [`TicketStore`] (tested with `oneshot`, no server); [`serve`] runs
//! it on a listener until the shutdown future resolves, then gives requests in progress
//! `[web] shutdown_grace_seconds` and returns whatever the clients do. Pages are server-rendered
//! with every dynamic piece escaped, plus one small script; nothing is fetched from the internet.
//! Limits: request body size, question length (the assistant's own), per-IP request rate, login
//! attempts per IP; header, body and whole-request timeouts; connections at once, overall and per
//! IP; security headers on every response; bad JSON gets a 400 with a JSON error, never a stack
//! trace.
//!
//! Each browser has its own conversation (`web:<random>`, from the HttpOnly `cb_chat` cookie),
//! never the address, so people behind one NAT or at the kiosk do not share one. Feedback names its
//! question by the question's random key and counts only from the conversation that asked; a pick
//! counts only for an entry offered to that conversation. Anything else looks like an unknown
//! question.

mod ops;
mod pages;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt as _;

use crate::app::Assistant;
use crate::knowledge::Kind;
use crate::markup::escape_html as esc;
use crate::ratelimit::{Rate, RateLimiter};
use crate::reply::{Body, HandoffReason, Reply, entry_web_html};
use crate::tickets::{
    Feedback, NewTicket, QuestionRef, Ticket, TicketReason, TicketStore, parse_ticket_number, random_key,
};

pub use pages::page;

const CHANNEL: &str = "web";
/// The cookie that names the browser's conversation.
const CHAT_COOKIE: &str = "cb_chat";

/// Shared by every handler.
pub struct WebState {
    pub assistant: Arc<Assistant>,
    pub store: Arc<dyn TicketStore>,
    limiter: RateLimiter<IpAddr>,
    logins: RateLimiter<IpAddr>,
    sessions: ops::Sessions,
}

type Shared = Arc<WebState>;

/// The whole web app.
pub fn router(assistant: Arc<Assistant>, store: Arc<dyn TicketStore>) -> Router {
    let web = assistant.config().web.clone();
    let state = Arc::new(WebState {
        assistant,
        store,
        limiter: RateLimiter::new(web.requests_per_minute, Duration::from_secs(60)),
        logins: RateLimiter::new(web.login_attempts, Duration::from_secs(600)),
        sessions: ops::Sessions::default(),
    });
    Router::new()
        .route("/", get(chat_page))
        .route(
            "/static/style.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], pages::STYLE) }),
        )
        .route(
            "/static/chat.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    pages::SCRIPT,
                )
            }),
        )
        .route("/api/ask", post(api_ask))
        .route("/chat/ask", post(chat_ask))
        .route("/chat/pick", post(chat_pick))
        .route("/chat/feedback", post(chat_feedback))
        .route("/chat/reset", post(chat_reset))
        .route("/ticket/{number}", get(ticket_page))
        .route("/browse", get(browse))
        .route("/browse/{kind}", get(browse_kind))
        .route("/entry/{id}", get(entry_page))
        .merge(ops::routes())
        .fallback(|| async { not_found("没有这个页面。") })
        .layer(DefaultBodyLimit::max(web.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(web.request_timeout_seconds),
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Runs the web app on `listener` until `shutdown` resolves, then stops accepting, lets requests
/// in progress finish for `[web] shutdown_grace_seconds` and closes whatever is still open.
///
/// HTTP/1.1 (hyper) with `[web]` limits: headers (and the next request on a kept-alive
/// connection) within `header_timeout_seconds`, no pause over `body_timeout_seconds` while a body
/// is sent, the whole request within `request_timeout_seconds` (the router's), at most
/// `max_connections` connections served at once (more wait in the listen queue) and
/// `max_connections_per_ip` per address (more are closed at once).
pub async fn serve(
    assistant: Arc<Assistant>,
    store: Arc<dyn TicketStore>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let web = assistant.config().web.clone();
    let app = router(assistant, store);
    let header_timeout = Duration::from_secs(web.header_timeout_seconds);
    let body_timeout = Duration::from_secs(web.body_timeout_seconds);
    let slots = Arc::new(tokio::sync::Semaphore::new(web.max_connections));
    let per_ip = Arc::new(Mutex::new(HashMap::<IpAddr, usize>::new()));
    let (close_tx, close_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot?,
            () = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "could not accept a web connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let Some(ip_slot) = IpSlot::take(&per_ip, addr.ip(), web.max_connections_per_ip) else {
            tracing::debug!(ip = %addr.ip(), "too many connections from one address; closed");
            continue;
        };
        let app = app.clone();
        let mut close = close_rx.clone();
        connections.spawn(async move {
            let _held = (slot, ip_slot);
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                let req = req.map(|b| axum::body::Body::new(tower_http::timeout::TimeoutBody::new(body_timeout, b)));
                app.clone().oneshot(req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "web connection ended with an error");
                    }
                }
                () = async { let _ = close.wait_for(|c| *c).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    let _ = close_tx.send(true);
    let grace = Duration::from_secs(web.shutdown_grace_seconds);
    let drained = tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            grace_s = web.shutdown_grace_seconds,
            "web connections still open after the grace period; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// One of an address's connection slots, given back when the connection ends.
struct IpSlot {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl IpSlot {
    fn take(map: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr, max: usize) -> Option<Self> {
        let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Self { map: map.clone(), ip })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "same-origin");
    set(h, "cache-control", "no-store");
    res
}

/// The client's address (unspecified when the app runs without a socket, as in router tests).
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(a)| a.ip()),
        ))
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn bad_json(e: JsonRejection) -> Response {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => json_error(StatusCode::PAYLOAD_TOO_LARGE, "请求太大了。"),
        // The body could not be read: sent too slowly (the body timeout) or cut off.
        _ if matches!(e, JsonRejection::BytesRejection(_)) => {
            json_error(StatusCode::REQUEST_TIMEOUT, "请求没有按时发完，请重试。")
        }
        _ => json_error(
            StatusCode::BAD_REQUEST,
            &format!("请求不是有效的 JSON：{}", e.body_text()),
        ),
    }
}

fn not_found(message: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(
            "未找到",
            &format!("<main><p>{}</p><p><a href=\"/\">返回首页</a></p></main>", esc(message)),
            false,
        )),
    )
        .into_response()
}

fn rate_limited(s: &WebState, ip: IpAddr) -> Option<Response> {
    match s.limiter.check(&ip) {
        Rate::Allowed => None,
        Rate::Limited(_) => Some(json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "提问太频繁了，请稍等一分钟再试。",
        )),
    }
}

/// The common start of a public JSON request: within the address's rate limit, and valid JSON.
fn admit<T>(s: &WebState, ip: IpAddr, body: Result<Json<T>, JsonRejection>) -> Result<T, Box<Response>> {
    if let Some(r) = rate_limited(s, ip) {
        return Err(Box::new(r));
    }
    body.map(|Json(b)| b).map_err(|e| Box::new(bad_json(e)))
}

/// The browser's conversation (`web:<token>`) from its `cb_chat` cookie, if it has a valid one.
fn conversation(jar: &CookieJar) -> Option<String> {
    jar.get(CHAT_COOKIE)
        .map(Cookie::value)
        .filter(|v| is_token(v))
        .map(chat_id)
}

/// The conversation id stored and logged for a session token: a digest, so that neither the
/// database nor the logs hold the cookie itself (whoever reads them cannot act as the browser).
fn chat_id(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("{CHANNEL}:{hex}")
}

/// A random key as made by `random_key` (32 lowercase hex digits).
fn is_token(v: &str) -> bool {
    v.len() == 32 && v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Starts a new conversation: its id, and the jar that sets its cookie.
fn new_conversation(s: &WebState, jar: CookieJar) -> (String, CookieJar) {
    let token = random_key();
    let cookie = Cookie::build((CHAT_COOKIE, token.clone()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(s.assistant.config().web.secure_cookies)
        .build();
    (chat_id(&token), jar.add(cookie))
}

/// The browser's conversation, started now when it has none.
fn conversation_or_new(s: &WebState, jar: CookieJar) -> (String, CookieJar) {
    match conversation(&jar) {
        Some(chat) => (chat, jar),
        None => new_conversation(s, jar),
    }
}

#[derive(Deserialize)]
struct KioskQuery {
    kiosk: Option<String>,
}

async fn chat_page(State(s): State<Shared>, jar: CookieJar, Query(q): Query<KioskQuery>) -> Response {
    let c = s.assistant.config();
    let office = |k: &str| c.office.get(k).cloned().unwrap_or_default();
    let kiosk = q.kiosk.as_deref().is_some_and(|k| k == "1" || k == "true");
    let (_, jar) = conversation_or_new(&s, jar);
    let html = Html(pages::chat(
        &office("office_name"),
        &office("hotline"),
        kiosk,
        c.web.kiosk_idle_seconds,
    ));
    (jar, html).into_response()
}

/// `POST /chat/reset`: a new conversation (the kiosk, when it clears itself for the next person).
async fn chat_reset(State(s): State<Shared>, jar: CookieJar) -> Response {
    let (_, jar) = new_conversation(&s, jar);
    (jar, Json(json!({}))).into_response()
}

#[derive(Deserialize)]
struct AskBody {
    question: String,
}

async fn answer(s: &Shared, question: String) -> (Reply, Duration) {
    let a = s.assistant.clone();
    let started = Instant::now();
    let reply = tokio::task::spawn_blocking(move || a.ask(&question))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "answering panicked");
            s.assistant.ask("")
        });
    (reply, started.elapsed())
}

/// Keeps the question before its reply goes out (in the database, or in the spool while the
/// database is locked or full): the reply and the question's id. When it could not be kept at
/// all, the hand-off with the hotline replaces the reply, so nobody is answered as if it had been.
async fn keep_or_hand_off(s: &Shared, chat: &str, reply: Reply, latency: Duration) -> (Reply, Option<i64>) {
    let record = crate::app::question_record(CHANNEL, chat, &reply.question, &reply, latency);
    let store = s.store.clone();
    match tokio::task::spawn_blocking(move || store.record_question(&record)).await {
        Ok(Ok(logged)) => (reply, logged.id()),
        other => {
            tracing::error!(
                chat,
                question = ?crate::tickets::mask(&reply.question),
                result = ?other.map(|r| r.map_err(|e| format!("{e:#}"))),
                "a web question could not be kept (neither the database nor the spool took it): handing off"
            );
            (crate::app::unrecorded_reply(&reply.question), None)
        }
    }
}

/// `POST /api/ask`: the same JSON object as `customs-bot ask --json`, for the portal to embed.
async fn api_ask(
    State(s): State<Shared>,
    ClientIp(ip): ClientIp,
    body: Result<Json<AskBody>, JsonRejection>,
) -> Response {
    let body = match admit(&s, ip, body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let (reply, latency) = answer(&s, body.question).await;
    let (reply, _) = keep_or_hand_off(&s, &format!("api:{ip}"), reply, latency).await;
    tracing::info!(
        channel = "api",
        decision = reply.decision.as_str(),
        entry = reply.entry.as_ref().map_or("-", |e| e.id.as_str()),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "question"
    );
    Json(reply.to_json(&s.assistant.config().office)).into_response()
}

async fn open_ticket(
    s: &Shared,
    chat: &str,
    question: &str,
    reason: TicketReason,
    guesses: String,
    qid: Option<i64>,
) -> Option<Ticket> {
    let (chat, question) = (chat.to_string(), question.to_string());
    store_call(s, "open a web ticket", move |st| {
        st.open_ticket(&NewTicket {
            channel: CHANNEL,
            chat: &chat,
            question: &question,
            reason,
            guesses,
            question_id: qid,
        })
    })
    .await
}

fn ticket_link(t: &Ticket) -> String {
    format!("/ticket/{}?key={}", t.number(), t.access_key)
}

fn ticket_html(t: &Ticket) -> String {
    format!(
        "<p class=\"ticket\">您的问题已登记为工单 <a href=\"{}\"><b>{}</b></a>。请保存这个链接，工作人员答复后可在那里查看。</p>",
        esc(&ticket_link(t)),
        t.number()
    )
}

fn duty_html(s: &Shared) -> String {
    let c = s.assistant.config();
    let line = crate::reply::duty_line(c.duty.as_ref(), &c.office);
    format!("<p>{}</p>", esc(&line))
}

/// `POST /chat/ask`: what the chat page shows.
async fn chat_ask(
    State(s): State<Shared>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    body: Result<Json<AskBody>, JsonRejection>,
) -> Response {
    let body = match admit(&s, ip, body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let (chat, jar) = conversation_or_new(&s, jar);
    let (reply, latency) = answer(&s, body.question).await;
    let (reply, qid) = keep_or_hand_off(&s, &chat, reply, latency).await;
    tracing::info!(
        channel = CHANNEL,
        decision = reply.decision.as_str(),
        entry = reply.entry.as_ref().map_or("-", |e| e.id.as_str()),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "question"
    );
    (jar, Json(chat_json(&s, &chat, &reply, qid).await)).into_response()
}

/// Runs a store call on a blocking thread; an error (or a panic) is logged once as `what`.
async fn store_call<T: Send + 'static>(
    s: &Shared,
    what: &'static str,
    f: impl FnOnce(&dyn TicketStore) -> anyhow::Result<T> + Send + 'static,
) -> Option<T> {
    let store = s.store.clone();
    match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::error!(error = ?format!("{e:#}"), "could not {what}");
            None
        }
        Err(e) => {
            tracing::error!(error = ?e.to_string(), "could not {what}");
            None
        }
    }
}

async fn chat_json(s: &Shared, chat: &str, reply: &Reply, qid: Option<i64>) -> serde_json::Value {
    let office = &s.assistant.config().office;
    let mut html = reply.web_html(office);
    let mut choices = Vec::new();
    let mut ticket = None;
    match &reply.body {
        Body::Clarify(c) => {
            // Remembered per conversation: a pick counts only for an entry offered to it.
            let candidates = serde_json::to_string(c).unwrap_or_else(|_| "[]".into());
            let (chat, question) = (chat.to_string(), reply.question.clone());
            store_call(s, "record the choices offered", move |st| {
                st.log_clarify(CHANNEL, &chat, &question, &candidates, qid)
            })
            .await;
            choices = c.iter().map(|c| json!({"id": c.id, "title": c.title})).collect();
        }
        Body::Handoff(reason @ (HandoffReason::NotSure | HandoffReason::Asked | HandoffReason::Internal)) => {
            html.push_str(&duty_html(s));
            let r = match reason {
                HandoffReason::Asked => TicketReason::Asked,
                HandoffReason::Internal => TicketReason::Internal,
                _ => TicketReason::Handoff,
            };
            let guesses = serde_json::to_string(&reply.candidates).unwrap_or_else(|_| "[]".into());
            if let Some(t) = open_ticket(s, chat, &reply.question, r, guesses, qid).await {
                html.push_str(&ticket_html(&t));
                ticket = Some(json!({"number": t.number(), "url": ticket_link(&t)}));
            }
        }
        _ => {}
    }
    // Feedback names the question by its random key, never by the (sequential) row id.
    let mut feedback = None;
    if let (Body::Answer(_), Some(qid)) = (&reply.body, qid) {
        feedback = store_call(s, "give a question its key", move |st| st.question_key(qid)).await;
    }
    json!({"decision": reply.decision, "html": html, "choices": choices, "ticket": ticket, "ref": feedback})
}

#[derive(Deserialize)]
struct PickBody {
    id: String,
}

/// `POST /chat/pick`: one of the choices offered to this conversation.
async fn chat_pick(
    State(s): State<Shared>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    body: Result<Json<PickBody>, JsonRejection>,
) -> Response {
    let body = match admit(&s, ip, body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let gone = || json_error(StatusCode::NOT_FOUND, "这一条已经更新或下线了，请重新提问。");
    let Some(chat) = conversation(&jar) else {
        return gone();
    };
    let (c, id) = (chat.clone(), body.id.clone());
    match store_call(&s, "look up the choices offered", move |st| {
        let offered = st.clarify_offered(CHANNEL, &c, &id)?;
        if offered {
            st.clarify_picked(CHANNEL, &c)?;
        }
        Ok(offered)
    })
    .await
    {
        Some(true) => {}
        Some(false) => return gone(),
        None => return json_error(StatusCode::SERVICE_UNAVAILABLE, "暂时无法处理，请稍后再试。"),
    }
    let Some(reply) = s.assistant.answer_entry(&body.id) else {
        return gone();
    };
    let (reply, qid) = keep_or_hand_off(&s, &chat, reply, Duration::ZERO).await;
    Json(chat_json(&s, &chat, &reply, qid).await).into_response()
}

#[derive(Deserialize)]
struct FeedbackBody {
    /// The question's key, as `/chat/ask` or `/chat/pick` gave it.
    #[serde(rename = "ref")]
    key: String,
    helpful: bool,
}

/// `POST /chat/feedback`: 有帮助 / 没帮助 on an answer given to this conversation. Another
/// conversation's question, a made-up key and no conversation at all all look like an unknown
/// question, record nothing and open no ticket.
async fn chat_feedback(
    State(s): State<Shared>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    body: Result<Json<FeedbackBody>, JsonRejection>,
) -> Response {
    let body = match admit(&s, ip, body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let unknown = || json_error(StatusCode::NOT_FOUND, "找不到这个问题。");
    let Some(chat) = conversation(&jar).filter(|_| is_token(&body.key)) else {
        return unknown();
    };
    let store = s.store.clone();
    let c = chat.clone();
    let outcome =
        tokio::task::spawn_blocking(move || store.feedback(QuestionRef::Key(&body.key), CHANNEL, &c, body.helpful))
            .await;
    let html = match outcome {
        Ok(Ok(Feedback::Recorded(qid, Some(q)))) => {
            let guesses = json!([{ "id": q.entry }]).to_string();
            let ticket = open_ticket(&s, &chat, &q.question, TicketReason::NotHelpful, guesses, Some(qid)).await;
            let lines = esc(&crate::reply::hotline_lines(&s.assistant.config().office)).replace('\n', "<br>");
            format!(
                "<p>抱歉没能帮上忙。您可以联系人工：<br>{lines}</p>{}{}",
                duty_html(&s),
                ticket.map(|t| ticket_html(&t)).unwrap_or_default()
            )
        }
        Ok(Ok(Feedback::Recorded(_, None))) => "<p>感谢您的反馈！</p>".to_string(),
        Ok(Ok(Feedback::AlreadyRecorded)) => "<p>已经收到您的反馈了，谢谢。</p>".to_string(),
        Ok(Ok(Feedback::Unknown)) => return unknown(),
        other => {
            tracing::error!(result = ?other.map(|r| r.map_err(|e| format!("{e:#}"))), "could not record web feedback");
            return json_error(StatusCode::SERVICE_UNAVAILABLE, "暂时无法记录，请稍后再试。");
        }
    };
    Json(json!({ "html": html })).into_response()
}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

/// `GET /ticket/T000012?key=…`: the person's view of their ticket; the answer once an operator replied.
async fn ticket_page(State(s): State<Shared>, Path(number): Path<String>, Query(q): Query<KeyQuery>) -> Response {
    let Some(id) = parse_ticket_number(&number) else {
        return not_found("没有这个工单。");
    };
    let store = s.store.clone();
    let Ok(Ok(Some(t))) = tokio::task::spawn_blocking(move || store.ticket(id)).await else {
        return not_found("没有这个工单。");
    };
    // Compare in constant time; a wrong key looks exactly like a missing ticket.
    let given = q.key.unwrap_or_default();
    let same = given.len() == t.access_key.len()
        && !t.access_key.is_empty()
        && given
            .bytes()
            .zip(t.access_key.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return not_found("没有这个工单。");
    }
    let body = match &t.answer {
        Some(answer) => {
            if t.channel == CHANNEL && t.relayed_at.is_none() {
                let store = s.store.clone();
                let _ = tokio::task::spawn_blocking(move || store.mark_relayed(t.id)).await;
            }
            format!("<h2>工作人员的答复</h2><p>{}</p>", esc(answer).replace('\n', "<br>"))
        }
        None if t.state == "closed" => "<p>这个工单已关闭。</p>".to_string(),
        None => format!(
            "<p>工作人员还在处理，请稍后再来查看。</p><p>{}</p>",
            esc(&crate::reply::hotline_lines(&s.assistant.config().office)).replace('\n', "<br>")
        ),
    };
    let html = format!(
        "<header><h1>工单 {}</h1><nav><a href=\"/\">继续提问</a></nav></header><main><div class=\"msg\"><p>您的问题：{}</p><p>登记时间：{}</p>{body}</div></main>",
        t.number(),
        esc(&t.question),
        esc(&t.opened_at.get(..16).unwrap_or(&t.opened_at).replace('T', " "))
    );
    Html(page(&format!("工单 {}", t.number()), &html, false)).into_response()
}

async fn browse(State(s): State<Shared>) -> Html<String> {
    let items: String = Kind::ALL
        .iter()
        .map(|k| {
            format!(
                "<li><a href=\"/browse/{}\">{}</a>（{} 条）</li>",
                k.as_str(),
                k.label(),
                s.assistant.topics(*k).len()
            )
        })
        .collect();
    Html(page(
        "按类别浏览",
        &format!("<header><h1>按类别浏览</h1><nav><a href=\"/\">提问</a></nav></header><main><ul>{items}</ul></main>"),
        false,
    ))
}

async fn browse_kind(State(s): State<Shared>, Path(kind): Path<String>) -> Response {
    let Some(kind) = Kind::parse(&kind) else {
        return not_found("没有这个类别。");
    };
    let items: String = s
        .assistant
        .topics(kind)
        .iter()
        .map(|(id, title)| format!("<li><a href=\"/entry/{}\">{}</a></li>", esc(id), esc(title)))
        .collect();
    let html = format!(
        "<header><h1>{}</h1><nav><a href=\"/browse\">全部类别</a> <a href=\"/\">提问</a></nav></header><main><ul>{items}</ul></main>",
        kind.label()
    );
    Html(page(kind.label(), &html, false)).into_response()
}

async fn entry_page(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(reply) = s.assistant.answer_entry(&id) else {
        return not_found("没有这一条，或它已经下线。");
    };
    let Body::Answer(e) = &reply.body else {
        return not_found("没有这一条。");
    };
    let html = format!(
        "<header><h1>{}</h1><nav><a href=\"/browse/{}\">{}</a> <a href=\"/\">提问</a></nav></header><main><div class=\"msg\">{}</div></main>",
        esc(&e.title),
        e.kind.as_str(),
        e.kind.label(),
        entry_web_html(e, &s.assistant.config().office)
    );
    Html(page(&e.title, &html, false)).into_response()
}
