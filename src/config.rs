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
}

impl Default for TicketsConfig {
    fn default() -> Self {
        Self {
            db: PathBuf::from("data/customs-bot.sqlite"),
            retention_days: 365,
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
            operators: Vec::new(),
        }
    }
}

/// Placeholders the handoff reply itself relies on.
pub const REQUIRED_OFFICE_KEYS: [&str; 3] = ["office_name", "hotline", "consult_phone"];

/// What went wrong reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
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
        if let Some(d) = &config.duty {
            d.validate().map_err(|message| ConfigError::Invalid {
                path: source.to_path_buf(),
                message,
            })?;
        }
        config.check_numbers().map_err(|message| ConfigError::Invalid {
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
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
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

    /// Every threshold and duration is a number of 0 or more: TOML's nan and inf compare false
    /// with everything, so they would silently switch a rule off.
    fn check_numbers(&self) -> Result<(), String> {
        let a = &self.answer;
        let answer = [
            ("answer_coverage", a.answer_coverage),
            ("answer_norm", a.answer_norm),
            ("answer_margin", a.answer_margin),
            ("answer_matched", a.answer_matched),
            ("matched_coverage", a.matched_coverage),
            ("dominant_coverage", a.dominant_coverage),
            ("dominant_margin", a.dominant_margin),
            ("dominant_norm", a.dominant_norm),
            ("rival_gap", a.rival_gap),
            ("clarify_coverage", a.clarify_coverage),
            ("clarify_norm", a.clarify_norm),
        ]
        .map(|(name, v)| ("answer", name, f64::from(v)));
        let operators = [("operators", "overdue_hours", self.operators.overdue_hours)];
        for (table, name, v) in answer.into_iter().chain(operators) {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("[{table}] {name} = {v}: write a number, 0 or more"));
            }
        }
        Ok(())
    }

    /// The placeholder names entries may use.
    pub fn placeholder_names(&self) -> std::collections::BTreeSet<String> {
        self.office.keys().cloned().collect()
    }
}

impl DutyConfig {
    fn validate(&self) -> Result<(), String> {
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
        if !(-12..=14).contains(&self.utc_offset_hours) {
            return Err(format!(
                "[duty] utc_offset_hours = {}: write the office's offset from UTC, -12 to 14 (China: 8)",
                self.utc_offset_hours
            ));
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
    fn numbers_that_cannot_work_are_refused() {
        // The config fuzz target's invariant (fuzz/fuzz_targets/config.rs): every number an accepted
        // config holds is usable. TOML allows nan and inf, which compare false with everything, so
        // `answer_coverage = nan` silently meant "never answer" and `overdue_hours = nan` "never
        // overdue"; an offset of 1000 hours put office hours weeks away.
        for (extra, expected) in [
            (
                "[answer]\nanswer_coverage = nan\n",
                "b.toml: [answer] answer_coverage = NaN: write a number, 0 or more",
            ),
            (
                "[answer]\nclarify_norm = -0.5\n",
                "b.toml: [answer] clarify_norm = -0.5: write a number, 0 or more",
            ),
            (
                "[answer]\nanswer_matched = inf\n",
                "b.toml: [answer] answer_matched = inf: write a number, 0 or more",
            ),
            (
                "[operators]\noverdue_hours = -inf\n",
                "b.toml: [operators] overdue_hours = -inf: write a number, 0 or more",
            ),
            (
                "[duty]\nweekdays = [\"mon\"]\nperiods = [[\"08:30\", \"17:30\"]]\nutc_offset_hours = 1000\n",
                "b.toml: [duty] utc_offset_hours = 1000: write the office's offset from UTC, -12 to 14 (China: 8)",
            ),
        ] {
            let e = Config::parse(&format!("{MINIMAL}{extra}"), Path::new("b.toml"))
                .unwrap_err()
                .to_string();
            assert_eq!(e, expected);
        }
        let text = format!("{MINIMAL}[answer]\nanswer_coverage = 0\n[operators]\noverdue_hours = 0.5\n");
        assert!(Config::parse(&text, Path::new("b.toml")).is_ok());
    }

    #[test]
    fn shipped_bot_toml_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bot.toml");
        let c = Config::load(&path).unwrap();
        assert!(c.office.contains_key("hotline"));
        assert!(c.knowledge.dir.ends_with("knowledge"));
    }
}
