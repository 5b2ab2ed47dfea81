//! The console's sessions: login (argon2 hashes from `bot.toml [web] operators`, attempts
//! rate-limited per IP), logout, and the server-side sessions behind the `cb_session` cookie
//! (random 256-bit token; HttpOnly, SameSite=Strict, Path=/ops, Max-Age, Secure with
//! `secure_cookies`), built and read with axum-extra's `CookieJar`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::Markup;
use serde::Deserialize;

use super::views;
use crate::ratelimit::Rate;
use crate::tickets::random_key;
use crate::web::{ClientIp, Shared};

/// The cookie that names an operator's session.
pub const SESSION_COOKIE: &str = "cb_session";
const SESSION_HOURS: u64 = 8;

/// A logged-in operator.
#[derive(Clone)]
pub struct Session {
    pub name: String,
    pub csrf: String,
    expires: Instant,
}

/// Server-side sessions by token.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        map.get(token).cloned()
    }

    fn create(&self, name: &str) -> String {
        let token = format!("{}{}", random_key(), random_key());
        let session = Session {
            name: name.to_string(),
            csrf: random_key(),
            expires: Instant::now() + Duration::from_secs(SESSION_HOURS * 3600),
        };
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), session);
        token
    }

    fn remove(&self, token: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(token);
    }
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
    if let Rate::Limited(_) = s.logins.check(&ip) {
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
    let token = s.sessions.create(f.name.trim());
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
    if let Some(token) = jar.get(SESSION_COOKIE).map(Cookie::value)
        && s.sessions.get(token).is_some_and(|sess| sess.csrf == f.csrf)
    {
        s.sessions.remove(token);
    }
    // A removal (empty, Max-Age=0) of the cookie the browser sent.
    let jar = jar.remove(session_cookie(&s, String::new()));
    (jar, Redirect::to("/ops/login")).into_response()
}
