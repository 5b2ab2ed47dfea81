//! `customs-bot stats`: what people asked and how the assistant and the operators did.

use std::io::Write;

use crate::config::Config;
use crate::tickets::{SqliteStore, TicketStore};

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Look back this many days.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

fn pct(n: i64, of: i64) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / of as f64)
    }
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Code> {
    let store = SqliteStore::open(&config.tickets.db)?;
    let s = store.stats(args.days)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&s)?)?;
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
