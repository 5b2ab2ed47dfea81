//! Whether people are on duty at the hotline now, and if not, when they are back; and the office's
//! clock (its local time for an instant, today's date there, times shown to people).
//!
//! Pure: takes a [`Schedule`] (built once from `[duty]` by `config`) and a UTC instant, returns a
//! [`DutyStatus`]. Working days are the configured weekdays, minus holidays, plus make-up working
//! days; each working day has one or more opening periods in the office's local time.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc, Weekday,
};

/// The office's clock: a fixed offset from UTC (China has no daylight saving).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfficeClock {
    pub offset: FixedOffset,
}

impl OfficeClock {
    /// China (UTC+8): the office's clock when `[duty]` does not say otherwise, and the clock on
    /// which regulations take effect.
    pub const CHINA: OfficeClock = match FixedOffset::east_opt(8 * 3600) {
        Some(offset) => OfficeClock { offset },
        None => panic!("UTC+8 is a valid offset"),
    };

    /// The office's local time for an instant.
    pub fn local(&self, t: DateTime<Utc>) -> DateTime<FixedOffset> {
        t.with_timezone(&self.offset)
    }

    /// The office's local time now.
    pub fn now_local(&self) -> DateTime<FixedOffset> {
        self.local(Utc::now())
    }

    /// Today's date at the office.
    pub fn today(&self) -> NaiveDate {
        self.now_local().date_naive()
    }

    /// An instant for people, to the minute in office time: "2026-11-29 14:05".
    pub fn format_minute(&self, t: DateTime<Utc>) -> String {
        self.local(t).format("%Y-%m-%d %H:%M").to_string()
    }

    /// An instant for machines, RFC 3339 with the office's offset: "2026-11-29T14:05:00+08:00".
    pub fn rfc3339(&self, t: DateTime<Utc>) -> String {
        self.local(t).to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// When people are on duty, as typed values (`config` builds it once from `[duty]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Working weekdays.
    pub weekdays: Vec<Weekday>,
    /// Opening periods of a working day in local time, sorted, each opening before it closes.
    pub periods: Vec<(NaiveTime, NaiveTime)>,
    /// Public holidays (no duty).
    pub holidays: Vec<NaiveDate>,
    /// Make-up working days that fall on a weekend.
    pub extra_workdays: Vec<NaiveDate>,
    /// The office's offset from UTC.
    pub offset: FixedOffset,
}

impl Schedule {
    /// The office's clock.
    pub fn clock(&self) -> OfficeClock {
        OfficeClock { offset: self.offset }
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        self.clock().local(t).naive_local()
    }

    fn working(&self, d: NaiveDate) -> bool {
        self.extra_workdays.contains(&d) || (self.weekdays.contains(&d.weekday()) && !self.holidays.contains(&d))
    }
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

/// Whether people are on duty at `now`.
pub fn status(schedule: Option<&Schedule>, now: DateTime<Utc>) -> DutyStatus {
    let Some(s) = schedule else { return DutyStatus::Unknown };
    let local = s.local(now);
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
pub fn working_hours_between(schedule: Option<&Schedule>, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    if to <= from {
        return 0.0;
    }
    let Some(s) = schedule else {
        return (to - from).num_seconds() as f64 / 3600.0;
    };
    let (a, b) = (s.local(from), s.local(to));
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

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn cfg() -> Schedule {
        use Weekday::*;
        Schedule {
            weekdays: vec![Mon, Tue, Wed, Thu, Fri],
            periods: vec![(t(8, 30), t(12, 0)), (t(14, 30), t(18, 0))],
            holidays: vec![day(2026, 10, 1), day(2026, 10, 2)],
            extra_workdays: vec![day(2026, 10, 10)],
            offset: OfficeClock::CHINA.offset,
        }
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

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn the_office_clock_crosses_midnight_in_office_time() {
        let china = OfficeClock::CHINA;
        let late = utc("2026-11-29T16:05:00Z");
        assert_eq!(china.local(late).date_naive(), day(2026, 11, 30));
        assert_eq!(china.format_minute(late), "2026-11-30 00:05");
        assert_eq!(china.rfc3339(late), "2026-11-30T00:05:00+08:00");
        assert_eq!(china.format_minute(utc("2026-11-29T15:59:59Z")), "2026-11-29 23:59");
        assert_eq!(
            china.rfc3339(utc("2026-11-29T14:05:00.123Z")),
            "2026-11-29T22:05:00+08:00"
        );
    }

    #[test]
    fn an_office_west_of_utc_is_behind_it() {
        let offset = FixedOffset::west_opt(5 * 3600).unwrap();
        let clock = OfficeClock { offset };
        let early = utc("2026-11-29T03:30:00Z");
        assert_eq!(clock.format_minute(early), "2026-11-28 22:30");
        assert_eq!(clock.rfc3339(early), "2026-11-28T22:30:00-05:00");
        // The schedule reads its hours on the same clock: Thursday 14:00 UTC is 09:00 there.
        let schedule = Schedule { offset, ..cfg() };
        assert_eq!(schedule.clock(), clock);
        assert_eq!(
            status(Some(&schedule), utc("2026-11-26T14:00:00Z")),
            DutyStatus::OnDuty { until: t(12, 0) }
        );
        assert_eq!(
            status(Some(&cfg()), utc("2026-11-26T14:00:00Z")),
            DutyStatus::OffDuty {
                back: Some(day(2026, 11, 27).and_time(t(8, 30)))
            }
        );
    }
}
