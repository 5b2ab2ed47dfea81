//! A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests of the real teloxide
//! dispatcher (see ../shared/reference/telegram.md for the shapes it follows).
//!
//! It queues updates for `getUpdates` (long polling held until an update arrives or the timeout
//! passes), records every call, checks what Telegram would reject (text over 4096 UTF-16 units,
//! HTML it could not parse, callback data over 64 bytes, a callback query answered twice), and can
//! inject one-off errors such as a 429 with `retry_after`.
//!
//! It records `setWebhook` / `deleteWebhook` (and answers `getWebhookInfo` and, while a webhook is
//! set, `getUpdates` as Telegram does), and in webhook delivery mode ([`FakeTelegram::deliver_to`],
//! `fake_telegram/webhook.rs`) posts the queued updates to the bot's webhook instead.

mod webhook;

pub use webhook::Delivery;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::any;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const BOT_ID: i64 = 7_000_000_001;
pub const BOT_USERNAME: &str = "customs_test_bot";

/// One call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub at: Instant,
    /// What the `on_send` hook returned when this call arrived (sendMessage only).
    pub hook: Option<i64>,
    /// The id of the message a successful sendMessage created.
    pub message_id: Option<i64>,
}

type Hook = Box<dyn Fn() -> i64 + Send + Sync>;

#[derive(Default)]
struct Inner {
    updates: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    calls: Vec<Call>,
    fail_next: HashMap<String, VecDeque<(u16, Value)>>,
    answered_queries: HashSet<String>,
    errors: Vec<String>,
    /// The last setWebhook call's parameters, until deleteWebhook.
    webhook: Option<Value>,
    /// Webhook delivery mode: where updates are posted instead of being served to getUpdates.
    deliver: Option<webhook::Deliverer>,
    /// Every post of an update to a webhook target, in order.
    deliveries: Vec<Delivery>,
    /// Every update queued, by id (to send one again).
    queued: HashMap<i64, Value>,
    /// The next sendMessage to a chat is answered only after this long.
    hold_next_send: HashMap<i64, Duration>,
    /// The next sendMessage to a chat is never answered nor delivered (see `lose_next_send`).
    lose_next_send: HashSet<i64>,
    /// The sendMessage calls lost so.
    lost: Vec<Value>,
}

#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Mutex<Inner>>,
    updates_ready: Arc<Notify>,
    hook: Arc<Mutex<Option<Hook>>>,
    pub url: String,
}

