//! Operators on Telegram: their commands (/reply, /tickets, /gaps — in `gaps`), answering by replying to a ticket's
//! notice, and [`TelegramNotifier`] — how the desk announces tickets to the operators' chat and
//! reaches people in their Telegram chats.

use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::types::ParseMode;
use teloxide::utils::command::BotCommands;

use super::{Context, HandlerResult, TgBot, guarded, html, send_html};
use crate::config::OperatorsConfig;
use crate::desk::{Channel, Notice, Notifier, Pending};
use crate::tickets::{Ticket, parse_ticket_number};

/// Commands for operators (not shown to the public).
#[derive(BotCommands, Clone, Debug, PartialEq)]
#[command(rename_rule = "lowercase", description = "值班人员命令：")]
pub enum OperatorCommand {
    #[command(description = "答复工单：/reply T000001 答复内容")]
    Reply(String),
    #[command(description = "列出未处理的工单（最早的在前）")]
    Tickets,
    #[command(description = "知识缺口：机器人答不好的问题按主题归并，提问人数多的在前（/gaps 7 看最近 7 天）")]
    Gaps(String),
}

fn operator_usage() -> String {
    html(&OperatorCommand::descriptions().to_string())
}

/// Who answered, as the ticket records it.
fn operator_name(msg: &Message) -> String {
    format!("telegram:{}", msg.from.as_ref().map_or(0, |u| u.id.0))
}

pub(super) async fn on_operator_command(
    bot: TgBot,
    msg: Message,
    cmd: OperatorCommand,
    ctx: Arc<Context>,
) -> HandlerResult {
    let chat = msg.chat.id;
    guarded("operator command", chat, async move {
        if !ctx.is_operator(msg.from.as_ref()) {
            tracing::warn!(user = ?msg.from.as_ref().map(|u| u.id.0), "operator command from a non-operator");
            return send_html(&bot, chat, html("此命令仅限值班人员使用。"), None).await;
        }
        if !(ctx.is_operators_chat(chat) || msg.chat.is_private()) {
            return send_html(&bot, chat, html("请在值班群或与我的私聊中使用值班命令。"), None).await;
        }
        match cmd {
            OperatorCommand::Reply(args) => {
                let (number, text) = args.trim().split_once(char::is_whitespace).unwrap_or((args.trim(), ""));
                match parse_ticket_number(number) {
                    Some(id) if !text.trim().is_empty() => {
                        answer_ticket(&bot, &ctx, chat, id, text.trim().to_string(), operator_name(&msg)).await
                    }
                    _ => {
                        send_html(
                            &bot,
                            chat,
                            format!("用法：/reply T000001 答复内容\n\n{}", operator_usage()),
                            None,
                        )
                        .await
                    }
                }
            }
            OperatorCommand::Tickets => list_open(&bot, &ctx, chat).await,
            OperatorCommand::Gaps(days) => super::gaps::list_gaps(&bot, &ctx, chat, &days).await,
        }
    })
    .await
}

/// `/tickets`: the open tickets, oldest first, overdue ones flagged, times in the office's time.
async fn list_open(bot: &TgBot, ctx: &Context, chat: ChatId) -> HandlerResult {
    let cases = ctx.desk.cases().clone();
    let open = tokio::task::spawn_blocking(move || cases.list(Some(crate::tickets::TicketState::Open))).await??;
    if open.is_empty() {
        return send_html(bot, chat, html("没有未处理的工单。"), None).await;
    }
    let now = chrono::Utc::now();
    let clock = ctx.desk.assistant().config().office_clock();
    let lines: Vec<String> = open
        .iter()
        .map(|t| {
            format!(
                "<b>{}</b> {}{} {}：{}",
                t.number(),
                if ctx.desk.cases().is_overdue(t, now) {
                    "[逾期] "
                } else {
                    ""
                },
                html(&clock.format_minute(t.opened_at)),
                html(t.reason.label()),
                html(&t.question)
            )
        })
        .collect();
    let text = format!("未处理的工单（{} 个，最早的在前）：\n{}", open.len(), lines.join("\n"));
    send_html(bot, chat, text, None).await
}

