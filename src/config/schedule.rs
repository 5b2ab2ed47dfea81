//! `[duty]` as written (weekday names, "HH:MM" pairs, TOML dates, an hour offset) and its one
//! conversion into a typed [`Schedule`] when the configuration is loaded. Every refused value is
//! named with what to write instead.

use chrono::{FixedOffset, NaiveDate, NaiveTime, Weekday};
use serde::Deserialize;

use super::validate::in_range;
use crate::duty::Schedule;

/// The hours people are on duty at the hotline (for "is someone there now?"), as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DutyTable {
    /// Working weekdays: "mon" … "sun".
    weekdays: Vec<String>,
    /// Opening periods on a working day, "HH:MM" pairs, e.g. [["08:30", "12:00"], ["14:30", "18:00"]].
    periods: Vec<[String; 2]>,
    /// Public holidays (no duty), TOML dates.
    #[serde(default)]
    holidays: Vec<toml::value::Datetime>,
    /// Make-up working days that fall on a weekend, TOML dates.
    #[serde(default)]
    extra_workdays: Vec<toml::value::Datetime>,
    /// The office's offset from UTC in hours (China: 8).
    #[serde(default = "default_utc_offset")]
    utc_offset_hours: i32,
}

fn default_utc_offset() -> i32 {
    8
}

impl DutyTable {
    /// The schedule, or the first value that cannot be used.
    pub(super) fn into_schedule(self) -> Result<Schedule, String> {
        let hours = self.utc_offset_hours;
        in_range("duty", "utc_offset_hours", hours, -12.0, 14.0)?;
        let offset = FixedOffset::east_opt(hours * 3600).expect("checked: within -12..=14 hours");
        let weekdays = self.weekdays.iter().map(|d| weekday(d)).collect::<Result<_, _>>()?;
        let mut periods: Vec<(NaiveTime, NaiveTime)> = self.periods.iter().map(period).collect::<Result<_, _>>()?;
        periods.sort();
        Ok(Schedule {
            weekdays,
            periods,
            holidays: self.holidays.iter().map(date).collect::<Result<_, _>>()?,
            extra_workdays: self.extra_workdays.iter().map(date).collect::<Result<_, _>>()?,
            offset,
        })
    }
}

/// "mon" … "sun" (any case).
fn weekday(name: &str) -> Result<Weekday, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "mon" => Ok(Weekday::Mon),
        "tue" => Ok(Weekday::Tue),
        "wed" => Ok(Weekday::Wed),
        "thu" => Ok(Weekday::Thu),
        "fri" => Ok(Weekday::Fri),
        "sat" => Ok(Weekday::Sat),
        "sun" => Ok(Weekday::Sun),
        _ => Err(format!(
            "[duty] weekdays: `{name}` is not one of mon, tue, wed, thu, fri, sat, sun"
        )),
    }
}

/// ["HH:MM", "HH:MM"], opening before closing.
fn period([open, close]: &[String; 2]) -> Result<(NaiveTime, NaiveTime), String> {
    let clock = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
    match (clock(open), clock(close)) {
        (Some(a), Some(b)) if a < b => Ok((a, b)),
        _ => Err(format!(
            "[duty] periods: [\"{open}\", \"{close}\"] must be two times HH:MM, the first before the second"
        )),
    }
}

/// A TOML date without a time.
fn date(d: &toml::value::Datetime) -> Result<NaiveDate, String> {
    d.date
        .filter(|_| d.time.is_none())
        .and_then(|x| NaiveDate::from_ymd_opt(x.year.into(), x.month.into(), x.day.into()))
        .ok_or_else(|| format!("[duty] `{d}` must be a date like 2026-10-01"))
}