impl FakeTelegram {
    /// Starts the server on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeTelegram {
            inner: Arc::new(Mutex::new(Inner {
                next_update_id: 1,
                next_message_id: 1,
                ..Inner::default()
            })),
            updates_ready: Arc::new(Notify::new()),
            hook: Arc::new(Mutex::new(None)),
            url,
        };
        let app = Router::new()
            .route("/{token}/{method}", any(handle))
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        fake
    }

    /// Called when a sendMessage arrives; its value is recorded with the call.
    pub fn on_send(&self, hook: impl Fn() -> i64 + Send + Sync + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(hook));
    }

    fn push(&self, make: impl FnOnce(i64) -> Value) {
        {
            let mut inner = self.inner.lock().unwrap();
            let id = inner.next_update_id;
            inner.next_update_id += 1;
            let update = make(id);
            inner.queued.insert(id, update.clone());
            inner.updates.push_back(update);
        }
        self.updates_ready.notify_waiters();
    }

    fn chat(chat: i64, kind: &str) -> Value {
        if kind == "private" {
            json!({"id": chat, "type": "private", "first_name": "张三"})
        } else {
            json!({"id": chat, "type": kind, "title": "报关群"})
        }
    }

    fn user(id: i64) -> Value {
        json!({"id": id, "is_bot": false, "first_name": "张三", "language_code": "zh-hans"})
    }

    /// A text message from user `chat` in a private chat.
    pub fn send_text(&self, chat: i64, text: &str) {
        self.send_text_in(chat, chat, "private", text, None);
    }

    /// A text message in any chat; `reply_to_bot` makes it a reply to a bot message.
    pub fn send_text_in(&self, chat: i64, user: i64, kind: &str, text: &str, reply_to_bot: Option<i64>) {
        let text = text.to_string();
        let kind = kind.to_string();
        self.push(move |id| {
            let mut message = json!({
                "message_id": 10_000 + id, "date": 1_700_000_000,
                "chat": Self::chat(chat, &kind), "from": Self::user(user), "text": text,
            });
            if text.starts_with('/') {
                let len = text.split_whitespace().next().unwrap().encode_utf16().count();
                message["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
            }
            if let Some(mid) = reply_to_bot {
                message["reply_to_message"] = json!({
                    "message_id": mid, "date": 1_700_000_000, "chat": Self::chat(chat, &kind),
                    "from": {"id": BOT_ID, "is_bot": true, "first_name": "海关助手", "username": BOT_USERNAME},
                    "text": "…"
                });
            }
            json!({"update_id": id, "message": message})
        });
    }

    /// A sticker.
    pub fn send_sticker(&self, chat: i64) {
        self.push(|id| {
            json!({"update_id": id, "message": {
                "message_id": 10_000 + id, "date": 1_700_000_000, "chat": Self::chat(chat, "private"), "from": Self::user(chat),
                "sticker": {"file_id": "CAAC", "file_unique_id": "AgAD", "type": "regular", "width": 512, "height": 512,
                            "is_animated": false, "is_video": false, "emoji": "😀"}
            }})
        });
    }

    /// An edited text message.
    pub fn edit_text(&self, chat: i64, text: &str) {
        let text = text.to_string();
        self.push(move |id| {
            json!({"update_id": id, "edited_message": {
                "message_id": 9_999, "date": 1_700_000_000, "edit_date": 1_700_000_100,
                "chat": Self::chat(chat, "private"), "from": Self::user(chat), "text": text
            }})
        });
    }

    /// A press of an inline button with `data` under bot message `message_id`.
    pub fn press(&self, chat: i64, message_id: i64, data: &str) {
        let data = data.to_string();
        self.push(move |id| {
            json!({"update_id": id, "callback_query": {
                "id": format!("cbq-{id}"), "chat_instance": format!("ci-{chat}"), "data": data, "from": Self::user(chat),
                "message": {"message_id": message_id, "date": 1_700_000_000, "chat": Self::chat(chat, "private"),
                            "from": {"id": BOT_ID, "is_bot": true, "first_name": "海关助手", "username": BOT_USERNAME},
                            "text": "…"}
            }})
        });
    }

    /// The next call of `method` fails with this HTTP status and body (once).
    pub fn fail_next(&self, method: &str, status: u16, body: Value) {
        self.inner
            .lock()
            .unwrap()
            .fail_next
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back((status, body));
    }

    /// The next sendMessage to `chat` is answered (and recorded) only after `delay`: a slow reply.
    pub fn hold_next_send(&self, chat: i64, delay: Duration) {
        self.inner.lock().unwrap().hold_next_send.insert(chat, delay);
    }

    /// The next sendMessage to `chat` is lost in flight: never answered and never delivered, as
    /// when the sending process dies before Telegram has taken the message. It shows in [`lost`](Self::lost),
    /// not in the calls.
    pub fn lose_next_send(&self, chat: i64) {
        self.inner.lock().unwrap().lose_next_send.insert(chat);
    }

    /// The bodies of the sendMessage calls lost so far.
    pub fn lost(&self) -> Vec<Value> {
        self.inner.lock().unwrap().lost.clone()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// Problems a real Telegram would have rejected (the test fails on any).
    pub fn errors(&self) -> Vec<String> {
        self.inner.lock().unwrap().errors.clone()
    }

    /// Successful sendMessage calls to `chat`.
    pub fn sent_to(&self, chat: i64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "sendmessage" && c.body["chat_id"] == json!(chat) && c.hook != Some(-1))
            .collect()
    }

    /// Waits until `pred` holds over the calls, or panics after `secs`.
    pub async fn wait_for(&self, secs: u64, what: &str, pred: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let calls = self.calls();
            if pred(&calls) {
                return calls;
            }
            if Instant::now() > deadline {
                let summary: Vec<String> = calls.iter().map(|c| format!("{} {}", c.method, c.body)).collect();
                panic!("timed out waiting for {what}; calls so far:\n{}", summary.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `chat` has received at least `n` messages; returns them.
    pub async fn wait_sent(&self, chat: i64, n: usize) -> Vec<Call> {
        self.wait_for(20, &format!("{n} message(s) to chat {chat}"), |calls| {
            calls
                .iter()
                .filter(|c| c.method == "sendmessage" && c.body["chat_id"] == json!(chat) && c.hook != Some(-1))
                .count()
                >= n
        })
        .await;
        self.sent_to(chat)
    }
}

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn bad(fake: &FakeTelegram, description: &str) -> Response {
    fake.inner.lock().unwrap().errors.push(description.to_string());
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"ok": false, "error_code": 400, "description": description})),
    )
        .into_response()
}

