//! `[telegram]`: the bot, its outgoing limits, and how updates arrive — long polling (the default)
//! or a webhook Telegram posts to on the web listener (`POST /telegram/webhook`), for several
//! processes behind a load balancer.

use serde::Deserialize;

use super::Secret;
use super::validate::in_range;

/// Where the web listener receives Telegram's webhook posts.
pub const WEBHOOK_PATH: &str = "/telegram/webhook";

/// The environment variable that holds the webhook secret (it takes precedence over the file).
pub const WEBHOOK_SECRET_ENV: &str = "CUSTOMS_BOT_WEBHOOK_SECRET";

/// How Telegram's updates reach the bot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    /// The bot asks Telegram for updates (one process).
    #[default]
    Polling,
    /// Telegram posts updates to `webhook_url`; any number of processes share them through the store.
    Webhook,
}

/// The Telegram front end.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// The bot token. `TELOXIDE_TOKEN` in the environment takes precedence.
    pub token: Option<Secret>,
    /// A self-hosted Bot API server (also how the tests run); default: Telegram's.
    pub api_url: Option<String>,
    /// Questions one chat may ask per minute before getting a polite notice.
    pub questions_per_minute: u32,
    /// Outgoing limits (teloxide Throttle): messages per second and per minute to one chat.
    pub messages_per_second_per_chat: u32,
    pub messages_per_minute_per_chat: u32,
    /// Messages per minute to one group.
    pub messages_per_minute_per_group: u32,
    /// Messages per second overall.
    pub messages_per_second: u32,
    /// Long polling (default) or webhook.
    pub mode: TelegramMode,
    /// The public HTTPS address Telegram posts to, ending in `/telegram/webhook` (webhook mode; a
    /// proxy in front may add a prefix, e.g. `https://host/bot/telegram/webhook`).
    pub webhook_url: Option<String>,
    /// What Telegram sends in `X-Telegram-Bot-Api-Secret-Token` (1–256 of A-Z a-z 0-9 _ -).
    /// `CUSTOMS_BOT_WEBHOOK_SECRET` in the environment takes precedence.
    pub webhook_secret: Option<Secret>,
    /// Tasks per process that handle the updates received.
    pub webhook_workers: u32,
    /// How long an update being handled is held by its process: after that (the process died),
    /// another process takes it.
    pub webhook_lease_seconds: u64,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            token: None,
            api_url: None,
            questions_per_minute: 10,
            messages_per_second_per_chat: 1,
            messages_per_minute_per_chat: 20,
            messages_per_minute_per_group: 20,
            messages_per_second: 30,
            mode: TelegramMode::Polling,
            webhook_url: None,
            webhook_secret: None,
            webhook_workers: 4,
            webhook_lease_seconds: 30,
        }
    }
}

/// Whether `secret` is one Telegram accepts as a `secret_token`.
pub fn valid_webhook_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl TelegramConfig {
    /// The webhook secret: `from_env` (the value of `CUSTOMS_BOT_WEBHOOK_SECRET`) when set and not
    /// empty, else `[telegram] webhook_secret`.
    pub fn webhook_secret_with(&self, from_env: Option<String>) -> Option<Secret> {
        from_env
            .filter(|s| !s.is_empty())
            .map(Secret)
            .or_else(|| self.webhook_secret.clone().filter(|s| !s.0.is_empty()))
    }

    /// Checks the numbers always, and in webhook mode the address, the secret (`from_env` first,
    /// as [`webhook_secret_with`](Self::webhook_secret_with)) and that the web listener is on.
    pub(super) fn validate(&self, web_enabled: bool, from_env: Option<String>) -> Result<(), String> {
        for (key, v) in [
            ("questions_per_minute", self.questions_per_minute),
            ("messages_per_second_per_chat", self.messages_per_second_per_chat),
            ("messages_per_minute_per_chat", self.messages_per_minute_per_chat),
            ("messages_per_minute_per_group", self.messages_per_minute_per_group),
            ("messages_per_second", self.messages_per_second),
        ] {
            in_range("telegram", key, v, 1.0, 1_000_000_000.0)?;
        }
        in_range("telegram", "webhook_workers", self.webhook_workers, 1.0, 256.0)?;
        in_range(
            "telegram",
            "webhook_lease_seconds",
            self.webhook_lease_seconds,
            5.0,
            3_600.0,
        )?;
        let written = self.webhook_secret.as_ref().filter(|s| !s.0.is_empty());
        if written.is_some_and(|s| !valid_webhook_secret(&s.0)) {
            // The value is not shown: it is a secret.
            return Err("[telegram] webhook_secret: must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -".to_string());
        }
        if self.mode != TelegramMode::Webhook {
            return Ok(());
        }
        let url = self.webhook_url.as_deref().ok_or(
            "[telegram] mode = \"webhook\" needs `webhook_url`: the public HTTPS address Telegram posts to, \
             ending in /telegram/webhook",
        )?;
        self.check_webhook_url(url)?;
        match self.webhook_secret_with(from_env) {
            None => {
                return Err(format!(
                    "[telegram] mode = \"webhook\" needs `webhook_secret` (or {WEBHOOK_SECRET_ENV} in the \
                     environment): 1 to 256 characters of A-Z, a-z, 0-9, _ and -"
                ));
            }
            Some(s) if !valid_webhook_secret(&s.0) => {
                return Err(format!(
                    "{WEBHOOK_SECRET_ENV}: must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -"
                ));
            }
            Some(_) => {}
        }
        if !web_enabled {
            return Err(
                "[telegram] mode = \"webhook\" needs `[web] enabled = true`: the webhook is received on the web \
                 listener"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// Telegram posts only to HTTPS; a self-hosted Bot API server (`api_url`) may post over plain
    /// HTTP (a local network, the tests).
    fn check_webhook_url(&self, url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("[telegram] webhook_url = {url:?}: {e}"))?;
        let https = parsed.scheme() == "https";
        if !(https || parsed.scheme() == "http" && self.api_url.is_some()) {
            return Err(format!(
                "[telegram] webhook_url = {url:?}: must start with https:// (Telegram posts only to HTTPS; \
                 plain http:// only with a self-hosted Bot API server, `api_url`)"
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty)
            || !parsed.path().ends_with(WEBHOOK_PATH)
            || parsed.query().is_some()
        {
            return Err(format!(
                "[telegram] webhook_url = {url:?}: must be the public address of this listener's \
                 {WEBHOOK_PATH}, without a query, e.g. https://bot.example.org{WEBHOOK_PATH}"
            ));
        }
        Ok(())
    }
}
