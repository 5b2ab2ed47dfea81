//! The extractors that admit a request, so handlers start with what they need instead of a
//! `match` on the way in: [`Admitted`] (a public JSON request within its address's rate limit),
//! [`Operator`] (the logged-in operator, from the session cookie) and [`CsrfForm`] (a console form
//! post from a logged-in operator, with that session's CSRF token). Each refuses with a
//! [`WebError`], rendered as today's JSON error, login redirect or 403 page.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ops::SESSION_COOKIE;
use super::{ClientIp, Shared, WebError};
use crate::ratelimit::Rate;

/// The body of a public JSON request (`/api/ask`, `/chat/…`), admitted within the address's
/// rate limit (checked before the body is read).
pub struct Admitted<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<Shared> for Admitted<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, s: &Shared) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(&mut parts, s).await;
        if let Rate::Limited(_) = s.admit(ip).await {
            return Err(WebError::json(
                StatusCode::TOO_MANY_REQUESTS,
                "提问太频繁了，请稍等一分钟再试。",
            ));
        }
        match Json::<T>::from_request(Request::from_parts(parts, body), s).await {
            Ok(Json(body)) => Ok(Self(body)),
            Err(e) => Err(bad_json(e)),
        }
    }
}

fn bad_json(e: JsonRejection) -> WebError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => WebError::json(StatusCode::PAYLOAD_TOO_LARGE, "请求太大了。"),
        // The body could not be read: sent too slowly (the body timeout) or cut off.
        _ if matches!(e, JsonRejection::BytesRejection(_)) => {
            WebError::json(StatusCode::REQUEST_TIMEOUT, "请求没有按时发完，请重试。")
        }
        _ => WebError::Json(
            StatusCode::BAD_REQUEST,
            format!("请求不是有效的 JSON：{}", e.body_text()),
        ),
    }
}

/// The logged-in operator: a live session named by the `cb_session` cookie. Without one, the
/// request goes to the login page.
pub struct Operator {
    pub name: String,
    /// The session's CSRF token, written into every form of the console.
    pub csrf: String,
}

impl FromRequestParts<Shared> for Operator {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, WebError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar.get(SESSION_COOKIE).ok_or(WebError::Login)?;
        let session = super::ops::session(s, token.value()).await.ok_or(WebError::Login)?;
        Ok(Self {
            name: session.operator,
            csrf: session.csrf,
        })
    }
}

/// A console form (`application/x-www-form-urlencoded`) posted by a logged-in operator with the
/// session's `csrf` field; `T` holds the form's other fields. No session: the login page; a
/// wrong token: the 403 page, and the handler never runs.
pub struct CsrfForm<T> {
    pub who: Operator,
    pub form: T,
}

#[derive(Deserialize)]
struct WithCsrf<T> {
    /// Missing counts as wrong (403), not as a malformed form.
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

impl<T: DeserializeOwned + Send> FromRequest<Shared> for CsrfForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, s: &Shared) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        let who = Operator::from_request_parts(&mut parts, s).await?;
        let Form(form) = Form::<WithCsrf<T>>::from_request(Request::from_parts(parts, body), s)
            .await
            .map_err(|e| {
                tracing::debug!(error = %e.body_text(), "a console form that could not be read");
                WebError::BadForm
            })?;
        if form.csrf != who.csrf {
            tracing::warn!(name = ?who.name, "a form post without the right CSRF token");
            return Err(WebError::Forbidden("表单已过期，请刷新页面后重试。"));
        }
        Ok(Self { who, form: form.fields })
    }
}
