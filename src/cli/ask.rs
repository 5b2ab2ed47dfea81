//! `customs-bot ask`: the staff's test panel. One question as arguments, or one per line on
//! standard input (batch); plain text or `--json` (one object per line). Records nothing.
//!
//! A batch line may also be a JSON object `{"chat": "<id>", "question": "<text>"}`: lines with the
//! same `chat` form one conversation, in input order (follow-ups are read in its context; the state
//! is kept in memory for the batch only). Plain lines are questions on their own.

use std::io::{BufRead, Write};

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::app::Assistant;
use crate::config::Config;
use crate::conversation::Conversation;
use crate::reply::{Reply, ReplyJson};

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
    let assistant = Assistant::preview(config)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !args.question.is_empty() {
        let question = args.question.join(" ");
        print(
            &assistant,
            &question,
            None,
            assistant.ask(&question),
            args.json,
            false,
            &mut out,
        )?;
        return Ok(Code::Ok);
    }
    let mut conversations: HashMap<String, Conversation> = HashMap::new();
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
        if line.trim_start().starts_with('{') {
            let Ok(turn) = serde_json::from_str::<ChatLine>(line) else {
                skipped += 1;
                eprintln!(
                    "line {}: not a JSON object {{\"chat\": \"…\", \"question\": \"…\"}} — skipped",
                    n + 1
                );
                continue;
            };
            let before = conversations.entry(turn.chat.clone()).or_default();
            let t = assistant.converse(before, &turn.question);
            let topic = t.topic().map(str::to_string);
            *before = t.conversation;
            let chat = Some((turn.chat.as_str(), topic.as_deref()));
            print(&assistant, &turn.question, chat, t.reply, args.json, true, &mut out)?;
        } else {
            print(&assistant, line, None, assistant.ask(line), args.json, true, &mut out)?;
        }
    }
    Ok(if skipped > 0 { Code::Problems } else { Code::Ok })
}

/// One line of a conversation batch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatLine {
    chat: String,
    question: String,
}

/// The JSON object of one reply, with the conversation fields when the line named a chat.
#[derive(Serialize)]
struct Output<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    chat: Option<&'a str>,
    /// The entry the turn was resolved against, or null.
    topic: Option<&'a str>,
    #[serde(flatten)]
    reply: ReplyJson<'a>,
}

/// Prints one reply; `chat` is the conversation's id and the turn's topic, when the line named one.
fn print(
    a: &Assistant,
    question: &str,
    chat: Option<(&str, Option<&str>)>,
    reply: Reply,
    json: bool,
    batch: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let office = &a.config().office;
    if json {
        let topic = match chat {
            Some((_, topic)) => topic,
            None => reply.entry.as_ref().map(|e| e.id.as_str()),
        };
        let output = Output {
            chat: chat.map(|(c, _)| c),
            topic,
            reply: reply.to_json(office),
        };
        writeln!(out, "{}", serde_json::to_string(&output)?)?;
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
