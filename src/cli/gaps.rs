//! `customs-bot gaps`: the knowledge gaps of the last days — questions handed off, referred,
//! marked 没帮助 or left with choices unpicked, grouped by topic and ranked by how many people
//! asked (see `crate::insight::gaps`).

use crate::app;
use crate::config::Config;
use crate::insight::{self, Gap};
use crate::tickets::{StoreOptions, open_store, ticket_number};

use super::{Code, Stdout};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Look back this many days.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=insight::MAX_DAYS as i64))]
    pub days: u32,
    /// One JSON array of gaps.
    #[arg(long)]
    pub json: bool,
    /// Show at most this many gaps (all with --json).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
}

/// How many questions of a gap are printed for people.
const SHOWN: usize = 5;

pub fn run(config: &Config, args: Args) -> anyhow::Result<Code> {
    // The words are cut as the answering path cuts them: the index's own analyzer.
    let index = app::prepare_index(config, false)?;
    let store = open_store(&config.tickets, StoreOptions::default())?;
    let gaps = insight::load_gaps(store.as_ref(), index.analyzer(), args.days, chrono::Utc::now())?;
    let mut out = Stdout::new();
    if args.json {
        out.line(serde_json::to_string(&gaps)?)?;
        return Ok(Code::Ok);
    }
    let clock = config.office_clock();
    out.line(format_args!("最近 {} 天的知识缺口：{} 个", args.days, gaps.len()))?;
    for (i, g) in gaps.iter().take(args.top).enumerate() {
        print_gap(&mut out, i + 1, g, clock)?;
    }
    Ok(Code::Ok)
}

fn print_gap(out: &mut Stdout, n: usize, g: &Gap, clock: crate::duty::OfficeClock) -> std::io::Result<()> {
    out.line(format_args!(
        "\n{n}. {}  [{}]  {} 人（本周 {}，上周 {}），{} 个问题",
        g.words.join(" "),
        g.key,
        g.people,
        g.this_week,
        g.last_week,
        g.questions.len()
    ))?;
    for q in g.questions.iter().take(SHOWN) {
        let ticket = q.ticket.map(|t| format!(" {}", ticket_number(t))).unwrap_or_default();
        out.line(format_args!(
            "   {} {} {}{ticket}：{}",
            clock.format_minute(q.at),
            q.channel,
            q.why.label(),
            q.question
        ))?;
    }
    if g.questions.len() > SHOWN {
        out.line(format_args!("   …… 另有 {} 个", g.questions.len() - SHOWN))?;
    }
    if !g.guesses.is_empty() {
        let guesses: Vec<String> = g
            .guesses
            .iter()
            .map(|(x, k)| format!("{}（{}）×{k}", x.label(), x.id))
            .collect();
        out.line(format_args!("   机器人猜的条目：{}", guesses.join("，")))?;
    }
    for a in &g.answers {
        out.line(format_args!("   值班人员的答复：{a}"))?;
    }
    Ok(())
}
