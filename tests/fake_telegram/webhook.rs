//! The fake Bot API's webhook delivery, as Telegram's own server and a load balancer in front of
//! several processes would deliver: each queued update is POSTed as JSON with the secret header to
//! the targets in turn (round robin); an update whose answer is not 200 within [`ACK_TIMEOUT`], or
//! whose connection fails, is sent to the next target, until one acknowledges it — or, after
//! [`GIVE_UP`], an error is recorded (the test fails on it). Updates of different chats are posted
//! at once; one chat's next update waits until its previous one is acknowledged (our reading of
//! how Telegram's Bot API server queues a chat's updates — not checked against its source; the
//! store orders a chat's updates by `update_id` only among those already kept, so a later update
//! kept before an earlier one arrives would be handled first).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::FakeTelegram;

/// How long a target has to answer a post before the update goes to the next one.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an update is re-sent before the fake gives up on it.
pub const GIVE_UP: Duration = Duration::from_secs(60);

/// One post of an update to a webhook target.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub update_id: i64,
    pub target: String,
    /// The HTTP status answered; None when the connection failed or the answer did not come in time.
    pub status: Option<u16>,
}

/// Where and how updates are delivered.
pub(super) struct Deliverer {
    targets: Vec<String>,
    secret: String,
    /// The target the next update starts at.
    next: usize,
    /// Chats with an update posted and not yet acknowledged.
    in_flight: HashSet<i64>,
}

/// The fields of a `multipart/form-data` body as a JSON object: each value parsed as JSON when it
/// is (`allowed_updates`), else as text.
pub(super) fn form_fields(body: &[u8], boundary: &str) -> Value {
    let text = String::from_utf8_lossy(body);
    let boundary = boundary.trim_matches('"');
    let mut fields = serde_json::Map::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head.split("name=\"").nth(1).and_then(|rest| rest.split('"').next()) else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        let parsed = serde_json::from_str::<Value>(value)
            .ok()
            .filter(|v| v.is_array() || v.is_object())
            .unwrap_or_else(|| Value::String(value.to_string()));
        fields.insert(name.to_string(), parsed);
    }
    Value::Object(fields)
}

/// The chat an update belongs to (Telegram's per-chat queue), 0 when none.
fn chat_of(update: &Value) -> i64 {
    let inner = update
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| *k != "update_id").map(|(_, v)| v));
    inner
        .and_then(|m| {
            m["chat"]["id"]
                .as_i64()
                .or_else(|| m["message"]["chat"]["id"].as_i64())
                .or_else(|| m["from"]["id"].as_i64())
        })
        .unwrap_or(0)
}

impl FakeTelegram {
    /// From now on, queued updates (those already queued and every later one) are posted to
    /// `targets` (full URLs of the bot's webhook route) with `secret` in
    /// `X-Telegram-Bot-Api-Secret-Token`, instead of being served to getUpdates.
    pub fn deliver_to(&self, targets: Vec<String>, secret: &str) {
        assert!(!targets.is_empty(), "at least one target");
        self.inner.lock().unwrap().deliver = Some(Deliverer {
            targets,
            secret: secret.to_string(),
            next: 0,
            in_flight: HashSet::new(),
        });
        let fake = self.clone();
        tokio::spawn(async move { fake.delivery_loop().await });
    }

    /// Queues update `update_id` (queued before) once more: a duplicate, as Telegram sends when it
    /// did not see an acknowledgement.
    pub fn resend(&self, update_id: i64) {
        {
            let mut inner = self.inner.lock().unwrap();
            let update = inner.queued[&update_id].clone();
            inner.updates.push_back(update);
        }
        self.updates_ready.notify_waiters();
    }

    /// Every post of an update to a webhook target so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.lock().unwrap().deliveries.clone()
    }

    /// The parameters of the webhook set by the bot (setWebhook), if one is set.
    pub fn webhook(&self) -> Option<Value> {
        self.inner.lock().unwrap().webhook.clone()
    }

    /// Takes every queued update whose chat has none in flight (the first of each chat, in
    /// order) and posts each in its own task.
    async fn delivery_loop(self) {
        let client = reqwest::Client::builder().timeout(ACK_TIMEOUT).build().unwrap();
        loop {
            let notified = self.updates_ready.notified();
            let ready = {
                let mut inner = self.inner.lock().unwrap();
                let inner = &mut *inner;
                let deliver = inner.deliver.as_mut().unwrap();
                let mut ready = Vec::new();
                let mut waiting = std::collections::VecDeque::new();
                let mut blocked = HashSet::new();
                while let Some(update) = inner.updates.pop_front() {
                    let chat = chat_of(&update);
                    if blocked.contains(&chat) || deliver.in_flight.contains(&chat) {
                        blocked.insert(chat);
                        waiting.push_back(update);
                        continue;
                    }
                    deliver.in_flight.insert(chat);
                    let start = deliver.next;
                    deliver.next = (deliver.next + 1) % deliver.targets.len();
                    ready.push((update, chat, start, deliver.targets.clone(), deliver.secret.clone()));
                }
                inner.updates = waiting;
                ready
            };
            for (update, chat, start, targets, secret) in ready {
                let (fake, client) = (self.clone(), client.clone());
                tokio::spawn(async move {
                    fake.post_until_acknowledged(&client, &update, start, &targets, &secret)
                        .await;
                    fake.inner
                        .lock()
                        .unwrap()
                        .deliver
                        .as_mut()
                        .unwrap()
                        .in_flight
                        .remove(&chat);
                    fake.updates_ready.notify_waiters();
                });
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), notified).await;
        }
    }

    async fn post_until_acknowledged(
        &self,
        client: &reqwest::Client,
        update: &Value,
        start: usize,
        targets: &[String],
        secret: &str,
    ) {
        let update_id = update["update_id"].as_i64().unwrap();
        let deadline = Instant::now() + GIVE_UP;
        for attempt in 0.. {
            let target = &targets[(start + attempt) % targets.len()];
            let status = client
                .post(target)
                .header("X-Telegram-Bot-Api-Secret-Token", secret)
                .json(update)
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16());
            self.inner.lock().unwrap().deliveries.push(Delivery {
                update_id,
                target: target.clone(),
                status,
            });
            if status == Some(200) {
                return;
            }
            if Instant::now() > deadline {
                self.inner.lock().unwrap().errors.push(format!(
                    "update {update_id} was not acknowledged by any webhook target within {} s",
                    GIVE_UP.as_secs()
                ));
                return;
            }
            if (attempt + 1) % targets.len() == 0 {
                // Every target refused it once: a pause before the next round.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
