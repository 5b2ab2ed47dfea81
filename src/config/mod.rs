//! `bot.toml`: the one typed configuration.
//!
//! Every section is a struct with `deny_unknown_fields`, so a misspelt key is an error naming the
//! key. Defaults sit beside the structs. Paths are resolved relative to the file that names them.
//! The `[office]` table is the exception by design: each of its keys is a placeholder that
//! knowledge entries may use (`{{hotline}}`), so staff can add local details without code changes.
//!
//! Precedence: defaults < bot.toml < environment (`TELOXIDE_TOKEN`, `CUSTOMS_BOT_WEBHOOK_SECRET`) <
//! command-line flags.
//!
//! Everything is parsed once, at load: `[duty]` becomes a [`Schedule`] (see `schedule.rs`), numbers
//! are range-checked (`validate.rs`), so no caller re-parses or re-checks a value.

mod kiosk;
mod schedule;
mod telegram;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::duty::{OfficeClock, Schedule};

pub use kiosk::{KioskConfig, Tile};
pub use telegram::{TelegramConfig, TelegramMode, WEBHOOK_PATH, WEBHOOK_SECRET_ENV, valid_webhook_secret};

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub knowledge: KnowledgeConfig,
    pub index: IndexConfig,
    pub answer: AnswerConfig,
    /// Local details, each usable in answers as `{{key}}`.
    pub office: BTreeMap<String, String>,
    /// When people answer the hotline; without it, replies say hours are as published.
    pub duty: Option<Schedule>,
    pub telegram: TelegramConfig,
    pub tickets: TicketsConfig,
    pub operators: OperatorsConfig,
    pub web: WebConfig,
    pub conversation: ConversationConfig,
    /// The hall's touchscreen: home tiles, the "most asked" row, the address in its QR codes.
    pub kiosk: KioskConfig,
    /// The regression gate's replay of logged questions.
    pub governance: GovernanceConfig,
    /// Where this configuration was read from (not a key in the file).
    pub source: PathBuf,
}

/// `bot.toml` as written: [`Config`]'s sections, with `[duty]` still as text until
/// [`Config::parse`] turns it into a schedule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    knowledge: KnowledgeConfig,
    #[serde(default)]
    index: IndexConfig,
    #[serde(default)]
    answer: AnswerConfig,
    office: BTreeMap<String, String>,
    #[serde(default)]
    duty: Option<schedule::DutyTable>,
    #[serde(default)]
    telegram: TelegramConfig,
    #[serde(default)]
    tickets: TicketsConfig,
    #[serde(default)]
    operators: OperatorsConfig,
    #[serde(default)]
    web: WebConfig,
    #[serde(default)]
    conversation: ConversationConfig,
    #[serde(default)]
    kiosk: KioskConfig,
    #[serde(default)]
    governance: GovernanceConfig,
}

impl File {
    /// The typed configuration: `[duty]` checked and built into a schedule.
    fn into_config(self, source: &Path) -> Result<Config, String> {
        Ok(Config {
            knowledge: self.knowledge,
            index: self.index,
            answer: self.answer,
            office: self.office,
            duty: self.duty.map(schedule::DutyTable::into_schedule).transpose()?,
            telegram: self.telegram,
            tickets: self.tickets,
            operators: self.operators,
            web: self.web,
            conversation: self.conversation,
            kiosk: self.kiosk,
            governance: self.governance,
            source: source.to_path_buf(),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeConfig {
    /// The knowledge folder.
    #[serde(default = "default_knowledge_dir")]
    pub dir: PathBuf,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        Self {
            dir: default_knowledge_dir(),
        }
    }
}

fn default_knowledge_dir() -> PathBuf {
    PathBuf::from("knowledge")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    /// Where index generations are built and switched.
    #[serde(default = "default_index_dir")]
    pub dir: PathBuf,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            dir: default_index_dir(),
        }
    }
}

fn default_index_dir() -> PathBuf {
    PathBuf::from("index")
}

/// `[conversation]`: how long a conversation's topic and offered choices are remembered.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversationConfig {
    /// After this many minutes without a message, a conversation starts afresh.
    pub idle_minutes: u64,
}

impl Default for ConversationConfig {
    fn default() -> Self {
        Self { idle_minutes: 30 }
    }
}

/// `[governance]`: the regression gate of a reindex.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GovernanceConfig {
    /// A reindex replays the distinct questions asked on real channels in this many last days.
    pub replay_days: u32,
    /// At most this many of them (the most asked first).
    pub replay_limit: usize,
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        Self {
            replay_days: 30,
            replay_limit: 5000,
        }
    }
}

