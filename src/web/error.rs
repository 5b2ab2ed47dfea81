//! One error type for the web front: what a handler refuses, and how each refusal looks to the
//! person. The chat's requests get a JSON `{"error": …}`, pages get a page; never an internal
//! error's text (handlers log that once, then return one of these).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde_json::json;

use super::pages::page;

#[derive(Debug)]
pub enum WebError {
    /// 404 page: no such page, ticket, kind or entry.
    NotFound(&'static str),
    /// A JSON request refused: its status and the sentence the chat page shows.
    Json(StatusCode, String),
    /// 403 page (the console): a stale form, an impossible choice.
    Forbidden(&'static str),
    /// 400 page: a form that is not the one the console sent.
    BadForm,
    /// No operator session: back to the login page.
    Login,
    /// A kiosk screen refused (unknown category or entry, too many taps, a form it did not send):
    /// its status and a calm sentence, on a kiosk page with the way home and to a person.
    Kiosk(StatusCode, &'static str),
}

impl WebError {
    /// A JSON refusal with a fixed sentence.
    pub fn json(status: StatusCode, message: &str) -> Self {
        Self::Json(status, message.to_string())
    }

    /// 503 as JSON: the store could not be reached (the cause is already logged).
    pub fn unavailable(message: &str) -> Self {
        Self::json(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound(message) => message_page(StatusCode::NOT_FOUND, "未找到", message, "/"),
            Self::Json(status, message) => (status, Json(json!({ "error": message }))).into_response(),
            Self::Forbidden(message) => message_page(StatusCode::FORBIDDEN, "拒绝", message, "/ops"),
            Self::BadForm => message_page(
                StatusCode::BAD_REQUEST,
                "拒绝",
                "表单内容不完整，请刷新页面后重试。",
                "/ops",
            ),
            Self::Login => Redirect::to("/ops/login").into_response(),
            Self::Kiosk(status, message) => {
                let body = html! {
                    main.k-main {
                        h2 { (message) }
                        p { a.k-btn href="/kiosk" { "返回首页" } }
                        p { a.k-btn href="/kiosk/person" { "找人工" } }
                    }
                };
                (status, page("提示", true, body)).into_response()
            }
        }
    }
}

fn message_page(status: StatusCode, title: &str, message: &str, back: &str) -> Response {
    let back_text = if back == "/" { "返回首页" } else { "返回" };
    let body = html! {
        main {
            p { (message) }
            p { a href=(back) { (back_text) } }
        }
    };
    (status, page(title, false, body)).into_response()
}
