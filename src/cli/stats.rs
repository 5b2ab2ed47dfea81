//! `customs-bot stats`: what people asked and how the assistant and the operators did; with
//! `--json` or `--csv`, also per day and channel (`crate::insight::trends`).

use std::io::Write;

use serde::Serialize;

use crate::config::Config;
use crate::desk::Cases;
use crate::insight::{self, Day};
use crate::tickets::{Stats, StoreOptions, open_store};

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Look back this many days.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=insight::MAX_DAYS as i64))]
    pub days: u32,
    /// One JSON object: the figures, and `daily` per day and channel.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// The figures per day and channel as CSV (channel `all` sums them).
    #[arg(long)]
    pub csv: bool,
}

/// `stats --json`: the period's figures and the days.
#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    stats: Stats,
    daily: Vec<Day>,
}

fn pct(n: i64, of: i64) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / of as f64)
    }
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Code> {
    let store = open_store(&config.tickets, StoreOptions::default())?;
    let s = store.stats(args.days)?;
    let mut out = std::io::stdout().lock();
    if args.json || args.csv {
        let cases = Cases::new(std::sync::Arc::new(config.clone()), store.clone());
        let daily = insight::load_trends(
            store.as_ref(),
            config.office_clock(),
            args.days,
            chrono::Utc::now(),
            &|t, at| cases.overdue_at(t, at),
        )?;
        if args.csv {
            out.write_all(insight::trends::csv(&daily)?.as_bytes())?;
        } else {
            writeln!(out, "{}", serde_json::to_string(&Report { stats: s, daily })?)?;
        }
        return Ok(Code::Ok);
    }
    writeln!(out, "最近 {} 天", s.days)?;
    writeln!(
        out,
        "提问 {}：回答 {} ({})，给出选项 {} ({})，转人工 {} ({})，寒暄 {}",
        s.questions,
        s.answered,
        pct(s.answered, s.questions),
        s.clarified,
        pct(s.clarified, s.questions),
        s.handed_off,
        pct(s.handed_off, s.questions),
        s.smalltalk
    )?;
    writeln!(out, "反馈：有帮助 {}，没帮助 {}", s.helpful, s.not_helpful)?;
    writeln!(
        out,
        "工单：新开 {}，仍未处理 {}，答复用时中位数 {}",
        s.tickets_opened,
        s.tickets_open,
        s.median_minutes_to_answer
            .map_or("-".to_string(), |m| format!("{m:.0} 分钟"))
    )?;
    writeln!(out, "最常用的条目：")?;
    for (entry, n) in &s.top_entries {
        writeln!(out, "  {n:>5}  {entry}")?;
    }
    writeln!(out, "最常见的未答问题：")?;
    for (q, n) in &s.top_unanswered {
        writeln!(out, "  {n:>5}  {q}")?;
    }
    Ok(Code::Ok)
}
