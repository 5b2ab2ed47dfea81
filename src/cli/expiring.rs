//! `customs-bot expiring [--days N]`: entries that expire within N days (or have expired), soonest
//! first, with the entry that supersedes each one, so staff write successors in time.

use crate::app::{load_knowledge, today};
use crate::config::Config;
use crate::knowledge::dated;

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many days ahead to look.
    #[arg(long, default_value_t = dated::EXPIRING_DAYS)]
    pub days: i64,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Code> {
    let loaded = load_knowledge(config);
    let today = today();
    let entries = &loaded.knowledge.entries;
    let mut out = super::Stdout::new();
    let list = dated::expiring(entries, today, args.days);
    for e in &list {
        let Some(x) = e.expires else { continue };
        let when = if x < today {
            format!("expired on {x}")
        } else {
            format!("expires on {x} (in {} days)", (x - today).num_days())
        };
        let next = match dated::superseded_by(entries, &e.id) {
            Some(s) => format!("superseded by `{}`", s.id),
            None => "no entry supersedes it".to_string(),
        };
        out.line(format_args!("{}  {when}; {next} — {} ({})", e.id, e.title, e.source))?;
    }
    out.line(format_args!(
        "{} entr{} expiring within {} days or expired",
        list.len(),
        if list.len() == 1 { "y" } else { "ies" },
        args.days
    ))?;
    Ok(Code::Ok)
}
