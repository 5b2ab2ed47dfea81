//! The public commands: /start, /help, /hotline, /human, /topics, and anything else after a slash.

use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use teloxide::utils::command::BotCommands;

use super::{Callback, Context, HandlerResult, TgBot, chat, guarded, html, send_html};
use crate::knowledge::Kind;
use crate::reply::hotline_lines;

/// The bot's commands (registered with setMyCommands).
#[derive(BotCommands, Clone, Debug, PartialEq)]
#[command(rename_rule = "lowercase", description = "可用命令：")]
pub enum Command {
    #[command(description = "开始使用，看看我能做什么")]
    Start,
    #[command(description = "使用帮助")]
    Help,
    #[command(description = "海关服务热线和人工服务时间")]
    Hotline,
    #[command(description = "转人工服务")]
    Human,
    #[command(description = "按类别浏览办事指南")]
    Topics,
}

fn welcome(ctx: &Context) -> String {
    let name = ctx.office().get("office_name").map_or("海关", String::as_str);
    format!(
        "您好！我是{}咨询助手。\n\n直接输入您的问题即可，例如「知识产权海关保护备案怎么办」「滞报金怎么算」。我会按海关公开的办事指南和法律规定回答，并注明依据；拿不准的，会告诉您人工热线并记录工单。\n\n/topics 按类别浏览　/hotline 热线电话　/human 转人工",
        html(name)
    )
}

fn help_text() -> String {
    format!(
        "怎么问：用一两句话说明要办的事，例如「报关单填错了怎么改」「保税仓库怎么申请」。\n\n{}",
        html(&Command::descriptions().to_string())
    )
}

pub(super) fn topics_keyboard() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        Kind::ALL
            .iter()
            .map(|k| vec![InlineKeyboardButton::callback(k.label(), Callback::Kind(*k).format())]),
    )
}

pub(super) async fn on_command(bot: TgBot, msg: Message, cmd: Command, ctx: Arc<Context>) -> HandlerResult {
    let chat = msg.chat.id;
    guarded("command", chat, async move {
        tracing::info!(command = ?cmd, "command");
        match cmd {
            Command::Start => send_html(&bot, chat, welcome(&ctx), Some(topics_keyboard())).await,
            Command::Help => send_html(&bot, chat, help_text(), None).await,
            Command::Hotline => {
                let text = format!("{}\n{}", html(&hotline_lines(ctx.office())), html(&ctx.duty_line()));
                send_html(&bot, chat, text, None).await
            }
            Command::Human => hand_off_now(&bot, &ctx, chat, "（用户请求人工服务）").await,
            Command::Topics => send_html(&bot, chat, "请选择类别：".into(), Some(topics_keyboard())).await,
        }
    })
    .await
}

pub(super) async fn on_unknown_command(bot: TgBot, msg: Message) -> HandlerResult {
    let chat = msg.chat.id;
    guarded("unknown command", chat, async move {
        let text = format!("没有这个命令。{}", help_text());
        send_html(&bot, chat, text, None).await
    })
    .await
}

/// Opens a ticket for a person who asked for a human and tells them how it goes on.
pub(super) async fn hand_off_now(bot: &TgBot, ctx: &Context, id: ChatId, note: &str) -> HandlerResult {
    let ticket = ctx.desk.request_human(&chat(id), note).await;
    let text = human_contact(
        ctx,
        "好的，为您转人工。您可以联系：",
        ticket.map(|t| t.number()).as_deref(),
    );
    send_html(bot, id, text, None).await
}

/// `lead`, the hotline lines, who is on duty, and the ticket number when one was opened.
pub(super) fn human_contact(ctx: &Context, lead: &str, ticket: Option<&str>) -> String {
    let mut text = format!(
        "{}\n{}\n{}",
        html(lead),
        html(&hotline_lines(ctx.office())),
        html(&ctx.duty_line())
    );
    if let Some(number) = ticket {
        text.push_str(&registered(number));
    }
    text
}

/// The line that tells a person their ticket number.
pub(super) fn registered(number: &str) -> String {
    format!("\n\n已登记工单 <b>{number}</b>，工作人员答复后会在这里通知您。")
}
