//! `bot.toml`: the one typed configuration.
//!
//! Every section is a struct with `deny_unknown_fields`, so a misspelt key is an error naming the
//! key. Defaults sit beside the structs. Paths are resolved relative to the file that names them.
//! The `[office]` table is the exception by design: each of its keys is a placeholder that
//! knowledge entries may use (`{{hotline}}`), so staff can add local details without code changes.
//!
//! Precedence: defaults < bot.toml < environment (`TELOXIDE_TOKEN`) < command-line flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub knowledge: KnowledgeConfig,
    #[serde(default)]
    pub index: IndexConfig,
    #[serde(default)]
    pub answer: AnswerConfig,
    /// Local details, each usable in answers as `{{key}}`.
    pub office: BTreeMap<String, String>,
    /// When people answer the hotline; without it, replies say hours are as published.
    #[serde(default)]
    pub duty: Option<DutyConfig>,
    #[serde(default)]
    pub telegram: TelegramConfig,
    #[serde(default)]
    pub tickets: TicketsConfig,
    #[serde(default)]
    pub operators: OperatorsConfig,
    #[serde(default)]
    pub web: WebConfig,
    /// Where this configuration was read from (not a key in the file).
    #[serde(skip)]
    pub source: PathBuf,
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
            dominant_coverage: 0.4,
            dominant_margin: 0.3,
            dominant_norm: 0.8,
            rival_gap: 0.2,
            clarify_coverage: 0.7,
            clarify_norm: 0.3,
            max_choices: 3,
            max_question_chars: 300,
        }
    }
}

/// The hours people are on duty at the hotline (for "is someone there now?").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DutyConfig {
    /// Working weekdays: "mon" … "sun".
    pub weekdays: Vec<String>,
    /// Opening periods on a working day, "HH:MM" pairs, e.g. [["08:30", "12:00"], ["14:30", "18:00"]].
    pub periods: Vec<[String; 2]>,
    /// Public holidays (no duty), TOML dates.
    #[serde(default)]
    pub holidays: Vec<toml::value::Datetime>,
    /// Make-up working days that fall on a weekend, TOML dates.
    #[serde(default)]
    pub extra_workdays: Vec<toml::value::Datetime>,
    /// The office's offset from UTC in hours (China: 8).
    #[serde(default = "default_utc_offset")]
    pub utc_offset_hours: i32,
}

fn default_utc_offset() -> i32 {
    8
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
        }
    }
}

/// The question log and ticket store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TicketsConfig {
    /// The SQLite database file (created on first use).
    pub db: PathBuf,
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
            retention_days: 365,
            log_timeout_ms: 2000,
            spool_replay_seconds: 10,
        }
    }
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
    /// Parses configuration text. `base` is the folder relative paths are resolved against.
    pub fn parse(text: &str, source: &Path) -> Result<Self, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            ConfigError::Invalid {
                path: source.to_path_buf(),
                message: match line {
                    Some(l) => format!("line {l}: {}", e.message().trim()),
                    None => e.message().trim().to_string(),
                },
            }
        })?;
        for key in REQUIRED_OFFICE_KEYS {
            if !config.office.contains_key(key) {
                return Err(ConfigError::Invalid {
                    path: source.to_path_buf(),
                    message: format!("[office] needs `{key}`: the hand-off reply uses it"),
                });
            }
        }
        let base = source.parent().unwrap_or(Path::new("."));
        config.validate().map_err(|message| ConfigError::Invalid {
            path: source.to_path_buf(),
            message,
        })?;
        for p in [&mut config.knowledge.dir, &mut config.index.dir, &mut config.tickets.db] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        config.source = source.to_path_buf();
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

    /// The placeholder names entries may use.
    pub fn placeholder_names(&self) -> std::collections::BTreeSet<String> {
        self.office.keys().cloned().collect()
    }
}

/// A number that must be finite and within `lo..=hi`: the message names the key and the range.
fn in_range<T: Copy + std::fmt::Display + ToF64>(
    section: &str,
    key: &str,
    value: T,
    lo: f64,
    hi: f64,
) -> Result<(), String> {
    let number = value.to_f64();
    if number.is_finite() && (lo..=hi).contains(&number) {
        Ok(())
    } else {
        Err(format!(
            "[{section}] {key} = {value}: must be a number from {lo} to {hi}"
        ))
    }
}

/// The numbers configuration holds, compared as `f64` (and shown as written).
trait ToF64 {
    fn to_f64(self) -> f64;
}

impl ToF64 for f32 {
    fn to_f64(self) -> f64 {
        self.into()
    }
}

impl ToF64 for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}

impl ToF64 for u32 {
    fn to_f64(self) -> f64 {
        self.into()
    }
}

impl ToF64 for i32 {
    fn to_f64(self) -> f64 {
        self.into()
    }
}

