//! `customs-bot chat`: an interactive conversation in the terminal over the same answering path
//! as the bot, read in context like every conversation (follow-ups, 那出口呢, choices answered by
//! number or in words). Records nothing: the conversation lives for the session.

use std::io::{BufRead, Write};

use crate::app::Assistant;
use crate::config::Config;
use crate::conversation::Conversation;
use crate::reply::Body;

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(config: Config, _args: Args) -> anyhow::Result<Code> {
    let assistant = Assistant::preview(config)?;
    let office = assistant.config().office.clone();
    let name = office.get("office_name").cloned().unwrap_or_default();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{name}咨询助手（输入问题后回车；输入「退出」或按 Ctrl-D 结束）")?;
    let mut conversation = Conversation::default();
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
        let turn = assistant.converse(&conversation, input);
        conversation = turn.conversation;
        writeln!(out, "{}", turn.reply.plain(&office))?;
        if matches!(turn.reply.body, Body::Clarify(_)) {
            writeln!(out, "（回复序号或名称即可）")?;
        }
    }
    writeln!(out, "再见！")?;
    Ok(Code::Ok)
}
