//! A web conversation is a browser: its random `cb_chat` cookie, stored and logged only as a digest.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use serde_json::json;

use super::{CHAT_COOKIE, Shared, WebState, pages};
use crate::tickets::random_key;

/// The browser's conversation (`web:<token>`) from its `cb_chat` cookie, if it has a valid one.
pub(super) fn conversation(jar: &CookieJar) -> Option<String> {
    jar.get(CHAT_COOKIE)
        .map(Cookie::value)
        .filter(|v| is_token(v))
        .map(chat_id)
}

/// The conversation id stored and logged for a session token: a digest, so that neither the
/// database nor the logs hold the cookie itself (whoever reads them cannot act as the browser).
pub(super) fn chat_id(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("web:{hex}")
}

/// A random key as made by `random_key` (32 lowercase hex digits).
pub(super) fn is_token(v: &str) -> bool {
    v.len() == 32 && v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Starts a new conversation: its id, and the jar that sets its cookie.
pub(super) fn new_conversation(s: &WebState, jar: CookieJar) -> (String, CookieJar) {
    let token = random_key();
    let cookie = Cookie::build((CHAT_COOKIE, token.clone()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(s.assistant().config().web.secure_cookies)
        .build();
    (chat_id(&token), jar.add(cookie))
}

/// The browser's conversation, started now when it has none.
pub(super) fn conversation_or_new(s: &WebState, jar: CookieJar) -> (String, CookieJar) {
    match conversation(&jar) {
        Some(chat) => (chat, jar),
        None => new_conversation(s, jar),
    }
}

#[derive(Deserialize)]
pub(super) struct KioskQuery {
    kiosk: Option<String>,
}

pub(super) async fn chat_page(State(s): State<Shared>, jar: CookieJar, Query(q): Query<KioskQuery>) -> Response {
    // The hall's touchscreen has a front of its own now.
    if q.kiosk.as_deref().is_some_and(|k| k == "1" || k == "true") {
        return Redirect::to("/kiosk").into_response();
    }
    let c = s.assistant().config();
    let office = |k: &str| c.office.get(k).cloned().unwrap_or_default();
    let (_, jar) = conversation_or_new(&s, jar);
    let html = pages::chat(&office("office_name"), &office("hotline"));
    (jar, html).into_response()
}

/// `POST /chat/reset`: a new conversation (a page that clears itself for the next person).
pub(super) async fn chat_reset(State(s): State<Shared>, jar: CookieJar) -> Response {
    let (_, jar) = new_conversation(&s, jar);
    (jar, Json(json!({}))).into_response()
}