/// A cheap check that Telegram's HTML parser would accept the text: only its tags, balanced,
/// no stray `<` or `&`.
pub fn html_problem(text: &str) -> Option<String> {
    let allowed = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "blockquote",
    ];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['<', '&']) {
        let tail = &rest[i..];
        if tail.starts_with('&') {
            let end = tail.find(';')?;
            let entity = &tail[1..end];
            if !matches!(entity, "lt" | "gt" | "amp" | "quot") && !entity.starts_with('#') {
                return Some(format!("unknown entity &{entity};"));
            }
            rest = &tail[end + 1..];
            continue;
        }
        let Some(end) = tail.find('>') else {
            return Some("unclosed <".into());
        };
        let tag = &tail[1..end];
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name) {
                return Some(format!("unbalanced </{name}>"));
            }
        } else {
            let name = tag.split_whitespace().next().unwrap_or("");
            if !allowed.contains(&name) {
                return Some(format!("unsupported tag <{name}>"));
            }
            stack.push(name.to_string());
        }
        rest = &tail[end + 1..];
    }
    if stack.is_empty() {
        None
    } else {
        Some(format!("unclosed <{}>", stack.join(",")))
    }
}

async fn handle(
    State(fake): State<FakeTelegram>,
    Path((_token, method)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let method = method.to_ascii_lowercase();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let body: Value = match content_type.split_once("boundary=") {
        // setWebhook comes as a form (it may carry a certificate).
        Some((kind, boundary)) if kind.starts_with("multipart/form-data") => webhook::form_fields(&body, boundary),
        _ => serde_json::from_slice(&body).unwrap_or(json!({})),
    };
    let injected = fake
        .inner
        .lock()
        .unwrap()
        .fail_next
        .get_mut(&method)
        .and_then(|q| q.pop_front());
    if let Some((status, reply)) = injected {
        fake.inner.lock().unwrap().calls.push(Call {
            method,
            body,
            at: Instant::now(),
            hook: Some(-1),
            message_id: None,
        });
        return (StatusCode::from_u16(status).unwrap(), Json(reply)).into_response();
    }
    let held = (method == "sendmessage")
        .then(|| body["chat_id"].as_i64())
        .flatten()
        .and_then(|chat| fake.inner.lock().unwrap().hold_next_send.remove(&chat));
    if let Some(delay) = held {
        tokio::time::sleep(delay).await;
    }
    let lost = (method == "sendmessage")
        .then(|| body["chat_id"].as_i64())
        .flatten()
        .is_some_and(|chat| fake.inner.lock().unwrap().lose_next_send.remove(&chat));
    if lost {
        fake.inner.lock().unwrap().lost.push(body);
        return std::future::pending().await;
    }
    let hook = if method == "sendmessage" {
        fake.hook.lock().unwrap().as_ref().map(|h| h())
    } else {
        None
    };
    if method != "getupdates" && method != "sendmessage" {
        fake.inner.lock().unwrap().calls.push(Call {
            method: method.clone(),
            body: body.clone(),
            at: Instant::now(),
            hook,
            message_id: None,
        });
    }
    match method.as_str() {
        "getme" => ok(
            json!({"id": BOT_ID, "is_bot": true, "first_name": "海关助手", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false}),
        ),
        "getwebhookinfo" => {
            let url = fake.inner.lock().unwrap().webhook.as_ref().map(|w| w["url"].clone());
            ok(json!({"url": url.unwrap_or(json!("")), "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "setwebhook" => {
            if !body["url"].as_str().is_some_and(|u| u.starts_with("http")) {
                return bad(&fake, "Bad Request: bad webhook: an HTTP URL must be provided for webhook");
            }
            fake.inner.lock().unwrap().webhook = Some(body.clone());
            ok(json!(true))
        }
        "deletewebhook" => {
            fake.inner.lock().unwrap().webhook = None;
            ok(json!(true))
        }
        "getupdates" if fake.inner.lock().unwrap().webhook.is_some() => (
            StatusCode::CONFLICT,
            Json(json!({"ok": false, "error_code": 409,
                "description": "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"})),
        )
            .into_response(),
        "getupdates" => {
            fake.inner.lock().unwrap().calls.push(Call {
                method: method.clone(),
                body: body.clone(),
                at: Instant::now(),
                hook: None,
                message_id: None,
            });
            let offset = body["offset"].as_i64().unwrap_or(0);
            let timeout = body["timeout"].as_u64().unwrap_or(0);
            let limit = body["limit"].as_u64().unwrap_or(100) as usize;
            let deadline = Instant::now() + Duration::from_secs(timeout);
            loop {
                let notified = fake.updates_ready.notified();
                {
                    let mut inner = fake.inner.lock().unwrap();
                    while inner
                        .updates
                        .front()
                        .is_some_and(|u| u["update_id"].as_i64().unwrap() < offset)
                    {
                        inner.updates.pop_front();
                    }
                    if !inner.updates.is_empty() || timeout == 0 || Instant::now() >= deadline {
                        let batch: Vec<Value> = inner.updates.iter().take(limit).cloned().collect();
                        return ok(Value::Array(batch));
                    }
                }
                let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), notified).await;
            }
        }
        "sendmessage" | "editmessagetext" => {
            let text = body["text"].as_str().unwrap_or("").to_string();
            let problem = if text.is_empty() {
                Some("Bad Request: message text is empty".to_string())
            } else if text.encode_utf16().count() > 4096 {
                Some("Bad Request: message is too long".to_string())
            } else if body["parse_mode"] == "HTML" && html_problem(&text).is_some() {
                Some(format!(
                    "Bad Request: can't parse entities: {}",
                    html_problem(&text).unwrap()
                ))
            } else if body["reply_markup"]["inline_keyboard"].as_array().is_some_and(|rows| {
                rows.iter().flat_map(|r| r.as_array().unwrap()).any(|b| {
                    let data = b["callback_data"].as_str().unwrap_or("");
                    data.is_empty() || data.len() > 64
                })
            }) {
                Some("Bad Request: BUTTON_DATA_INVALID".to_string())
            } else {
                None
            };
            let id = {
                let mut inner = fake.inner.lock().unwrap();
                let id = if problem.is_none() {
                    inner.next_message_id += 1;
                    Some(inner.next_message_id)
                } else {
                    None
                };
                if method == "sendmessage" {
                    inner.calls.push(Call {
                        method: method.clone(),
                        body: body.clone(),
                        at: Instant::now(),
                        hook,
                        message_id: id,
                    });
                }
                id
            };
            if let Some(p) = problem {
                return bad(&fake, &p);
            }
            ok(json!({"message_id": id.unwrap(), "date": 1_700_000_000,
                "chat": {"id": body["chat_id"], "type": "private", "first_name": "用户"},
                "from": {"id": BOT_ID, "is_bot": true, "first_name": "海关助手", "username": BOT_USERNAME},
                "text": text}))
        }
        "answercallbackquery" => {
            let id = body["callback_query_id"].as_str().unwrap_or("").to_string();
            if !fake.inner.lock().unwrap().answered_queries.insert(id) {
                return bad(
                    &fake,
                    "Bad Request: query is too old and response timeout expired or query id is invalid",
                );
            }
            ok(json!(true))
        }
        _ => ok(json!(true)),
    }
}
