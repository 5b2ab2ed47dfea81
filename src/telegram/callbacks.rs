//! Inline buttons: their typed callback data (a parse/format round trip), and what a press does.

use std::sync::Arc;

use teloxide::dispatching::dialogue::GetChatId;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::commands::{hand_off_now, human_contact};
use super::questions::{button_text, send_reply};
use super::{Context, HandlerResult, TgBot, chat, guarded, html, send_html};
use crate::desk::{FeedbackOutcome, Unchosen};
use crate::knowledge::Kind;
use crate::tickets::QuestionRef;

/// What an inline button's callback data asks for. The buttons' data is built in this module
/// (`pick:{id}`, `fb:y:{question}`, `fb:n:{question}`, `kind:{kind}`, `human`, `notthis`); anything else a
/// client sends is `None` and only acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// Show this entry (a "did you mean" choice or a topic's entry).
    Pick(String),
    /// 有帮助 (`helpful`) or 没帮助 on the logged question with this id.
    Feedback { helpful: bool, question: i64 },
    /// List the entries of one kind.
    Kind(Kind),
    /// None of the choices fits: hand off to a person.
    Human,
    /// 不是这个？ under a follow-up: the topic assumed was the wrong one.
    NotThis,
}

impl Callback {
    /// The callback data of a button asking for this; [`parse_callback`] reads it back.
    pub fn format(&self) -> String {
        match self {
            Callback::Pick(id) => format!("pick:{id}"),
            Callback::Feedback { helpful, question } => format!("fb:{}:{question}", if *helpful { "y" } else { "n" }),
            Callback::Kind(kind) => format!("kind:{}", kind.as_str()),
            Callback::Human => "human".to_string(),
            Callback::NotThis => NOT_THIS.to_string(),
        }
    }
}

const NOT_THIS: &str = "notthis";

/// Reads a button's callback data; `None` for data no button of ours carries.
pub fn parse_callback(data: &str) -> Option<Callback> {
    if let Some(id) = data.strip_prefix("pick:") {
        Some(Callback::Pick(id.to_string()))
    } else if let Some(rest) = data.strip_prefix("fb:") {
        let (helpful, question) = match rest.split_once(':')? {
            ("y", id) => (true, id),
            ("n", id) => (false, id),
            _ => return None,
        };
        Some(Callback::Feedback {
            helpful,
            question: question.parse().ok()?,
        })
    } else if let Some(kind) = data.strip_prefix("kind:") {
        Kind::parse(kind).map(Callback::Kind)
    } else if data == "human" {
        Some(Callback::Human)
    } else if data == NOT_THIS {
        Some(Callback::NotThis)
    } else {
        None
    }
}

