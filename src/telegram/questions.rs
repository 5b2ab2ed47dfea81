//! Questions in text, everything else people send, and the replies with their buttons.

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, Me};

use super::{Callback, Context, HandlerResult, TgBot, chat, guarded, html, send_html};
use crate::desk::Answered;
use crate::ratelimit::Rate;
use crate::reply::Body;

/// In a private chat, everything; in a group, only commands, replies to the bot and mentions.
pub(super) fn addressed(msg: Message, me: Me) -> bool {
    if msg.chat.is_private() {
        return true;
    }
    let text = msg.text().or(msg.caption()).unwrap_or("");
    let mention = format!("@{}", me.username());
    if text.trim_start().starts_with('/') {
        // A command for another bot (/help@other_bot) is not for us.
        let first = text.split_whitespace().next().unwrap_or("");
        return first
            .split_once('@')
            .is_none_or(|(_, bot)| bot.eq_ignore_ascii_case(me.username()));
    }
    text.contains(&mention)
        || msg
            .reply_to_message()
            .and_then(|r| r.from.as_ref())
            .is_some_and(|u| u.id == me.id)
}

fn strip_mention(text: &str, username: &str) -> String {
    let mention = format!("@{username}");
    text.replace(&mention, " ").trim().to_string()
}

pub(super) async fn on_question(bot: TgBot, msg: Message, me: Me, ctx: Arc<Context>) -> HandlerResult {
    let id = msg.chat.id;
    guarded("question", id, async move {
        let question = strip_mention(msg.text().unwrap_or(""), me.username());
        let limit = ctx.questions_per_minute;
        let rate = ctx
            .desk
            .rate_hit("telegram", id.0.to_string(), limit, Duration::from_secs(60))
            .await;
        if let Rate::Limited(tell) = rate {
            tracing::info!("question rate limit reached");
            if tell {
                let text = "您提问有点快，请稍等一分钟再问；急事可拨打海关服务热线。";
                send_html(&bot, id, html(text), None).await?;
            }
            return Ok(());
        }
        tracing::debug!(text = ?question, "question text");
        let answered = ctx.desk.ask(&chat(id), &question).await;
        send_reply(&bot, &ctx, id, &answered).await
    })
    .await
}

fn feedback_keyboard(question: i64) -> InlineKeyboardMarkup {
    let button =
        |label: &str, helpful| InlineKeyboardButton::callback(label, Callback::Feedback { helpful, question }.format());
    InlineKeyboardMarkup::new(vec![vec![button("👍 有帮助", true), button("👎 没帮助", false)]])
}

/// Button text: Telegram shows about a line; keep titles short.
pub(super) fn button_text(title: &str) -> String {
    let chars: Vec<char> = title.chars().collect();
    if chars.len() <= 30 {
        title.to_string()
    } else {
        format!("{}…", chars[..29].iter().collect::<String>())
    }
}

/// Renders what the desk answered: the answer with feedback buttons, choices as buttons, or the
/// hand-off with who is on duty and the ticket it opened.
pub(super) async fn send_reply(bot: &TgBot, ctx: &Context, id: ChatId, answered: &Answered) -> HandlerResult {
    let office = ctx.office();
    let reply = &answered.reply;
    match &reply.body {
        Body::Answer(_) | Body::Superseded { .. } => {
            let keyboard = answered.question_id.map(feedback_keyboard);
            send_html(bot, id, reply.telegram_html(office), keyboard).await
        }
        Body::FollowUp { .. } => {
            // Answered from the topic: a way out when the topic assumed was the wrong one.
            let mut rows = answered
                .question_id
                .map(feedback_keyboard)
                .map(|k| k.inline_keyboard)
                .unwrap_or_default();
            rows.push(vec![InlineKeyboardButton::callback(
                "不是这个？",
                Callback::NotThis.format(),
            )]);
            send_html(
                bot,
                id,
                reply.telegram_html(office),
                Some(InlineKeyboardMarkup::new(rows)),
            )
            .await
        }
        Body::Parts(_) => {
            // Answered parts, and the part only a person can answer referred with its ticket.
            let mut text = reply.telegram_html(office);
            if let Some(t) = &answered.ticket {
                text.push_str(&format!(
                    "\n\n{}\n需要人工答复的部分已登记为工单 <b>{}</b>，工作人员答复后会在这里通知您。",
                    html(&ctx.duty_line()),
                    t.number()
                ));
            }
            let keyboard = answered.question_id.map(feedback_keyboard);
            send_html(bot, id, text, keyboard).await
        }
        Body::Clarify(choices) => {
            let mut rows: Vec<Vec<InlineKeyboardButton>> = choices
                .iter()
                .map(|c| {
                    vec![InlineKeyboardButton::callback(
                        button_text(&c.title),
                        Callback::Pick(c.id.clone()).format(),
                    )]
                })
                .collect();
            rows.push(vec![InlineKeyboardButton::callback(
                "都不是，转人工",
                Callback::Human.format(),
            )]);
            let lead = if choices.len() == 1 {
                "我不太确定您问的是不是这一项，请点选："
            } else {
                "您的问题可能与以下几项有关，请点选："
            };
            send_html(bot, id, html(lead), Some(InlineKeyboardMarkup::new(rows))).await
        }
        Body::Handoff(_) => {
            let mut text = reply.telegram_html(office);
            text.push('\n');
            text.push_str(&html(&ctx.duty_line()));
            if let Some(t) = &answered.ticket {
                text.push_str(&format!(
                    "\n\n您的问题已登记为工单 <b>{}</b>，工作人员答复后会在这里通知您。",
                    t.number()
                ));
            }
            send_html(bot, id, text, None).await
        }
        Body::Smalltalk(_) | Body::Redirect { .. } => send_html(bot, id, reply.telegram_html(office), None).await,
    }
}

pub(super) async fn on_other(bot: TgBot, msg: Message, ctx: Arc<Context>) -> HandlerResult {
    let id = msg.chat.id;
    guarded("other message", id, async move {
        let what = if msg.sticker().is_some() {
            "贴纸"
        } else if msg.photo().is_some() {
            "图片"
        } else if msg.voice().is_some() || msg.audio().is_some() {
            "语音"
        } else if msg.document().is_some() {
            "文件"
        } else {
            "这类消息"
        };
        tracing::info!(kind = what, "non-text message");
        let text = format!(
            "收到您的{what}。目前我只能阅读文字消息，请用文字描述您的问题，例如「报关单填错了怎么改」；也可以拨打海关服务热线 {}。",
            ctx.office().get("hotline").map_or("12360", String::as_str)
        );
        send_html(&bot, id, html(&text), None).await
    })
    .await
}

pub(super) async fn on_edited(bot: TgBot, msg: Message) -> HandlerResult {
    let id = msg.chat.id;
    guarded("edited message", id, async move {
        let text = "收到您修改后的消息。如需我按新的内容回答，请把问题作为一条新消息发送。";
        send_html(&bot, id, html(text), None).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_stripped() {
        assert_eq!(
            strip_mention("@customs_test_bot 滞报金怎么算", "customs_test_bot"),
            "滞报金怎么算"
        );
    }

    #[test]
    fn feedback_buttons_carry_the_question() {
        use teloxide::types::InlineKeyboardButtonKind;
        let data: Vec<Option<Callback>> = feedback_keyboard(7)
            .inline_keyboard
            .into_iter()
            .flatten()
            .map(|b| match b.kind {
                InlineKeyboardButtonKind::CallbackData(d) => super::super::parse_callback(&d),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            data,
            [true, false].map(|helpful| Some(Callback::Feedback { helpful, question: 7 }))
        );
    }
}
