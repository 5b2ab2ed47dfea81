//! The web front (axum): the portal's chat page and kiosk, `POST /api/ask`, browsing by kind,
//! ticket pages, and the operators' console at `/ops`.
//!
//! Only this module imports axum (and the HTTP server under it). [`router`] builds the whole app
//! over the [`Desk`] (tested with `oneshot`, no server); [`serve`] runs
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

mod browse;
mod chat;
mod conversation;
mod ops;
mod pages;
mod server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::app::Assistant;
use crate::desk::Desk;
use crate::markup::escape_html as esc;
use crate::ratelimit::{Rate, RateLimiter};

pub use pages::page;
pub use server::serve;

/// The cookie that names the browser's conversation.
const CHAT_COOKIE: &str = "cb_chat";

/// Shared by every handler.
pub struct WebState {
    pub desk: Arc<Desk>,
    limiter: RateLimiter<IpAddr>,
    logins: RateLimiter<IpAddr>,
    sessions: ops::Sessions,
}

impl WebState {
    fn assistant(&self) -> &Assistant {
        self.desk.assistant()
    }
}

type Shared = Arc<WebState>;

/// The whole web app over the desk.
pub fn router(desk: Arc<Desk>) -> Router {
    let web = desk.assistant().config().web.clone();
    let state = Arc::new(WebState {
        desk,
        limiter: RateLimiter::new(web.requests_per_minute, Duration::from_secs(60)),
        logins: RateLimiter::new(web.login_attempts, Duration::from_secs(600)),
        sessions: ops::Sessions::default(),
    });
    Router::new()
        .route("/", get(conversation::chat_page))
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
        .route("/api/ask", post(chat::api_ask))
        .route("/chat/ask", post(chat::chat_ask))
        .route("/chat/pick", post(chat::chat_pick))
        .route("/chat/feedback", post(chat::chat_feedback))
        .route("/chat/reset", post(conversation::chat_reset))
        .route("/ticket/{number}", get(browse::ticket_page))
        .route("/browse", get(browse::browse))
        .route("/browse/{kind}", get(browse::browse_kind))
        .route("/entry/{id}", get(browse::entry_page))
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

/// A time as the office reads it ("2026-11-29 21:05", the office's time zone).
fn office_minute(s: &WebState, t: chrono::DateTime<chrono::Utc>) -> String {
    s.assistant().config().office_clock().format_minute(t)
}
