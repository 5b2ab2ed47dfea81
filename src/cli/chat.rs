//! `customs-bot chat`: an interactive conversation in the terminal over the same answering path
//! as the bot. A clarify offers numbered choices; typing the number answers it.

use std::io::{BufRead, Write};

use crate::answer::Decision;
use crate::app::Assistant;
use crate::config::Config;
use crate::reply::Body;

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(config: Config, _args: Args) -> anyhow::Result<Code> {
    let assistant = Assistant::start(config)?;
    let office = assistant.config().office.clone();
    let name = office.get("office_name").cloned().unwrap_or_default();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{name}咨询助手（输入问题后回车；输入「退出」或按 Ctrl-D 结束）")?;
    let mut choices: Vec<String> = Vec::new();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        write!(out, "\n> ")?;
        out.flush()?;
        let Some(line) = lines.next() else { break };
        let line = line?;
        let input = line.trim();
        if matches!(input, "退出" | "exit" | "quit" | "q") {
            break;
        }
        if input.is_empty() {
            continue;
        }
        let picked = input
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| choices.get(i))
            .and_then(|id| assistant.answer_entry(id));
        let reply = picked.unwrap_or_else(|| assistant.ask(input));
        choices = match (&reply.decision, &reply.body) {
            (Decision::Clarify, Body::Clarify(c)) => c.iter().map(|c| c.id.clone()).collect(),
            _ => Vec::new(),
        };
        writeln!(out, "{}", reply.plain(&office))?;
        if !choices.is_empty() {
            writeln!(out, "（回复序号即可）")?;
        }
    }
    writeln!(out, "再见！")?;
    Ok(Code::Ok)
}
