//! `customs-bot ask`: the staff's test panel. One question as arguments, or one per line on
//! standard input (batch); plain text or `--json` (one object per line). Records nothing.

use std::io::{BufRead, Write};

use crate::app::Assistant;
use crate::config::Config;

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object per question.
    #[arg(long)]
    pub json: bool,
    /// The question. Without it, questions are read from standard input, one per line.
    pub question: Vec<String>,
}

pub fn run(config: Config, args: Args) -> anyhow::Result<Code> {
    let assistant = Assistant::start(config)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !args.question.is_empty() {
        print(&assistant, &args.question.join(" "), args.json, false, &mut out)?;
        return Ok(Code::Ok);
    }
    let mut skipped = 0usize;
    for (n, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let line = line?;
        // One bad line (not UTF-8) is reported by number and skipped; the rest are still asked.
        let Ok(line) = std::str::from_utf8(&line) else {
            skipped += 1;
            eprintln!(
                "line {}: not valid UTF-8 — skipped (save the questions as UTF-8)",
                n + 1
            );
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        print(&assistant, line, args.json, true, &mut out)?;
    }
    Ok(if skipped > 0 { Code::Problems } else { Code::Ok })
}

fn print(a: &Assistant, question: &str, json: bool, batch: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let reply = a.ask(question);
    let office = &a.config().office;
    if json {
        writeln!(out, "{}", serde_json::to_string(&reply.to_json(office))?)?;
    } else {
        if batch {
            writeln!(out, "> {question}")?;
        }
        writeln!(out, "{}", reply.plain(office))?;
        if batch {
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}