pub(super) async fn on_callback(bot: TgBot, q: CallbackQuery, ctx: Arc<Context>) -> HandlerResult {
    // Always answer the query first: the client shows a spinner until we do.
    let ack = bot.answer_callback_query(q.id.clone());
    let Some(id) = q.chat_id() else {
        ack.await?;
        return Ok(());
    };
    guarded("callback", id, async move {
        let data = q.data.clone().unwrap_or_default();
        tracing::info!(data = ?data, "button");
        match parse_callback(&data) {
            Some(Callback::Pick(entry)) => {
                ack.await?;
                // Any current entry may be opened here (the topics list offers them all); a pick
                // among offered choices also closes those choices.
                match ctx.desk.choose(&chat(id), &entry, false).await {
                    Ok(answered) => send_reply(&bot, &ctx, id, &answered).await,
                    Err(Unchosen::Gone | Unchosen::Unavailable) => {
                        send_html(&bot, id, html("这一条已经更新或下线了，请重新提问。"), None).await
                    }
                }
            }
            Some(Callback::Feedback { helpful, question }) => {
                // Only the chat that asked may give feedback on its question (callback data can be forged).
                match ctx.desk.feedback(&chat(id), QuestionRef::Id(question), helpful).await {
                    FeedbackOutcome::Sorry(ticket) => {
                        ack.text("已记录，我们会改进").await?;
                        let number = ticket.map(|t| t.number());
                        let text = human_contact(&ctx, "抱歉没能帮上忙。您可以联系人工：", number.as_deref());
                        send_html(&bot, id, text, None).await
                    }
                    FeedbackOutcome::Thanks => Ok(ack.text("感谢您的反馈！").await.map(drop)?),
                    FeedbackOutcome::AlreadyRecorded => Ok(ack.text("已经收到您的反馈了，谢谢").await.map(drop)?),
                    FeedbackOutcome::Unknown => Ok(ack.await.map(drop)?),
                    FeedbackOutcome::Failed => Ok(ack.text("暂时无法记录，请稍后再试").await.map(drop)?),
                }
            }
            Some(Callback::Kind(kind)) => {
                ack.await?;
                let topics = ctx.desk.assistant().topics(kind);
                if topics.is_empty() {
                    return send_html(&bot, id, html("这一类暂时没有条目。"), None).await;
                }
                let rows = topics.iter().map(|(entry, title)| {
                    vec![InlineKeyboardButton::callback(
                        button_text(title),
                        Callback::Pick(entry.clone()).format(),
                    )]
                });
                let text = format!("{}（{} 条），点选查看：", kind.label(), topics.len());
                send_html(&bot, id, html(&text), Some(InlineKeyboardMarkup::new(rows))).await
            }
            Some(Callback::Human) => {
                ack.await?;
                hand_off_now(&bot, &ctx, id, "（用户在选项中选择了转人工）").await
            }
            Some(Callback::NotThis) => {
                ack.await?;
                // The same turn as typing it: the conversation forgets the topic and asks for the
                // question in full words.
                let answered = ctx.desk.ask(&chat(id), "不是这个").await;
                send_reply(&bot, &ctx, id, &answered).await
            }
            None => Ok(ack.await.map(drop)?),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_fits_in_64_bytes() {
        let longest_id = "x".repeat(crate::knowledge::entry::MAX_ID_LEN);
        assert!(Callback::Pick(longest_id).format().len() <= 64);
        for question in [i64::MAX, i64::MIN] {
            assert!(
                Callback::Feedback {
                    helpful: false,
                    question
                }
                .format()
                .len()
                    <= 64
            );
        }
        for k in Kind::ALL {
            assert!(Callback::Kind(k).format().len() <= 64);
        }
    }

    #[test]
    fn callback_data_round_trips() {
        let all = [
            Callback::Pick("proc-transit".into()),
            Callback::Pick(String::new()),
            Callback::Feedback {
                helpful: true,
                question: 42,
            },
            Callback::Feedback {
                helpful: false,
                question: i64::MIN,
            },
            Callback::Kind(Kind::Permit),
            Callback::Human,
            Callback::NotThis,
        ];
        for c in all {
            assert_eq!(parse_callback(&c.format()), Some(c.clone()), "{}", c.format());
        }
        for k in Kind::ALL {
            assert_eq!(parse_callback(&Callback::Kind(k).format()), Some(Callback::Kind(k)));
        }
    }

    #[test]
    fn unknown_callback_data_is_ignored() {
        for d in [
            "",
            "pick",
            "fb:",
            "fb:y",
            "fb:y:",
            "fb:x:1",
            "fb:y:1x",
            "fb:n:99999999999999999999",
            "kind:",
            "kind:story",
            "human ",
            "HUMAN",
        ] {
            assert_eq!(parse_callback(d), None, "{d:?}");
        }
    }

    #[test]
    fn commands_parse() {
        use super::super::Command;
        use teloxide::utils::command::BotCommands;
        assert_eq!(Command::parse("/start", "customs_test_bot").unwrap(), Command::Start);
        assert_eq!(
            Command::parse("/topics@customs_test_bot", "customs_test_bot").unwrap(),
            Command::Topics
        );
        assert!(Command::parse("/nonsense", "customs_test_bot").is_err());
    }

    #[test]
    fn the_topics_buttons_parse_to_their_kinds() {
        use teloxide::types::InlineKeyboardButtonKind;
        let kinds: Vec<Option<Callback>> = super::super::commands::topics_keyboard()
            .inline_keyboard
            .into_iter()
            .flatten()
            .map(|b| match b.kind {
                InlineKeyboardButtonKind::CallbackData(d) => parse_callback(&d),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, Kind::ALL.map(|k| Some(Callback::Kind(k))));
    }
}
