//! Whether people are on duty at the hotline now, and if not, when they are back.
//!
//! Pure: takes the `[duty]` configuration and a UTC instant, returns a [`DutyStatus`]. Working days
//! are the configured weekdays, minus holidays, plus make-up working days; each working day has one
//! or more opening periods in the office's local time.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};

use crate::config::DutyConfig;

/// Parses "mon" … "sun".
pub fn weekday(s: &str) -> Option<Weekday> {
    match s.trim().to_ascii_lowercase().as_str() {
        "mon" => Some(Weekday::Mon),
        "tue" => Some(Weekday::Tue),
        "wed" => Some(Weekday::Wed),
        "thu" => Some(Weekday::Thu),
        "fri" => Some(Weekday::Fri),
        "sat" => Some(Weekday::Sat),
        "sun" => Some(Weekday::Sun),
        _ => None,
    }
}

/// Parses "HH:MM".
pub fn clock(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

fn date(d: &toml::value::Datetime) -> Option<NaiveDate> {
    let d = d.date?;
    NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
}

/// Is someone at the hotline?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DutyStatus {
    /// On duty until this local time today.
    OnDuty { until: NaiveTime },
    /// Off duty; back at this local date and time (None when no working day is configured).
    OffDuty { back: Option<NaiveDateTime> },
    /// No `[duty]` configured: hours as the office publishes them.
    Unknown,
}

impl DutyStatus {
    /// One line for a hand-off reply.
    pub fn describe(&self, now_local: NaiveDateTime) -> String {
        match self {
            DutyStatus::OnDuty { until } => format!("现在是工作时间，人工服务至 {}。", until.format("%H:%M")),
            DutyStatus::OffDuty { back: Some(back) } => {
                let day = if back.date() == now_local.date() {
                    "今天".to_string()
                } else if back.date() == now_local.date() + Duration::days(1) {
                    "明天".to_string()
                } else {
                    format!("{}（{}）", back.date().format("%m月%d日"), weekday_zh(back.weekday()))
                };
                format!(
                    "现在不在工作时间，人工服务将于{day} {} 恢复；您的问题已记录，工作人员上班后处理。",
                    back.format("%H:%M")
                )
            }
            DutyStatus::OffDuty { back: None } => "现在不在人工服务时间。".to_string(),
            DutyStatus::Unknown => String::new(),
        }
    }
}

fn weekday_zh(w: Weekday) -> &'static str {
    ["周一", "周二", "周三", "周四", "周五", "周六", "周日"][w.num_days_from_monday() as usize]
}

struct Schedule {
    weekdays: Vec<Weekday>,
    periods: Vec<(NaiveTime, NaiveTime)>,
    holidays: Vec<NaiveDate>,
    extra: Vec<NaiveDate>,
    offset: Duration,
}

impl Schedule {
    fn new(c: &DutyConfig) -> Self {
        let mut periods: Vec<(NaiveTime, NaiveTime)> = c
            .periods
            .iter()
            .filter_map(|[a, b]| Some((clock(a)?, clock(b)?)))
            .collect();
        periods.sort();
        Self {
            weekdays: c.weekdays.iter().filter_map(|d| weekday(d)).collect(),
            periods,
            holidays: c.holidays.iter().filter_map(date).collect(),
            extra: c.extra_workdays.iter().filter_map(date).collect(),
            offset: Duration::hours(c.utc_offset_hours.into()),
        }
    }

    fn working(&self, d: NaiveDate) -> bool {
        self.extra.contains(&d) || (self.weekdays.contains(&d.weekday()) && !self.holidays.contains(&d))
    }
}

/// The office's local time for a UTC instant.
pub fn local_time(c: Option<&DutyConfig>, now: DateTime<Utc>) -> NaiveDateTime {
    let offset = c.map_or(8, |c| c.utc_offset_hours);
    (now + Duration::hours(offset.into())).naive_utc()
}

/// Whether people are on duty at `now`.
pub fn status(c: Option<&DutyConfig>, now: DateTime<Utc>) -> DutyStatus {
    let Some(c) = c else { return DutyStatus::Unknown };
    let s = Schedule::new(c);
    let local = (now + s.offset).naive_utc();
    if s.working(local.date()) {
        for &(open, close) in &s.periods {
            if local.time() >= open && local.time() < close {
                return DutyStatus::OnDuty { until: close };
            }
        }
    }
    // The next opening: later today, or on the next working day (look a year ahead at most).
    for days in 0..=366 {
        let d = local.date() + Duration::days(days);
        if !s.working(d) {
            continue;
        }
        for &(open, _) in &s.periods {
            let at = d.and_time(open);
            if at > local {
                return DutyStatus::OffDuty { back: Some(at) };
            }
        }
    }
    DutyStatus::OffDuty { back: None }
}

