//! Range checks for every number in `bot.toml`, run once by `Config::parse`: a threshold of `nan`,
//! a negative rate or a zero length is refused with a message naming the key and its range.

use super::{AnswerConfig, Config};

/// A number that must be finite and within `lo..=hi`: the message names the key and the range.
pub(super) fn in_range<T: Copy + std::fmt::Display + ToF64>(
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
pub(super) trait ToF64 {
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
    pub(super) fn validate(&self) -> Result<(), String> {
        self.answer.validate()?;
        in_range(
            "conversation",
            "idle_minutes",
            self.conversation.idle_minutes,
            1.0,
            10_080.0,
        )?;
        in_range("governance", "replay_days", self.governance.replay_days, 0.0, 3650.0)?;
        in_range(
            "governance",
            "replay_limit",
            self.governance.replay_limit,
            0.0,
            1_000_000.0,
        )?;
        self.telegram
            .validate(self.web.enabled, std::env::var(super::WEBHOOK_SECRET_ENV).ok())?;
        let k = &self.tickets;
        in_range("tickets", "retention_days", k.retention_days, 1.0, 36_500.0)?;
        // A reply waits at most this long for the log: long enough to ride out a brief lock,
        // short enough that a person is not kept waiting (then the question is spooled).
        in_range("tickets", "log_timeout_ms", k.log_timeout_ms, 10.0, 60_000.0)?;
        in_range("tickets", "spool_replay_seconds", k.spool_replay_seconds, 1.0, 86_400.0)?;
        if let Some(url) = &k.url
            && !super::is_postgres_url(&url.0)
        {
            return Err(
                "[tickets] url must be a PostgreSQL URL (postgres://user@host:5432/db or postgresql://…); \
                 leave it out to keep the SQLite file at [tickets] db"
                    .to_string(),
            );
        }
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
            ("guess_coverage", self.guess_coverage),
            ("guess_norm", self.guess_norm),
            ("guess_margin", self.guess_margin),
        ] {
            in_range("answer", key, v, 0.0, 1.0)?;
        }
        // The matched vocabulary is a sum of IDF values, not a share.
        in_range("answer", "answer_matched", self.answer_matched, 0.0, 1_000.0)?;
        in_range("answer", "min_matched", self.min_matched, 0.0, 1_000.0)?;
        in_range("answer", "guess_matched", self.guess_matched, 0.0, 1_000.0)?;
        in_range("answer", "max_choices", self.max_choices, 1.0, 10.0)?;
        in_range("answer", "max_question_chars", self.max_question_chars, 10.0, 100_000.0)?;
        Ok(())
    }
}
