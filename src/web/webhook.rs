//! `POST /telegram/webhook`: Telegram's updates in webhook mode (`[telegram] mode = "webhook"`).
//!
//! The route only receives: it checks Telegram's secret header (in constant time; without the
//! right secret nothing is read or kept: 401), reads the update's `update_id` and chat, keeps it
//! through the desk (`Desk::receive_update`, once per `update_id`) and answers 200 only once it is
//! kept — a 500 makes Telegram send it again. The Telegram workers (`crate::telegram`) handle it
//! from the store, in any process. Outside webhook mode the route does not exist (404). It is not
//! rate-limited per address: Telegram posts from a few addresses only, and the secret admits it.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use subtle::ConstantTimeEq as _;

use super::{Shared, WebError};
use crate::config::WEBHOOK_PATH;
use crate::tickets::InboxUpdate;

/// The header Telegram sends the webhook's `secret_token` in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The smallest body limit for an update: one message of 4096 characters, escaped as JSON, with
/// the message it replies to can pass `[web] max_body_bytes`' default, and an update refused for
/// its size would be sent again forever. Only a post with the right secret is read at all.
const MIN_UPDATE_BYTES: usize = 1024 * 1024;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route(WEBHOOK_PATH, post(receive))
}

async fn receive(State(s): State<Shared>, headers: HeaderMap, body: Body) -> Response {
    let Some(secret) = &s.webhook_secret else {
        return WebError::NotFound("没有这个页面。").into_response();
    };
    let given = headers.get(SECRET_HEADER).map_or(&[][..], |v| v.as_bytes());
    if !bool::from(given.ct_eq(secret.0.as_bytes())) {
        tracing::warn!(
            secret_sent = !given.is_empty(),
            "a webhook post without the right secret; refused"
        );
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let limit = s.desk.assistant().config().web.max_body_bytes.max(MIN_UPDATE_BYTES);
    let bytes = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let too_large = std::error::Error::source(&e).is_some_and(|c| c.is::<http_body_util::LengthLimitError>());
            tracing::warn!(error = ?e.to_string(), "a webhook post whose body could not be read");
            return if too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            }
            .into_response();
        }
    };
    let Some(update) = read_update(&bytes) else {
        tracing::warn!(
            body = ?String::from_utf8_lossy(&bytes[..bytes.len().min(200)]),
            "a webhook post that is not a Telegram update; refused"
        );
        return StatusCode::BAD_REQUEST.into_response();
    };
    let (update_id, chat) = (update.update_id, update.chat);
    match s.desk.receive_update(update).await {
        Ok(fresh) => {
            tracing::debug!(update_id, chat, fresh, "webhook update kept");
            StatusCode::OK.into_response()
        }
        Err(e) => {
            tracing::error!(update_id, error = ?format!("{e:#}"), "a webhook update could not be kept; Telegram will send it again");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The update's id and chat from its JSON (kept whole as the payload); None when it is not an
/// object with an integer `update_id`.
fn read_update(bytes: &[u8]) -> Option<InboxUpdate> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let update_id = value.get("update_id")?.as_i64()?;
    Some(InboxUpdate {
        update_id,
        chat: chat_of(&value),
        payload: String::from_utf8(bytes.to_vec()).ok()?,
    })
}

/// The chat an update belongs to, for per-chat order: the chat of its message (a message, an edit,
/// a channel post, a member change), else of the message a button was under (a callback query),
/// else its sender (an inline query); 0 when it has none.
fn chat_of(update: &Value) -> i64 {
    let Some(object) = update.as_object() else {
        return 0;
    };
    let Some(inner) = object.iter().find(|(k, _)| *k != "update_id").map(|(_, v)| v) else {
        return 0;
    };
    let id = |v: Option<&Value>| v.and_then(|v| v.get("id")).and_then(Value::as_i64);
    id(inner.get("chat"))
        .or_else(|| id(inner.get("message").and_then(|m| m.get("chat"))))
        .or_else(|| id(inner.get("from")))
        .or_else(|| id(inner.get("user")))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(json: &str) -> i64 {
        read_update(json.as_bytes()).unwrap().chat
    }

    #[test]
    fn the_chat_of_each_kind_of_update() {
        assert_eq!(
            chat(r#"{"update_id":1,"message":{"chat":{"id":-100},"from":{"id":7}}}"#),
            -100
        );
        assert_eq!(chat(r#"{"update_id":1,"edited_message":{"chat":{"id":5}}}"#), 5);
        assert_eq!(
            chat(r#"{"update_id":1,"callback_query":{"from":{"id":7},"message":{"chat":{"id":9}}}}"#),
            9,
            "a button: the chat of its message"
        );
        assert_eq!(
            chat(r#"{"update_id":1,"callback_query":{"from":{"id":7}}}"#),
            7,
            "else the sender"
        );
        assert_eq!(
            chat(r#"{"update_id":1,"inline_query":{"from":{"id":8},"query":""}}"#),
            8
        );
        assert_eq!(
            chat(r#"{"update_id":1,"poll":{"id":"x"}}"#),
            0,
            "a poll's id is no chat"
        );
        assert_eq!(chat(r#"{"update_id":1}"#), 0);
    }

    #[test]
    fn what_is_not_an_update_is_refused() {
        for body in [
            "",
            "[]",
            "{}",
            r#"{"update_id":"1"}"#,
            r#"{"update_id":1.5}"#,
            "not json",
        ] {
            assert_eq!(read_update(body.as_bytes()), None, "{body}");
        }
        let u = read_update(br#"{"update_id":42,"message":{"chat":{"id":3},"text":"hi"}}"#).unwrap();
        assert_eq!((u.update_id, u.chat), (42, 3));
        assert!(u.payload.contains(r#""text":"hi""#), "the payload is kept whole");
    }
}