/// Working hours between two instants: time inside the opening periods of working days, or plain
/// hours when no `[duty]` is configured.
pub fn working_hours_between(c: Option<&DutyConfig>, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    if to <= from {
        return 0.0;
    }
    let Some(c) = c else {
        return (to - from).num_seconds() as f64 / 3600.0;
    };
    let s = Schedule::new(c);
    let (a, b) = ((from + s.offset).naive_utc(), (to + s.offset).naive_utc());
    let mut seconds = 0i64;
    let mut day = a.date();
    while day <= b.date() {
        if s.working(day) {
            for &(open, close) in &s.periods {
                let start = day.and_time(open).max(a);
                let end = day.and_time(close).min(b);
                if end > start {
                    seconds += (end - start).num_seconds();
                }
            }
        }
        day += Duration::days(1);
    }
    seconds as f64 / 3600.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DutyConfig {
        toml::from_str(
            r#"weekdays = ["mon", "tue", "wed", "thu", "fri"]
periods = [["08:30", "12:00"], ["14:30", "18:00"]]
holidays = [2026-10-01, 2026-10-02]
extra_workdays = [2026-10-10]"#,
        )
        .unwrap()
    }

    /// A UTC instant for a Beijing local time.
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        let local = NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap();
        (local - Duration::hours(8)).and_utc()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn on_duty_table() {
        let c = cfg();
        let cases = [
            // Thursday 2026-11-26
            (at(2026, 11, 26, 9, 0), DutyStatus::OnDuty { until: t(12, 0) }),
            (
                at(2026, 11, 26, 13, 0),
                DutyStatus::OffDuty {
                    back: Some(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap().and_time(t(14, 30))),
                },
            ),
            (at(2026, 11, 26, 17, 59), DutyStatus::OnDuty { until: t(18, 0) }),
            (
                at(2026, 11, 26, 18, 0),
                DutyStatus::OffDuty {
                    back: Some(NaiveDate::from_ymd_opt(2026, 11, 27).unwrap().and_time(t(8, 30))),
                },
            ),
            // Saturday → Monday
            (
                at(2026, 11, 28, 10, 0),
                DutyStatus::OffDuty {
                    back: Some(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap().and_time(t(8, 30))),
                },
            ),
            // Holiday Thursday 2026-10-01 → Friday 10-02 is also a holiday → Monday 10-05
            (
                at(2026, 10, 1, 10, 0),
                DutyStatus::OffDuty {
                    back: Some(NaiveDate::from_ymd_opt(2026, 10, 5).unwrap().and_time(t(8, 30))),
                },
            ),
            // Make-up working Saturday 2026-10-10
            (at(2026, 10, 10, 10, 0), DutyStatus::OnDuty { until: t(12, 0) }),
        ];
        for (now, expected) in cases {
            assert_eq!(status(Some(&c), now), expected, "at {now}");
        }
        assert_eq!(status(None, at(2026, 11, 26, 9, 0)), DutyStatus::Unknown);
    }

    #[test]
    fn working_hours_count_only_opening_periods() {
        let c = cfg();
        // Thursday 11:00 → Friday 09:30: 1 h + 3.5 h on Thursday, 1 h on Friday.
        assert_eq!(
            working_hours_between(Some(&c), at(2026, 11, 26, 11, 0), at(2026, 11, 27, 9, 30)),
            5.5
        );
        // Over a weekend nothing counts.
        assert_eq!(
            working_hours_between(Some(&c), at(2026, 11, 28, 9, 0), at(2026, 11, 29, 17, 0)),
            0.0
        );
        assert_eq!(
            working_hours_between(None, at(2026, 11, 28, 9, 0), at(2026, 11, 28, 17, 0)),
            8.0
        );
    }

    #[test]
    fn descriptions() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap().and_time(t(19, 0));
        let back = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap().and_time(t(8, 30));
        assert_eq!(
            DutyStatus::OffDuty { back: Some(back) }.describe(now),
            "现在不在工作时间，人工服务将于明天 08:30 恢复；您的问题已记录，工作人员上班后处理。"
        );
        assert_eq!(
            DutyStatus::OnDuty { until: t(18, 0) }.describe(now),
            "现在是工作时间，人工服务至 18:00。"
        );
    }
}
