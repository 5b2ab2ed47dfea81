//! The console's sessions: login (argon2 hashes from `bot.toml [web] operators`, attempts
//! rate-limited per IP in the store), logout, and the server-side sessions behind the `cb_session`
//! cookie (random 256-bit token; HttpOnly, SameSite=Strict, Path=/ops, Max-Age, Secure with
//! `secure_cookies`), built and read with axum-extra's `CookieJar`. Sessions live in the store,
//! which keeps only a SHA-256 of the token, so every process behind a load balancer knows them.

use std::time::Duration;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::Utc;
use maud::Markup;
use serde::Deserialize;

use super::views;
use crate::ratelimit::Rate;
use crate::tickets::{OperatorSession, random_key};
use crate::web::{ClientIp, Shared};

/// The cookie that names an operator's session.
pub const SESSION_COOKIE: &str = "cb_session";
const SESSION_HOURS: u64 = 8;
/// The window `[web] login_attempts` counts in, per address.
const LOGIN_WINDOW: Duration = Duration::from_secs(600);

/// The operator whose session `token` names, when it is live. Sessions are kept in the store (only
/// a SHA-256 of the token), so a session made by one process works on every other. A store that
/// cannot be read counts as no session (logged): the console asks to log in again.
pub(crate) async fn session(s: &Shared, token: &str) -> Option<OperatorSession> {
    let token = token.to_string();
    s.desk
        .store("read an operator's session", move |st| st.session(&token))
        .await
        .flatten()
}

/// Starts a session for operator `name`: a random 256-bit token (the cookie's value) and a CSRF
/// token, kept in the store for `SESSION_HOURS`. None when the store failed (logged).
async fn create_session(s: &Shared, name: &str) -> Option<String> {
    let token = format!("{}{}", random_key(), random_key());
    let session = OperatorSession {
        operator: name.to_string(),
        csrf: random_key(),
        expires: Utc::now() + chrono::Duration::hours(SESSION_HOURS as i64),
    };
    let kept = token.clone();
    s.desk
        .store("start an operator's session", move |st| {
            st.create_session(&kept, &session)
        })
        .await
        .map(|()| token)
}

/// The session cookie with its attributes (Secure with `[web] secure_cookies`).
fn session_cookie(s: &Shared, token: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/ops")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(s.assistant().config().web.secure_cookies)
        // Eight hours always fit `time::Duration`.
        .max_age(Duration::from_secs(SESSION_HOURS * 3600).try_into().unwrap_or_default())
        .build()
}

pub(super) async fn login_page() -> Markup {
    views::login_form("")
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    name: String,
    password: String,
}

/// A hash of nothing, verified when the name is unknown so both cases take the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$kuVgausCPrqhI/+LWrdk4g$8wYG0waglAaNOO7CjsFV3jbbn8Tw4ORzp2wRhqD5Thw";

pub(super) async fn login(
    State(s): State<Shared>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Response {
    let limit = s.assistant().config().web.login_attempts;
    if let Rate::Limited(_) = s.desk.rate_hit("login", ip.to_string(), limit, LOGIN_WINDOW).await {
        tracing::warn!(%ip, "too many login attempts");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            views::login_form("登录尝试过多，请十分钟后再试。"),
        )
            .into_response();
    }
    if !verified(&s, f.name.trim(), f.password).await {
        tracing::warn!(%ip, name = ?f.name, "failed login");
        return (StatusCode::UNAUTHORIZED, views::login_form("用户名或密码不对。")).into_response();
    }
    let Some(token) = create_session(&s, f.name.trim()).await else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            views::login_form("系统暂时无法登录，请稍后再试。"),
        )
            .into_response();
    };
    tracing::info!(name = ?f.name.trim(), "operator logged in");
    (jar.add(session_cookie(&s, token)), Redirect::to("/ops")).into_response()
}

/// Whether `password` is the operator `name`'s (argon2, on a blocking thread; the same work
/// whether or not the name exists).
async fn verified(s: &Shared, name: &str, password: String) -> bool {
    let operators = s.assistant().config().web.operators.clone();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        let hash = operators
            .iter()
            .find(|o| o.name == name)
            .map(|o| o.password_hash.clone());
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
        let verified =
            PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
        known && verified
    })
    .await
    .unwrap_or(false)
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    csrf: String,
}

/// Ends the session when the token matches, and always clears the cookie and goes to the login
/// page (so logging out never fails, and a forged post cannot end a session).
pub(super) async fn logout(State(s): State<Shared>, jar: CookieJar, Form(f): Form<CsrfOnly>) -> Response {
    if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string())
        && session(&s, &token).await.is_some_and(|sess| sess.csrf == f.csrf)
    {
        s.desk
            .store("end an operator's session", move |st| st.end_session(&token))
            .await;
    }
    // A removal (empty, Max-Age=0) of the cookie the browser sent.
    let jar = jar.remove(session_cookie(&s, String::new()));
    (jar, Redirect::to("/ops/login")).into_response()
}
