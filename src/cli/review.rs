//! `customs-bot review …`: the operators' command line over the ticket store — list, show,
//! answer (relayed by the running bot), close, export (masked CSV) and promote to knowledge.

use std::io::Write;

use chrono::Utc;
use clap::Subcommand;

use crate::config::Config;
use crate::desk::Cases;
use crate::desk::knowledge::{PromoteTarget, promote};
use crate::knowledge::Kind;
use crate::tickets::{CloseReason, SqliteStore, TicketState, parse_ticket_number};

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List tickets, oldest first (overdue ones flagged).
    List {
        /// Only tickets in this state: open, answered, closed.
        #[arg(long)]
        state: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one ticket with the bot's guesses and its history.
    Show { ticket: String },
    /// Answer a ticket; a running bot relays the answer to the person's chat.
    Answer {
        ticket: String,
        text: String,
        /// Who answers (recorded with the ticket).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Close a ticket with a reason.
    Close {
        ticket: String,
        #[arg(long, value_enum)]
        reason: CloseArg,
    },
    /// Export tickets (personal data masked).
    Export {
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Turn a ticket into knowledge: add its question to an entry, or write a new entry from its answer.
    Promote {
        ticket: String,
        /// Add the question to this entry's alternate questions.
        #[arg(long, conflicts_with = "new")]
        to: Option<String>,
        /// Write a new entry with this id from the operator's answer.
        #[arg(long, required_unless_present = "to")]
        new: Option<String>,
        /// Kind of the new entry.
        #[arg(long, default_value = "faq")]
        kind: String,
        /// Title of the new entry (default: the question).
        #[arg(long)]
        title: Option<String>,
    },
}

/// Why a ticket is closed by hand (promotion and relaying close tickets themselves).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CloseArg {
    /// The answer reached the person another way.
    Relayed,
    /// The same question is handled in another ticket.
    Duplicate,
    /// Not a customs matter.
    OutOfScope,
    /// Turned into knowledge by hand.
    Promoted,
}

impl From<CloseArg> for CloseReason {
    fn from(a: CloseArg) -> Self {
        match a {
            CloseArg::Relayed => CloseReason::Relayed,
            CloseArg::Duplicate => CloseReason::Duplicate,
            CloseArg::OutOfScope => CloseReason::OutOfScope,
            CloseArg::Promoted => CloseReason::Promoted,
        }
    }
}

fn ticket_id(s: &str) -> anyhow::Result<i64> {
    parse_ticket_number(s).ok_or_else(|| anyhow::anyhow!("`{s}` is not a ticket number (e.g. T000012 or 12)"))
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Code> {
    let store = std::sync::Arc::new(SqliteStore::open(&config.tickets.db)?);
    let cases = Cases::new(std::sync::Arc::new(config.clone()), store);
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    match args.command {
        ReviewCommand::List { state, json } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(
                    TicketState::parse(s).ok_or_else(|| anyhow::anyhow!("--state must be open, answered or closed"))?,
                ),
            };
            let mut tickets = cases.list(state)?;
            // Overdue first, then oldest first.
            tickets.sort_by_key(|t| !cases.is_overdue(t, now));
            for t in &tickets {
                let overdue = cases.is_overdue(t, now);
                if json {
                    let mut v = serde_json::to_value(t)?;
                    v["number"] = t.number().into();
                    v["overdue"] = overdue.into();
                    writeln!(out, "{v}")?;
                } else {
                    writeln!(
                        out,
                        "{} {:8} {}{} {}  {}",
                        t.number(),
                        t.state.as_str(),
                        if overdue { "[逾期] " } else { "" },
                        office_minute(config, t.opened_at),
                        t.reason.label(),
                        t.question
                    )?;
                }
            }
            if !json {
                writeln!(out, "{} ticket(s)", tickets.len())?;
            }
        }
        ReviewCommand::Show { ticket } => {
            let id = ticket_id(&ticket)?;
            let t = cases.ticket(id)?;
            writeln!(out, "工单 {}（{}）", t.number(), t.state.as_str())?;
            writeln!(out, "渠道：{} 会话 {}", t.channel, t.chat)?;
            writeln!(out, "原因：{}", t.reason.label())?;
            writeln!(out, "问题：{}", t.question)?;
            let guesses = t.guess_titles();
            writeln!(
                out,
                "机器人的猜测：{}",
                if guesses.is_empty() {
                    "无".to_string()
                } else {
                    guesses.join(" / ")
                }
            )?;
            writeln!(
                out,
                "开单：{}{}",
                office_minute(config, t.opened_at),
                if cases.is_overdue(&t, now) { "（逾期）" } else { "" }
            )?;
            if let Some(a) = &t.answer {
                writeln!(
                    out,
                    "答复（{}，{}）：{a}",
                    t.answered_by.as_deref().unwrap_or("?"),
                    t.answered_at.map_or("?".to_string(), |at| office_minute(config, at))
                )?;
            }
            if let Some(r) = &t.relayed_at {
                writeln!(out, "已转达用户：{}", office_minute(config, *r))?;
            }
            if let Some(c) = &t.closed_at {
                writeln!(
                    out,
                    "关闭：{}（{}）",
                    office_minute(config, *c),
                    t.close_reason.map_or("?", |r| r.as_str())
                )?;
            }
            if let Some(p) = &t.promoted_to {
                writeln!(out, "已转为知识条目：{p}")?;
            }
        }
        ReviewCommand::Answer { ticket, text, by } => {
            let t = cases.answer(ticket_id(&ticket)?, &text, &by)?;
            writeln!(
                out,
                "answered {}; a running bot relays it to the person's chat within seconds",
                t.number()
            )?;
        }
        ReviewCommand::Close { ticket, reason } => {
            let reason = CloseReason::from(reason);
            let t = cases.close(ticket_id(&ticket)?, reason)?;
            writeln!(out, "closed {} ({})", t.number(), reason.as_str())?;
        }
        ReviewCommand::Export { format } => {
            anyhow::ensure!(format == "csv", "only --format csv is supported");
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "number",
                "opened_at",
                "channel",
                "chat",
                "reason",
                "state",
                "question",
                "answer",
                "answered_by",
                "answered_at",
                "closed_at",
                "close_reason",
                "promoted_to",
            ])?;
            let time = |t: Option<chrono::DateTime<Utc>>| t.map(|t| office_rfc3339(config, t)).unwrap_or_default();
            for t in cases.list(None)? {
                w.write_record([
                    t.number(),
                    office_rfc3339(config, t.opened_at),
                    t.channel.clone(),
                    t.chat.clone(),
                    t.reason.as_str().to_string(),
                    t.state.as_str().to_string(),
                    t.question.clone(),
                    t.answer.clone().unwrap_or_default(),
                    t.answered_by.clone().unwrap_or_default(),
                    time(t.answered_at),
                    time(t.closed_at),
                    t.close_reason.map(|r| r.as_str().to_string()).unwrap_or_default(),
                    t.promoted_to.clone().unwrap_or_default(),
                ])?;
            }
            w.flush()?;
            return Ok(Code::Ok);
        }
        ReviewCommand::Promote {
            ticket,
            to,
            new,
            kind,
            title,
        } => {
            let target = match (to, new) {
                (Some(id), _) => PromoteTarget::To(id),
                (None, Some(id)) => PromoteTarget::New {
                    id,
                    kind: Kind::parse(&kind).ok_or_else(|| {
                        anyhow::anyhow!("--kind must be one of service, policy, procedure, permit, faq")
                    })?,
                    title,
                },
                (None, None) => anyhow::bail!("say where the ticket goes: --to <entry-id> or --new <id>"),
            };
            let done = promote(&cases, ticket_id(&ticket)?, target)?;
            writeln!(
                out,
                "promoted to `{}` ({}); reindexed {} entries in {} ms — a running bot picks it up within seconds.\nReview and commit the change: git diff {}",
                done.entry,
                done.path.display(),
                done.index.entries,
                done.index.elapsed.as_millis(),
                done.path.display()
            )?;
        }
    }
    Ok(Code::Ok)
}

/// A time in the office's time zone, to the minute ("2026-11-29 21:05").
fn office_minute(config: &Config, t: chrono::DateTime<Utc>) -> String {
    crate::duty::local_time(config.duty.as_ref(), t)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A time in the office's time zone, RFC 3339 with its offset (for exports).
fn office_rfc3339(config: &Config, t: chrono::DateTime<Utc>) -> String {
    let hours = config.duty.as_ref().map_or(8, |d| d.utc_offset_hours);
    let offset = chrono::FixedOffset::east_opt(hours * 3600).expect("offsets are validated at load");
    t.with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
