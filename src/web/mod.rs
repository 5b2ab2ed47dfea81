//! The web front (axum): the portal's chat page and kiosk, `POST /api/ask`, browsing by kind,
//! ticket pages, and the operators' console at `/ops`.
//!
//! Only this module imports axum (and the HTTP server under it). [`router`] builds the whole app
//! over the [`Desk`] (tested with `oneshot`, no server); [`serve`] runs
//! it on a listener until the shutdown future resolves, then gives requests in progress
//! `[web] shutdown_grace_seconds` and returns whatever the clients do. Pages are server-rendered
//! with every dynamic piece escaped, plus one small script; nothing is fetched from the internet.
//! Telegram's webhook posts arrive at `POST /telegram/webhook` in webhook mode ([`webhook`]).
//! Limits: request body size, question length (the assistant's own), per-IP request rate, login
//! attempts per IP; header, body and whole-request timeouts; connections at once, overall and per
//! IP; security headers on every response; bad JSON gets a 400 with a JSON error, never a stack
//! trace.
//!
//! The house: handlers take their inputs from extractors ([`extract`]: rate-limited JSON, the
//! logged-in operator, a form with its CSRF token), return [`error::WebError`] for everything
//! people are refused, and build HTML with maud (escaped by default). Security headers, request
//! tracing (one span per request: method, path without its query, status, latency), body limit
//! and timeout are tower-http layers.
//!
//! Each browser has its own conversation (`web:<random>`, from the HttpOnly `cb_chat` cookie),
//! never the address, so people behind one NAT or at the kiosk do not share one. Feedback names its
//! question by the question's random key and counts only from the conversation that asked; a pick
//! counts only for an entry offered to that conversation. Anything else looks like an unknown
//! question.

mod browse;
mod chat;
mod conversation;
mod error;
mod extract;
mod health;
mod kiosk;
mod ops;
mod pages;
mod server;
mod webhook;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::app::Assistant;
use crate::config::{Secret, TelegramMode};
use crate::desk::Desk;
use crate::ratelimit::Rate;

pub use error::WebError;
pub use server::serve;

/// The cookie that names the browser's conversation.
const CHAT_COOKIE: &str = "cb_chat";

/// Shared by every handler.
pub struct WebState {
    pub desk: Arc<Desk>,
    /// The kiosk's "most asked" row, counted at most once a minute.
    popular: kiosk::PopularRow,
    /// In webhook mode, the secret Telegram's posts must carry (`None`: no webhook route).
    webhook_secret: Option<Secret>,
}

impl WebState {
    fn assistant(&self) -> &Assistant {
        self.desk.assistant()
    }

    /// One public request (the chat, the API, the kiosk) from `ip`, counted in the store against
    /// `[web] requests_per_minute` (scope "web"), so that every process counts it.
    async fn admit(&self, ip: IpAddr) -> Rate {
        let limit = self.assistant().config().web.requests_per_minute;
        self.desk
            .rate_hit("web", ip.to_string(), limit, Duration::from_secs(60))
            .await
    }
}

type Shared = Arc<WebState>;

/// The whole web app over the desk.
pub fn router(desk: Arc<Desk>) -> Router {
    let config = desk.assistant().config();
    let web = config.web.clone();
    let webhook_secret = (config.telegram.mode == TelegramMode::Webhook)
        .then(|| config.webhook_secret())
        .flatten();
    let state = Arc::new(WebState {
        desk,
        popular: kiosk::PopularRow::default(),
        webhook_secret,
    });
    let app = Router::new()
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
        .merge(health::routes())
        .merge(kiosk::routes())
        .merge(webhook::routes())
        .fallback(|| async { WebError::NotFound("没有这个页面。") })
        .layer(DefaultBodyLimit::max(web.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(web.request_timeout_seconds),
        ));
    with_security_headers(app)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(record_response)
                .on_body_chunk(())
                .on_eos(())
                // Refusals are answers, and handlers log their own errors once.
                .on_failure(()),
        )
        .with_state(state)
}

/// The headers every response carries (replacing any a handler set).
const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cache-control", "no-store"),
];

fn with_security_headers(app: Router<Shared>) -> Router<Shared> {
    SECURITY_HEADERS.iter().fold(app, |app, &(name, value)| {
        app.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ))
    })
}

/// One span per request. The path only: ticket keys travel in query strings and are never logged.
fn request_span(req: &Request) -> Span {
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Status and latency go into the request's span (so they show on the event, not twice).
fn record_response(res: &Response, latency: Duration, span: &Span) {
    span.record("status", res.status().as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    tracing::debug!("response");
}

/// The client's address (unspecified when the app runs without a socket, as in router tests).
/// Behind a proxy named in `[web] trusted_proxies` (the load balancer), it is the address the
/// proxy saw, from `X-Forwarded-For` (see [`client_ip`]).
pub struct ClientIp(pub IpAddr);

impl axum::extract::FromRequestParts<Shared> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &Shared) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(a)| a.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(ClientIp(client_ip(
            peer,
            forwarded,
            &s.assistant().config().web.trusted_proxies,
        )))
    }
}

/// Who sent a request: the peer itself, unless the peer is a trusted proxy — then the rightmost
/// address of `X-Forwarded-For` that is not a trusted proxy (everything left of it could be
/// written by the client). A header that does not parse counts as no header.
pub fn client_ip<'a>(peer: IpAddr, forwarded: impl Iterator<Item = &'a str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Option<Vec<IpAddr>> = forwarded
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().parse().ok())
        .collect();
    hops.unwrap_or_default()
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::client_ip;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_forwarded_address_counts_only_behind_a_trusted_proxy() {
        let lb = [ip("127.0.0.1")];
        let one = |peer: &str, header: &[&str]| client_ip(ip(peer), header.iter().copied(), &lb);
        // Not from the proxy: the header is the client's own word and is ignored.
        assert_eq!(one("203.0.113.9", &["198.51.100.1"]), ip("203.0.113.9"));
        // From the proxy: the address the proxy appended (the rightmost), not the client's claims.
        assert_eq!(one("127.0.0.1", &["10.9.9.9, 198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(
            one("127.0.0.1", &["10.9.9.9", "198.51.100.1, 127.0.0.1"]),
            ip("198.51.100.1")
        );
        // No header, or one that does not parse: the proxy itself.
        assert_eq!(one("127.0.0.1", &[]), ip("127.0.0.1"));
        assert_eq!(one("127.0.0.1", &["x, 198.51.100.1"]), ip("127.0.0.1"));
        // Nobody trusted: always the peer.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["198.51.100.1"].into_iter(), &[]),
            ip("127.0.0.1")
        );
    }
}