/// Thresholds for deciding between answer, clarify and hand-off. See `answer.rs` for the features;
/// the shipped values were tuned on tests/data/dev.tsv and tests/data/tune.tsv.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnswerConfig {
    /// Answer when the top entry covers at least this share of the question (IDF-weighted) …
    pub answer_coverage: f32,
    /// … and its score is at least this share of the question's ideal score …
    pub answer_norm: f32,
    /// … and it leads the second entry by at least this relative margin.
    pub answer_margin: f32,
    /// A long question may instead share at least this much specific vocabulary (sum of IDF) with
    /// the entry, while covering at least `matched_coverage`.
    pub answer_matched: f32,
    pub matched_coverage: f32,
    /// Never answer when the entry shares less specific vocabulary (sum of IDF) than this with the
    /// question: a question whose only known word is as common as 人 or 报关 says too little.
    pub min_matched: f32,
    /// Or the entry may dominate: coverage, margin and normalised score all at least these.
    pub dominant_coverage: f32,
    pub dominant_margin: f32,
    pub dominant_norm: f32,
    /// Never answer when one of the next two entries covers this much more of the question.
    pub rival_gap: f32,
    /// Offer choices when entries cover at least this share; below it, hand off.
    pub clarify_coverage: f32,
    /// … and score at least this share of the question's ideal score.
    pub clarify_norm: f32,
    /// At most this many choices.
    pub max_choices: usize,
    /// Rather than hand off, ask "did you mean …?" about the best entry alone (the first stage of a
    /// two-stage fallback) when it covers at least `guess_coverage`, scores at least `guess_norm`,
    /// leads the second by `guess_margin` and shares `guess_matched` of specific vocabulary. The
    /// person confirms it or is handed to a person as before.
    pub guess_coverage: f32,
    pub guess_norm: f32,
    pub guess_margin: f32,
    pub guess_matched: f32,
    /// Longer messages are not searched; the person is asked to shorten them.
    pub max_question_chars: usize,
}

impl Default for AnswerConfig {
    fn default() -> Self {
        Self {
            answer_coverage: 0.7,
            answer_norm: 0.3,
            answer_margin: 0.05,
            answer_matched: 10.0,
            matched_coverage: 0.3,
            min_matched: 1.0,
            dominant_coverage: 0.4,
            dominant_margin: 0.3,
            dominant_norm: 0.8,
            rival_gap: 0.2,
            clarify_coverage: 0.7,
            clarify_norm: 0.3,
            max_choices: 3,
            guess_coverage: 0.25,
            guess_norm: 0.5,
            guess_margin: 0.5,
            guess_matched: 4.5,
            max_question_chars: 300,
        }
    }
}

/// A secret string that never shows in logs or `Debug` output.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// The question log and ticket store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TicketsConfig {
    /// The SQLite database file (created on first use). With PostgreSQL, the folder of the spool.
    pub db: PathBuf,
    /// A PostgreSQL database (`postgres://user@host:5432/db`) instead of the SQLite file, for
    /// several processes sharing one store. `CUSTOMS_BOT_DATABASE_URL` takes precedence (the place
    /// for the password). Never logged with its password.
    pub url: Option<Secret>,
    /// Questions, tickets and feedback older than this many days are deleted.
    pub retention_days: u32,
    /// How long a reply may wait for its question to be logged while the database is locked;
    /// then the question goes to the spool beside the database (replayed later).
    pub log_timeout_ms: u64,
    /// How often a running `serve` moves spooled questions into the database.
    pub spool_replay_seconds: u64,
}

impl Default for TicketsConfig {
    fn default() -> Self {
        Self {
            db: PathBuf::from("data/customs-bot.sqlite"),
            url: None,
            retention_days: 365,
            log_timeout_ms: 2000,
            spool_replay_seconds: 10,
        }
    }
}

/// The environment variable naming the PostgreSQL store (it takes precedence over `[tickets] url`).
pub const DATABASE_URL_ENV: &str = "CUSTOMS_BOT_DATABASE_URL";

impl TicketsConfig {
    /// The PostgreSQL store's URL and where it was set (`CUSTOMS_BOT_DATABASE_URL` first, then
    /// `[tickets] url`); None for the SQLite file.
    pub fn database_url(&self) -> Option<(Secret, &'static str)> {
        std::env::var(DATABASE_URL_ENV)
            .ok()
            .filter(|u| !u.trim().is_empty())
            .map(|u| (Secret(u.trim().to_string()), DATABASE_URL_ENV))
            .or_else(|| {
                self.url
                    .clone()
                    .filter(|u| !u.0.trim().is_empty())
                    .map(|u| (u, "[tickets] url"))
            })
    }
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    let url = url.trim();
    ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.len() > scheme.len() && url[..scheme.len()].eq_ignore_ascii_case(scheme))
}

/// The people who answer tickets, and when tickets need their attention.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperatorsConfig {
    /// The operators' Telegram group: every new ticket is announced there.
    pub chat_id: Option<i64>,
    /// Telegram user ids allowed to use operator commands and see tickets.
    pub user_ids: Vec<u64>,
    /// An open ticket older than this many working hours is overdue (flagged, re-announced once).
    pub overdue_hours: f64,
    /// Choices offered and not picked within this many minutes become a ticket.
    pub clarify_timeout_minutes: u32,
}

