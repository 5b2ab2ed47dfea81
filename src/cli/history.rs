//! `customs-bot history [--entry ID] [--json]`: the audit trail of knowledge changes, newest first
//! — when (the office's time), who, what (reindex or promote), the entries added / changed /
//! removed and those changed outside customs-bot, the fingerprints and the gate's result.

use crate::config::Config;
use crate::tickets::{StoreOptions, open_store};

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only changes that touched this entry.
    #[arg(long)]
    pub entry: Option<String>,
    /// One JSON object per change (times RFC 3339 with the office's offset).
    #[arg(long)]
    pub json: bool,
    /// At most this many changes.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Also print each change's gate report.
    #[arg(long)]
    pub detail: bool,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Code> {
    let store = open_store(&config.tickets, StoreOptions::default())?;
    let clock = config.office_clock();
    let changes = store.changes(args.entry.as_deref(), args.limit)?;
    let mut out = super::Stdout::new();
    for c in &changes {
        if args.json {
            let mut v = serde_json::to_value(c)?;
            v["at"] = c.at.map(|at| clock.rfc3339(at)).into();
            out.line(v)?;
            continue;
        }
        let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
        out.line(format_args!(
            "#{} {} {} by {} — gate: {}",
            c.id,
            c.at.map_or("?".into(), |at| clock.format_minute(at)),
            c.action,
            c.who,
            c.gate
        ))?;
        out.line(format_args!(
            "    added: {}; changed: {}; removed: {}",
            list(&c.added),
            list(&c.changed),
            list(&c.removed)
        ))?;
        if !c.outside.is_empty() {
            out.line(format_args!(
                "    changed outside customs-bot: {}",
                c.outside.join(", ")
            ))?;
        }
        out.line(format_args!(
            "    knowledge {} → {}",
            c.fingerprint_before.as_deref().map_or("(none)", short),
            short(&c.fingerprint_after)
        ))?;
        if args.detail {
            for l in c.detail.lines() {
                out.line(format_args!("    | {l}"))?;
            }
        }
    }
    if changes.is_empty() && !args.json {
        out.line("no knowledge changes recorded")?;
    }
    Ok(Code::Ok)
}

/// The first 12 hex digits of a fingerprint.
fn short(f: &str) -> &str {
    f.get(..12).unwrap_or(f)
}