impl ToF64 for u64 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl ToF64 for usize {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Config {
    /// Range checks for every number: a threshold of `nan`, a negative rate or a zero length would
    /// otherwise be accepted and silently change how the bot answers.
    fn validate(&self) -> Result<(), String> {
        self.answer.validate()?;
        if let Some(d) = &self.duty {
            d.validate()?;
        }
        let t = &self.telegram;
        for (key, v) in [
            ("questions_per_minute", t.questions_per_minute),
            ("messages_per_second_per_chat", t.messages_per_second_per_chat),
            ("messages_per_minute_per_chat", t.messages_per_minute_per_chat),
            ("messages_per_minute_per_group", t.messages_per_minute_per_group),
            ("messages_per_second", t.messages_per_second),
        ] {
            in_range("telegram", key, v, 1.0, 1_000_000_000.0)?;
        }
        let k = &self.tickets;
        in_range("tickets", "retention_days", k.retention_days, 1.0, 36_500.0)?;
        // A reply waits at most this long for the log: long enough to ride out a brief lock,
        // short enough that a person is not kept waiting (then the question is spooled).
        in_range("tickets", "log_timeout_ms", k.log_timeout_ms, 10.0, 60_000.0)?;
        in_range("tickets", "spool_replay_seconds", k.spool_replay_seconds, 1.0, 86_400.0)?;
        let o = &self.operators;
        in_range("operators", "overdue_hours", o.overdue_hours, 0.0, 10_000.0)?;
        in_range(
            "operators",
            "clarify_timeout_minutes",
            o.clarify_timeout_minutes,
            0.0,
            100_000.0,
        )?;
        let w = &self.web;
        in_range(
            "web",
            "max_body_bytes",
            w.max_body_bytes,
            1024.0,
            16.0 * 1024.0 * 1024.0,
        )?;
        in_range(
            "web",
            "requests_per_minute",
            w.requests_per_minute,
            1.0,
            1_000_000_000.0,
        )?;
        in_range("web", "login_attempts", w.login_attempts, 1.0, 1_000_000_000.0)?;
        in_range("web", "kiosk_idle_seconds", w.kiosk_idle_seconds, 10.0, 86_400.0)?;
        in_range("web", "header_timeout_seconds", w.header_timeout_seconds, 1.0, 3_600.0)?;
        in_range("web", "body_timeout_seconds", w.body_timeout_seconds, 1.0, 3_600.0)?;
        in_range(
            "web",
            "request_timeout_seconds",
            w.request_timeout_seconds,
            1.0,
            3_600.0,
        )?;
        in_range("web", "max_connections", w.max_connections, 1.0, 1_000_000.0)?;
        in_range(
            "web",
            "max_connections_per_ip",
            w.max_connections_per_ip,
            1.0,
            1_000_000.0,
        )?;
        in_range("web", "shutdown_grace_seconds", w.shutdown_grace_seconds, 0.0, 3_600.0)?;
        Ok(())
    }
}

impl AnswerConfig {
    fn validate(&self) -> Result<(), String> {
        for (key, v) in [
            ("answer_coverage", self.answer_coverage),
            ("answer_norm", self.answer_norm),
            ("answer_margin", self.answer_margin),
            ("dominant_margin", self.dominant_margin),
            ("matched_coverage", self.matched_coverage),
            ("dominant_coverage", self.dominant_coverage),
            ("dominant_norm", self.dominant_norm),
            ("rival_gap", self.rival_gap),
            ("clarify_coverage", self.clarify_coverage),
            ("clarify_norm", self.clarify_norm),
        ] {
            in_range("answer", key, v, 0.0, 1.0)?;
        }
        // The matched vocabulary is a sum of IDF values, not a share.
        in_range("answer", "answer_matched", self.answer_matched, 0.0, 1_000.0)?;
        in_range("answer", "max_choices", self.max_choices, 1.0, 10.0)?;
        in_range("answer", "max_question_chars", self.max_question_chars, 10.0, 100_000.0)?;
        Ok(())
    }
}

impl DutyConfig {
    fn validate(&self) -> Result<(), String> {
        in_range("duty", "utc_offset_hours", self.utc_offset_hours, -12.0, 14.0)?;
        for d in &self.weekdays {
            if crate::duty::weekday(d).is_none() {
                return Err(format!(
                    "[duty] weekdays: `{d}` is not one of mon, tue, wed, thu, fri, sat, sun"
                ));
            }
        }
        for [a, b] in &self.periods {
            match (crate::duty::clock(a), crate::duty::clock(b)) {
                (Some(x), Some(y)) if x < y => {}
                _ => {
                    return Err(format!(
                        "[duty] periods: [\"{a}\", \"{b}\"] must be two times HH:MM, the first before the second"
                    ));
                }
            }
        }
        for d in self.holidays.iter().chain(&self.extra_workdays) {
            if d.date.is_none() || d.time.is_some() {
                return Err(format!("[duty] `{d}` must be a date like 2026-10-01"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[office]\noffice_name = \"X\"\nhotline = \"12360\"\nconsult_phone = \"-\"\n";

    #[test]
    fn minimal_config_gets_defaults_and_relative_paths() {
        let c = Config::parse(MINIMAL, Path::new("/srv/bot/bot.toml")).unwrap();
        assert_eq!(c.knowledge.dir, Path::new("/srv/bot/knowledge"));
        assert_eq!(c.index.dir, Path::new("/srv/bot/index"));
        assert_eq!(c.answer, AnswerConfig::default());
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = format!("{MINIMAL}[answer]\nanswer_coverag = 0.5\n");
        let e = Config::parse(&text, Path::new("bot.toml")).unwrap_err().to_string();
        assert!(e.contains("answer_coverag"), "{e}");
        assert!(e.starts_with("bot.toml: line 6"), "{e}");
        let e = Config::parse(&format!("colour = 1\n{MINIMAL}"), Path::new("bot.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn office_needs_the_handoff_details() {
        let e = Config::parse("[office]\nhotline = \"12360\"\n", Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "b.toml: [office] needs `office_name`: the hand-off reply uses it");
    }

    #[test]
    fn token_is_never_shown() {
        let text = format!("{MINIMAL}[telegram]\ntoken = \"123:SECRET\"\n");
        let c = Config::parse(&text, Path::new("b.toml")).unwrap();
        assert!(!format!("{c:?}").contains("SECRET"));
    }

    #[test]
    fn bad_duty_hours_are_explained() {
        let text = format!("{MINIMAL}[duty]\nweekdays = [\"mon\", \"funday\"]\nperiods = [[\"08:30\", \"17:30\"]]\n");
        let e = Config::parse(&text, Path::new("b.toml")).unwrap_err().to_string();
        assert_eq!(
            e,
            "b.toml: [duty] weekdays: `funday` is not one of mon, tue, wed, thu, fri, sat, sun"
        );
        let text = format!("{MINIMAL}[duty]\nweekdays = [\"mon\"]\nperiods = [[\"18:00\", \"08:30\"]]\n");
        assert!(Config::parse(&text, Path::new("b.toml")).is_err());
    }

    #[test]
    fn numbers_out_of_range_are_refused_by_name() {
        for (section, line, expect) in [
            (
                "answer",
                "answer_coverage = nan",
                "[answer] answer_coverage = NaN: must be a number from 0 to 1",
            ),
            (
                "answer",
                "clarify_norm = -0.1",
                "[answer] clarify_norm = -0.1: must be a number from 0 to 1",
            ),
            (
                "answer",
                "answer_margin = -1.0",
                "[answer] answer_margin = -1: must be a number from 0 to 1",
            ),
            (
                "answer",
                "answer_matched = inf",
                "[answer] answer_matched = inf: must be a number from 0 to 1000",
            ),
            (
                "answer",
                "max_question_chars = 0",
                "[answer] max_question_chars = 0: must be a number from 10 to 100000",
            ),
            (
                "answer",
                "max_choices = 0",
                "[answer] max_choices = 0: must be a number from 1 to 10",
            ),
            (
                "operators",
                "overdue_hours = -8.0",
                "[operators] overdue_hours = -8: must be a number from 0 to 10000",
            ),
            (
                "web",
                "requests_per_minute = 0",
                "[web] requests_per_minute = 0: must be a number from 1 to 1000000000",
            ),
            (
                "telegram",
                "messages_per_second = 0",
                "[telegram] messages_per_second = 0: must be a number from 1 to 1000000000",
            ),
            (
                "tickets",
                "retention_days = 0",
                "[tickets] retention_days = 0: must be a number from 1 to 36500",
            ),
        ] {
            let text = format!("{MINIMAL}[{section}]\n{line}\n");
            let e = Config::parse(&text, Path::new("b.toml")).unwrap_err().to_string();
            assert_eq!(e, format!("b.toml: {expect}"), "{line}");
        }
        let text = format!(
            "{MINIMAL}[duty]\nweekdays = [\"mon\"]\nperiods = [[\"08:30\", \"17:30\"]]\nutc_offset_hours = 99\n"
        );
        assert!(
            Config::parse(&text, Path::new("b.toml"))
                .unwrap_err()
                .to_string()
                .contains("utc_offset_hours = 99")
        );
    }

    #[test]
    fn a_missing_file_names_the_os_error_once() {
        let e = anyhow::Error::new(Config::load(Path::new("/nonexistent/bot.toml")).unwrap_err());
        let text = format!("{e:#}");
        assert_eq!(text.matches("No such file or directory").count(), 1, "{text}");
        assert!(text.starts_with("cannot read /nonexistent/bot.toml: "), "{text}");
    }

    #[test]
    fn web_limits_must_be_positive() {
        let text = format!("{MINIMAL}[web]\nheader_timeout_seconds = 0\n");
        let e = Config::parse(&text, Path::new("b.toml")).unwrap_err().to_string();
        assert_eq!(
            e,
            "b.toml: [web] header_timeout_seconds = 0: must be a number from 1 to 3600"
        );
        let c = Config::parse(MINIMAL, Path::new("b.toml")).unwrap();
        assert_eq!((c.web.header_timeout_seconds, c.web.shutdown_grace_seconds), (10, 10));
    }

    #[test]
    fn shipped_bot_toml_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
        let c = Config::load(&path).unwrap();
        assert!(c.office.contains_key("hotline"));
        assert!(c.knowledge.dir.ends_with("knowledge"));
    }
}
