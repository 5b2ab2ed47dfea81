//! `customs-bot review …`: the operators' command line over the ticket store — list, show,
//! answer (relayed by the running bot), close, export (masked CSV) and promote to knowledge.
//! Times are shown in the office's time zone (`Config::office_clock`): to the minute for people,
//! RFC 3339 with the office's offset in JSON and CSV.

use std::io::Write;

use chrono::Utc;
use clap::Subcommand;

use crate::config::Config;
use crate::desk::Cases;
use crate::desk::knowledge::{PromoteTarget, cli_user, promote};
use crate::duty::OfficeClock;
use crate::knowledge::Kind;
use crate::tickets::{CloseReason, StoreOptions, Ticket, TicketState, open_store, parse_ticket_number};

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List tickets, oldest first (overdue ones flagged), opened times in the office's time zone.
    List {
        /// Only tickets in this state: open, answered, closed.
        #[arg(long)]
        state: Option<String>,
        /// One JSON object per line; times RFC 3339 with the office's offset
        /// (2026-11-29T22:05:00+08:00).
        #[arg(long)]
        json: bool,
    },
    /// Show one ticket with the bot's guesses and its history.
    Show { ticket: String },
    /// Answer a ticket; a running `serve` relays the answer to the person's chat.
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
    /// Export tickets (personal data masked); times RFC 3339 with the office's offset
    /// (2026-11-29T22:05:00+08:00).
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
        /// Publish even when the regression gate refuses (recorded as accepted by you).
        #[arg(long)]
        accept: bool,
    },
    /// What a person was told for a logged question: the reply as sent, the entry versions it
    /// came from and whether they changed since.
    Why {
        /// The question's id in the log.
        question: i64,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Why a ticket is closed by hand (relaying and promotion close tickets themselves).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CloseArg {
    /// The answer reached the person another way.
    Relayed,
    /// Turned into knowledge by hand.
    Promoted,
    /// The same question is handled in another ticket.
    Duplicate,
    /// Not a customs matter.
    OutOfScope,
}

impl From<CloseArg> for CloseReason {
    fn from(a: CloseArg) -> Self {
        match a {
            CloseArg::Relayed => CloseReason::Relayed,
            CloseArg::Promoted => CloseReason::Promoted,
            CloseArg::Duplicate => CloseReason::Duplicate,
            CloseArg::OutOfScope => CloseReason::OutOfScope,
        }
    }
}

fn ticket_id(s: &str) -> anyhow::Result<i64> {
    parse_ticket_number(s).ok_or_else(|| anyhow::anyhow!("`{s}` is not a ticket number (e.g. T000012 or 12)"))
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Code> {
    let store = open_store(&config.tickets, StoreOptions::default())?;
    let cases = Cases::new(std::sync::Arc::new(config.clone()), store);
    let mut out = std::io::stdout().lock();
    match args.command {
        ReviewCommand::List { state, json } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(
                    TicketState::parse(s).ok_or_else(|| anyhow::anyhow!("--state must be open, answered or closed"))?,
                ),
            };
            list(&cases, cases.list(state)?, json, &mut out)?;
        }
        ReviewCommand::Show { ticket } => {
            let id = ticket_id(&ticket)?;
            show(&cases, &cases.ticket(id)?, &mut out)?;
        }
        ReviewCommand::Answer { ticket, text, by } => {
            let t = cases.answer(ticket_id(&ticket)?, &text, &by)?;
            writeln!(
                out,
                "answered {}; a running `serve` relays it to the person's Telegram chat within 30 seconds (on the web, the person reads it on their ticket page)",
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
            export(config.office_clock(), cases.list(None)?, out)?;
            return Ok(Code::Ok);
        }
        ReviewCommand::Promote {
            ticket,
            to,
            new,
            kind,
            title,
            accept,
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
            let done = promote(&cases, ticket_id(&ticket)?, target, &cli_user(), accept)?;
            for l in done.index.lines() {
                writeln!(out, "{l}")?;
            }
            if !done.index.outcome.published() {
                writeln!(
                    out,
                    "not promoted: the regression gate refused, so the edit was undone and the ticket stays open; run again with --accept to publish it anyway"
                )?;
                return Ok(Code::Refused);
            }
            writeln!(
                out,
                "promoted to `{}` ({}); reindexed {} entries in {} ms — a running bot picks it up within seconds.\nReview and commit the change: git diff {}",
                done.entry,
                done.path.display(),
                done.index.report.entries,
                done.index.report.elapsed.as_millis(),
                done.path.display()
            )?;
        }
        ReviewCommand::Why { question, json } => super::why::run(&cases, question, json, &mut out)?,
    }
    Ok(Code::Ok)
}

/// `review list`: overdue first, then oldest first; one line or one JSON object per ticket.
fn list(cases: &Cases, mut tickets: Vec<Ticket>, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let (now, clock) = (Utc::now(), cases.config().office_clock());
    tickets.sort_by_key(|t| !cases.is_overdue(t, now));
    for t in &tickets {
        let overdue = cases.is_overdue(t, now);
        if json {
            let mut v = serde_json::to_value(t)?;
            v["number"] = t.number().into();
            v["overdue"] = overdue.into();
            for (key, at) in [
                ("opened_at", Some(t.opened_at)),
                ("answered_at", t.answered_at),
                ("relayed_at", t.relayed_at),
                ("closed_at", t.closed_at),
            ] {
                if let Some(at) = at {
                    v[key] = clock.rfc3339(at).into();
                }
            }
            writeln!(out, "{v}")?;
        } else {
            writeln!(
                out,
                "{} {:8} {}{} {}  {}",
                t.number(),
                t.state.as_str(),
                if overdue { "[逾期] " } else { "" },
                clock.format_minute(t.opened_at),
                t.reason.label(),
                t.question
            )?;
        }
    }
    if !json {
        writeln!(out, "{} ticket(s)", tickets.len())?;
    }
    Ok(())
}

/// `review show`: one ticket with the bot's guesses and its history, times in office time.
fn show(cases: &Cases, t: &Ticket, out: &mut impl Write) -> anyhow::Result<()> {
    let clock = cases.config().office_clock();
    writeln!(out, "工单 {}（{}）", t.number(), t.state.as_str())?;
    writeln!(out, "渠道：{} 会话 {}", t.channel, t.chat)?;
    writeln!(out, "原因：{}", t.reason.label())?;
    writeln!(out, "问题：{}", t.question)?;
    if let Some(q) = t.question_id {
        writeln!(out, "提问记录：{q}（customs-bot review why {q}）")?;
    }
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
        clock.format_minute(t.opened_at),
        if cases.is_overdue(t, Utc::now()) {
            "（逾期）"
        } else {
            ""
        }
    )?;
    if let Some(a) = &t.answer {
        writeln!(
            out,
            "答复（{}，{}）：{a}",
            t.answered_by.as_deref().unwrap_or("?"),
            t.answered_at.map_or("?".to_string(), |at| clock.format_minute(at))
        )?;
    }
    if let Some(r) = t.relayed_at {
        writeln!(out, "已转达用户：{}", clock.format_minute(r))?;
    }
    if let Some(c) = t.closed_at {
        let reason = t.close_reason.map_or("?", |r| r.as_str());
        writeln!(out, "关闭：{}（{reason}）", clock.format_minute(c))?;
    }
    if let Some(p) = &t.promoted_to {
        writeln!(out, "已转为知识条目：{p}")?;
    }
    Ok(())
}

/// `review export`: every ticket as CSV, times RFC 3339 with the office's offset.
fn export(clock: OfficeClock, tickets: Vec<Ticket>, out: impl Write) -> anyhow::Result<()> {
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
    let machine = |t: Option<chrono::DateTime<Utc>>| t.map(|t| clock.rfc3339(t)).unwrap_or_default();
    for t in tickets {
        w.write_record([
            t.number(),
            machine(Some(t.opened_at)),
            t.channel,
            t.chat,
            t.reason.as_str().to_string(),
            t.state.as_str().to_string(),
            t.question,
            t.answer.unwrap_or_default(),
            t.answered_by.unwrap_or_default(),
            machine(t.answered_at),
            machine(t.closed_at),
            t.close_reason.map(|r| r.as_str().to_string()).unwrap_or_default(),
            t.promoted_to.unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