impl Default for OperatorsConfig {
    fn default() -> Self {
        Self {
            chat_id: None,
            user_ids: Vec::new(),
            overdue_hours: 8.0,
            clarify_timeout_minutes: 30,
        }
    }
}

/// The web front: the portal's chat page, the kiosk, and the operators' console.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Serve the web front at all.
    pub enabled: bool,
    /// Address to listen on.
    pub listen: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests one IP address may make per minute to the public side.
    pub requests_per_minute: u32,
    /// Login attempts one IP address may make per 10 minutes.
    pub login_attempts: u32,
    /// The kiosk clears the conversation after this many idle seconds.
    pub kiosk_idle_seconds: u32,
    /// Mark cookies Secure (set when served over HTTPS).
    pub secure_cookies: bool,
    /// A client must send a request's headers within this many seconds (also the idle time a
    /// kept-alive connection may wait for its next request).
    pub header_timeout_seconds: u64,
    /// The longest pause while a request body is being sent, in seconds.
    pub body_timeout_seconds: u64,
    /// A whole request (body and answer) must finish within this many seconds.
    pub request_timeout_seconds: u64,
    /// Connections served at once; further clients wait in the listen queue.
    pub max_connections: usize,
    /// Connections one address may hold open at once; more are closed at once.
    pub max_connections_per_ip: usize,
    /// On SIGTERM, requests in progress get this many seconds to finish; then `serve` exits anyway.
    pub shutdown_grace_seconds: u64,
    /// Peer addresses that may read `/metrics` (the monitoring system's, or the local proxy's).
    pub metrics_allow: Vec<std::net::IpAddr>,
    /// The load balancers in front of this process (nginx): for requests from them, the client's
    /// address is read from `X-Forwarded-For` (per-IP limits then apply to people, not to the
    /// proxy), and their connections are not capped per address. Empty: nobody is trusted.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Operators of the console: name and argon2 password hash (`customs-bot hash-password`).
    pub operators: Vec<WebOperator>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebOperator {
    pub name: String,
    pub password_hash: String,
}

impl std::fmt::Debug for WebOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebOperator")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 16 * 1024,
            requests_per_minute: 30,
            login_attempts: 10,
            kiosk_idle_seconds: 180,
            secure_cookies: false,
            header_timeout_seconds: 10,
            body_timeout_seconds: 10,
            request_timeout_seconds: 30,
            max_connections: 512,
            max_connections_per_ip: 64,
            shutdown_grace_seconds: 10,
            metrics_allow: vec![
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ],
            trusted_proxies: Vec::new(),
            operators: Vec::new(),
        }
    }
}

/// Placeholders the handoff reply itself relies on.
pub const REQUIRED_OFFICE_KEYS: [&str; 3] = ["office_name", "hotline", "consult_phone"];

/// What went wrong reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The OS error is part of the message, not a `source`: printed once, not twice by `{:#}`.
    #[error("cannot read {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Parses configuration text. `source` names the file: errors start with it, and relative paths
    /// are resolved against its folder.
    pub fn parse(text: &str, source: &Path) -> Result<Self, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let invalid = |message| ConfigError::Invalid {
            path: source.to_path_buf(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            invalid(match line {
                Some(l) => format!("line {l}: {}", e.message().trim()),
                None => e.message().trim().to_string(),
            })
        })?;
        for key in REQUIRED_OFFICE_KEYS {
            if !file.office.contains_key(key) {
                return Err(invalid(format!("[office] needs `{key}`: the hand-off reply uses it")));
            }
        }
        let mut config = file.into_config(source).map_err(invalid)?;
        config.validate().map_err(invalid)?;
        config.kiosk.validate().map_err(invalid)?;
        let base = source.parent().unwrap_or(Path::new("."));
        for p in [&mut config.knowledge.dir, &mut config.index.dir, &mut config.tickets.db] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Self::parse(&text, path)
    }

    /// The bot token: `TELOXIDE_TOKEN` first, then `[telegram] token`.
    pub fn telegram_token(&self) -> Option<Secret> {
        std::env::var("TELOXIDE_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(Secret)
            .or_else(|| self.telegram.token.clone().filter(|t| !t.0.trim().is_empty()))
    }

    /// The webhook secret: `CUSTOMS_BOT_WEBHOOK_SECRET` first, then `[telegram] webhook_secret`.
    pub fn webhook_secret(&self) -> Option<Secret> {
        self.telegram
            .webhook_secret_with(std::env::var(WEBHOOK_SECRET_ENV).ok())
    }

    /// The office's clock: `[duty] utc_offset_hours`, or China's (UTC+8) without `[duty]`.
    pub fn office_clock(&self) -> OfficeClock {
        self.duty.as_ref().map_or(OfficeClock::CHINA, Schedule::clock)
    }

    /// The placeholder names entries may use.
    pub fn placeholder_names(&self) -> std::collections::BTreeSet<String> {
        self.office.keys().cloned().collect()
    }
}
