//! Loading `bot.toml`: defaults, paths, refused values and the messages that name them.

use super::*;
use crate::duty::{OfficeClock, Schedule};

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
fn a_database_url_must_be_postgres_and_its_password_is_never_shown() {
    let with = |url: &str| Config::parse(&format!("{MINIMAL}[tickets]\nurl = \"{url}\"\n"), Path::new("b.toml"));
    let c = with("postgres://bot:hunter2@db:5432/customs").unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(with("postgresql://bot@db/customs").is_ok());
    for wrong in ["mysql://bot@db/customs", "db/customs", "postgres://"] {
        let e = with(wrong).unwrap_err().to_string();
        assert!(e.contains("[tickets] url must be a PostgreSQL URL"), "{wrong}: {e}");
    }
    assert!(
        Config::parse(MINIMAL, Path::new("b.toml"))
            .unwrap()
            .tickets
            .url
            .is_none()
    );
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
    let text =
        format!("{MINIMAL}[duty]\nweekdays = [\"mon\"]\nperiods = [[\"08:30\", \"17:30\"]]\nutc_offset_hours = 99\n");
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

#[test]
fn duty_is_parsed_once_into_a_schedule() {
    use chrono::{FixedOffset, NaiveDate, NaiveTime, Weekday};
    let text = format!(
        "{MINIMAL}[duty]\nweekdays = [\"Mon\", \" fri\"]\nperiods = [[\"14:30\", \"18:00\"], [\"08:30\", \"12:00\"]]\n\
         holidays = [2026-10-01]\nextra_workdays = [2026-10-10]\n"
    );
    let c = Config::parse(&text, Path::new("b.toml")).unwrap();
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let expected = Schedule {
        weekdays: vec![Weekday::Mon, Weekday::Fri],
        periods: vec![(t(8, 30), t(12, 0)), (t(14, 30), t(18, 0))],
        holidays: vec![day(10, 1)],
        extra_workdays: vec![day(10, 10)],
        offset: FixedOffset::east_opt(8 * 3600).unwrap(),
    };
    assert_eq!(c.duty, Some(expected));
    assert_eq!(c.office_clock(), OfficeClock::CHINA);
}

#[test]
fn the_office_clock_follows_duty_else_china() {
    let c = Config::parse(MINIMAL, Path::new("b.toml")).unwrap();
    assert_eq!(c.office_clock(), OfficeClock::CHINA);
    let text =
        format!("{MINIMAL}[duty]\nweekdays = [\"mon\"]\nperiods = [[\"09:00\", \"17:00\"]]\nutc_offset_hours = -5\n");
    let clock = Config::parse(&text, Path::new("b.toml")).unwrap().office_clock();
    assert_eq!(clock.offset.local_minus_utc(), -5 * 3600);
    let t = chrono::DateTime::parse_from_rfc3339("2026-11-29T03:30:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(clock.format_minute(t), "2026-11-28 22:30");
    assert_eq!(clock.rfc3339(t), "2026-11-28T22:30:00-05:00");
}

#[test]
fn bad_duty_values_are_named() {
    for (lines, expect) in [
        (
            "weekdays = [\"mon\"]\nperiods = [[\"8:30am\", \"12:00\"]]\n",
            "[duty] periods: [\"8:30am\", \"12:00\"] must be two times HH:MM, the first before the second",
        ),
        (
            "weekdays = [\"mon\"]\nperiods = [[\"08:30\", \"12:00\"]]\nholidays = [2026-10-01T08:00:00]\n",
            "[duty] `2026-10-01T08:00:00` must be a date like 2026-10-01",
        ),
        (
            "weekdays = [\"mon\"]\nperiods = [[\"08:30\", \"12:00\"]]\nextra_workdays = [08:00:00]\n",
            "[duty] `08:00:00` must be a date like 2026-10-01",
        ),
        (
            "weekdays = [\"mon\"]\nperiods = [[\"08:30\", \"12:00\"]]\nutc_offset_hours = -13\n",
            "[duty] utc_offset_hours = -13: must be a number from -12 to 14",
        ),
    ] {
        let text = format!("{MINIMAL}[duty]\n{lines}");
        let e = Config::parse(&text, Path::new("b.toml")).unwrap_err().to_string();
        assert_eq!(e, format!("b.toml: {expect}"), "{lines}");
    }
}

#[test]
fn kiosk_tiles_default_and_are_read_from_the_file() {
    let c = Config::parse(MINIMAL, Path::new("b.toml")).unwrap();
    assert_eq!(c.kiosk, KioskConfig::default());
    assert!(c.kiosk.tiles.len() >= 5);
    let text = format!(
        "{MINIMAL}[kiosk]\npopular = 3\npublic_url = \"https://zixun.example.cn/\"\n\
         [[kiosk.tiles]]\nkey = \"personal\"\ntitle = \"个人物品\"\nkinds = [\"policy\", \"faq\"]\nid_prefixes = [\"trav-\"]\n\
         [[kiosk.tiles]]\nkey = \"permits\"\ntitle = \"行政许可\"\nkinds = [\"permit\"]\n"
    );
    let c = Config::parse(&text, Path::new("b.toml")).unwrap();
    assert_eq!(c.kiosk.popular, 3);
    assert_eq!(c.kiosk.popular_days, 7);
    assert_eq!(c.kiosk.public_url.as_deref(), Some("https://zixun.example.cn"));
    let personal = c.kiosk.tile("personal").unwrap();
    assert!(personal.holds(crate::knowledge::Kind::Faq, "trav-pets"));
    assert!(!personal.holds(crate::knowledge::Kind::Procedure, "trav-pets"));
    assert!(!personal.holds(crate::knowledge::Kind::Faq, "post-limits"));
    assert!(
        c.kiosk
            .tile("permits")
            .unwrap()
            .holds(crate::knowledge::Kind::Permit, "anything")
    );
    assert!(c.kiosk.tile("faq").is_none(), "tiles given replace the default ones");
}

#[test]
fn bad_kiosk_tiles_are_refused_with_the_tile_named() {
    let tile = |body: &str| format!("{MINIMAL}[[kiosk.tiles]]\n{body}\n");
    for (body, wanted) in [
        (
            "key = \"A b\"\ntitle = \"t\"\nkinds = [\"faq\"]",
            "number 1 (key = \"A b\"): the key must be",
        ),
        (
            "key = \"a\"\ntitle = \"\"\nkinds = [\"faq\"]",
            "the title must be 1 to 12 characters",
        ),
        ("key = \"a\"\ntitle = \"t\"\nkinds = []", "name at least one kind"),
        (
            "key = \"a\"\ntitle = \"t\"\nkinds = [\"faq\"]\nid_prefixes = [\"Trav\"]",
            "id prefix \"Trav\" can never match",
        ),
        (
            "key = \"a\"\ntitle = \"t\"\nkinds = [\"faqs\"]",
            "unknown variant `faqs`",
        ),
        (
            "key = \"a\"\ntitle = \"t\"\nkinds = [\"faq\"]\n[[kiosk.tiles]]\nkey = \"a\"\ntitle = \"u\"\nkinds = [\"faq\"]",
            "number 2 (key = \"a\"): another tile has the same key",
        ),
    ] {
        let e = Config::parse(&tile(body), Path::new("b.toml")).unwrap_err().to_string();
        assert!(e.contains(wanted), "{body}: {e}");
    }
    for (text, wanted) in [
        (
            "[kiosk]\npopular = 40\n",
            "[kiosk] popular = 40: must be a number from 0 to 12",
        ),
        (
            "[kiosk]\npublic_url = \"zixun.example.cn\"\n",
            "[kiosk] public_url = \"zixun.example.cn\": give the address",
        ),
        ("[kiosk]\npublic_url = \"https://x.cn/?a=1\"\n", "[kiosk] public_url"),
        ("[kiosk]\ntiles = []\n", "[kiosk] has 0 tiles"),
    ] {
        let e = Config::parse(&format!("{MINIMAL}{text}"), Path::new("b.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(wanted), "{text}: {e}");
    }
}

const WEBHOOK: &str = "[telegram]\nmode = \"webhook\"\nwebhook_url = \"https://bot.example.org/telegram/webhook\"\n";

#[test]
fn telegram_polls_by_default() {
    let c = Config::parse(MINIMAL, Path::new("b.toml")).unwrap();
    assert_eq!(c.telegram.mode, TelegramMode::Polling);
    assert_eq!((c.telegram.webhook_workers, c.telegram.webhook_lease_seconds), (4, 30));
}

#[test]
fn webhook_mode_reads_its_address_secret_and_workers() {
    let text =
        format!("{MINIMAL}{WEBHOOK}webhook_secret = \"s3cr-et_X\"\nwebhook_workers = 2\nwebhook_lease_seconds = 60\n");
    let c = Config::parse(&text, Path::new("b.toml")).unwrap();
    assert_eq!(c.telegram.mode, TelegramMode::Webhook);
    assert_eq!(
        c.telegram.webhook_url.as_deref(),
        Some("https://bot.example.org/telegram/webhook")
    );
    assert_eq!((c.telegram.webhook_workers, c.telegram.webhook_lease_seconds), (2, 60));
    assert_eq!(c.telegram.webhook_secret_with(None), Some(Secret("s3cr-et_X".into())));
    assert!(!format!("{c:?}").contains("s3cr-et_X"), "the secret never shows");
    // The environment takes precedence; an empty variable is no value.
    let from_env = c.telegram.webhook_secret_with(Some("FromEnv".into()));
    assert_eq!(from_env, Some(Secret("FromEnv".into())));
    assert_eq!(
        c.telegram.webhook_secret_with(Some(String::new())),
        Some(Secret("s3cr-et_X".into()))
    );
}

#[test]
fn webhook_mode_is_refused_without_what_it_needs() {
    let secret = "webhook_secret = \"abc\"\n";
    for (text, expect) in [
        (
            format!("{MINIMAL}[telegram]\nmode = \"webhook\"\n{secret}"),
            "needs `webhook_url`",
        ),
        (
            format!("{MINIMAL}{WEBHOOK}"),
            "needs `webhook_secret` (or CUSTOMS_BOT_WEBHOOK_SECRET",
        ),
        (
            format!("{MINIMAL}{WEBHOOK}webhook_secret = \"has space\"\n"),
            "[telegram] webhook_secret: must be 1 to 256 characters",
        ),
        (
            format!("{MINIMAL}{WEBHOOK}webhook_secret = \"{}\"\n", "a".repeat(257)),
            "[telegram] webhook_secret: must be 1 to 256 characters",
        ),
        (
            format!("{MINIMAL}{WEBHOOK}{secret}[web]\nenabled = false\n"),
            "needs `[web] enabled = true`",
        ),
        (
            format!(
                "{MINIMAL}[telegram]\nmode = \"webhook\"\nwebhook_url = \"http://bot.example.org/telegram/webhook\"\n{secret}"
            ),
            "must start with https://",
        ),
        (
            format!(
                "{MINIMAL}[telegram]\nmode = \"webhook\"\nwebhook_url = \"https://bot.example.org/hook\"\n{secret}"
            ),
            "/telegram/webhook",
        ),
        (
            format!("{MINIMAL}[telegram]\nmode = \"webhook\"\nwebhook_url = \"not a url\"\n{secret}"),
            "[telegram] webhook_url = \"not a url\"",
        ),
        (format!("{MINIMAL}[telegram]\nmode = \"hook\"\n"), "hook"),
        (
            format!("{MINIMAL}{WEBHOOK}{secret}webhook_workers = 0\n"),
            "[telegram] webhook_workers = 0: must be a number from 1 to 256",
        ),
        (
            format!("{MINIMAL}{WEBHOOK}{secret}webhook_lease_seconds = 1\n"),
            "[telegram] webhook_lease_seconds = 1: must be a number from 5 to 3600",
        ),
    ] {
        let e = Config::parse(&text, Path::new("b.toml")).unwrap_err().to_string();
        assert!(e.contains(expect), "{text}\n→ {e}");
        assert!(!e.contains("has space"), "a secret is never echoed: {e}");
    }
}

#[test]
fn webhook_secret_from_the_environment_is_checked_too() {
    let mut t = TelegramConfig {
        mode: TelegramMode::Webhook,
        webhook_url: Some("https://bot.example.org/telegram/webhook".into()),
        ..TelegramConfig::default()
    };
    assert!(t.validate(true, Some("Good_1".into())).is_ok());
    let e = t.validate(true, Some("bad secret!".into())).unwrap_err();
    assert!(e.starts_with("CUSTOMS_BOT_WEBHOOK_SECRET: must be"), "{e}");
    assert!(!e.contains("bad secret"), "{e}");
    // Plain http only towards a self-hosted Bot API server.
    t.webhook_url = Some("http://127.0.0.1:9000/telegram/webhook".into());
    assert!(t.validate(true, Some("Good_1".into())).is_err());
    t.api_url = Some("http://127.0.0.1:8081".into());
    assert!(t.validate(true, Some("Good_1".into())).is_ok());
}

#[test]
fn which_webhook_secrets_telegram_accepts() {
    assert!(valid_webhook_secret("A-z_09"));
    assert!(valid_webhook_secret(&"x".repeat(256)));
    for bad in ["", "a b", "秘密", "a/b", "a=b", &"x".repeat(257)] {
        assert!(!valid_webhook_secret(bad), "{bad}");
    }
}