/// An operator's reply to a ticket notice in the operators' chat answers that ticket.
pub(super) async fn on_operator_reply(bot: TgBot, msg: Message, ctx: Arc<Context>) -> HandlerResult {
    let chat = msg.chat.id;
    guarded("operator reply", chat, async move {
        let Some(replied) = msg.reply_to_message().map(|m| i64::from(m.id.0)) else {
            return Ok(());
        };
        let Some(ticket) = ctx.desk.ticket_by_notice(replied).await else {
            return Ok(());
        };
        if !ctx.is_operator(msg.from.as_ref()) {
            return send_html(&bot, chat, html("只有值班人员可以答复工单。"), None).await;
        }
        let Some(text) = msg.text().map(str::trim).filter(|t| !t.is_empty()) else {
            return send_html(&bot, chat, html("请用文字答复。"), None).await;
        };
        answer_ticket(&bot, &ctx, chat, ticket.id, text.to_string(), operator_name(&msg)).await
    })
    .await
}

async fn answer_ticket(bot: &TgBot, ctx: &Context, chat: ChatId, id: i64, text: String, by: String) -> HandlerResult {
    let reply = match ctx.desk.answer(id, text, by).await {
        Ok(t) => format!("已记录工单 <b>{}</b> 的答复，正在转达用户。", t.number()),
        Err(e) => format!("没能记录：{}\n\n{}", html(&e.sentence()), operator_usage()),
    };
    send_html(bot, chat, reply, None).await
}

/// The desk's notifier on Telegram: tickets announced in `[operators] chat_id`, answers and
/// registrations sent to the person's chat.
pub struct TelegramNotifier {
    bot: TgBot,
    operators_chat: Option<i64>,
}

impl TelegramNotifier {
    pub fn new(bot: TgBot, operators: &OperatorsConfig) -> Self {
        Self {
            bot,
            operators_chat: operators.chat_id,
        }
    }

    async fn send(&self, chat: i64, text: String) -> anyhow::Result<()> {
        send_html(&self.bot, ChatId(chat), text, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

fn announcement(t: &Ticket) -> String {
    let guesses = t.guess_titles();
    format!(
        "🆕 工单 <b>{}</b>（{}）\n问题：{}\n机器人的猜测：{}\n\n直接回复本消息即可答复用户，或发送 /reply {} 答复内容",
        t.number(),
        html(t.reason.label()),
        html(&t.question),
        html(&if guesses.is_empty() {
            "无".to_string()
        } else {
            guesses.join(" / ")
        }),
        t.number()
    )
}

impl Notifier for TelegramNotifier {
    fn announce<'a>(&'a self, t: &'a Ticket) -> Pending<'a, Option<i64>> {
        Box::pin(async move {
            let Some(chat) = self.operators_chat else {
                return Ok(None);
            };
            let m = self
                .bot
                .send_message(ChatId(chat), announcement(t))
                .parse_mode(ParseMode::Html)
                .await?;
            Ok(Some(i64::from(m.id.0)))
        })
    }

    fn remind<'a>(&'a self, t: &'a Ticket, open_hours: f64) -> Pending<'a, bool> {
        Box::pin(async move {
            let Some(chat) = self.operators_chat else {
                return Ok(false);
            };
            let text = format!(
                "⏰ 工单 <b>{}</b> 已逾期（已过 {:.1} 个工作小时）：{}\n回复原通知或发送 /reply {} 答复内容",
                t.number(),
                open_hours,
                html(&t.question),
                t.number()
            );
            self.send(chat, text).await?;
            Ok(true)
        })
    }

    fn reminds(&self) -> bool {
        self.operators_chat.is_some()
    }

    fn reaches(&self, channel: Channel) -> bool {
        channel == Channel::Telegram
    }

    fn tell<'a>(&'a self, notice: Notice<'a>) -> Pending<'a, ()> {
        Box::pin(async move {
            let (Notice::Answer(t) | Notice::Registered(t)) = notice;
            let chat: i64 = t
                .chat
                .parse()
                .map_err(|_| anyhow::anyhow!("`{}` is not a Telegram chat", t.chat))?;
            let text = match notice {
                Notice::Answer(t) => format!(
                    "关于您咨询的问题「{}」（工单 <b>{}</b>），工作人员答复如下：\n\n{}",
                    html(&t.question),
                    t.number(),
                    html(t.answer.as_deref().unwrap_or(""))
                ),
                Notice::Registered(t) => format!(
                    "您之前的问题「{}」已登记为工单 <b>{}</b>，工作人员答复后会在这里通知您。",
                    html(&t.question),
                    t.number()
                ),
            };
            self.send(chat, text).await
        })
    }
}
