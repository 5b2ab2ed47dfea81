//! The Telegram front end: teloxide long polling over the one answering path.
//!
//! Only this module imports teloxide. [`schema`] is the handler tree (testable on its own),
//! [`run`] drives the real dispatcher against any Bot API server (Telegram's, or the tests' fake on
//! 127.0.0.1 via `[telegram] api_url`) until the shutdown future resolves.
//!
//! Behaviour, as a careful officer would in chat: answers rendered as escaped Telegram HTML and
//! split under 4096 UTF-16 units; clarify choices and feedback as inline buttons (callback data is
//! short ASCII, well under 64 bytes); hand-offs with the hotline, whether someone is on duty and a
//! ticket number; commands with Chinese descriptions; in groups only when addressed; a calm reply
//! to anything else. Every question is logged *before* its reply is sent. A panic inside a handler
//! is contained to that update (teloxide issue #1435); the dispatcher never sees it.

mod split;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::dispatching::{UpdateHandler, dialogue::GetChatId};
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, Me, ParseMode};
use teloxide::update_listeners::Polling;
use teloxide::utils::command::BotCommands;

use crate::app::Assistant;
use crate::config::{OperatorsConfig, TelegramConfig};
use crate::knowledge::Kind;
use crate::markup::escape_html;
use crate::ratelimit::{Rate, RateLimiter};
use crate::reply::{Body, HandoffReason, Reply, hotline_lines};
use crate::tickets::{
    Feedback, NewTicket, QuestionRef, Ticket, TicketReason, TicketState, TicketStore, parse_ticket_number,
};

pub use split::{MESSAGE_LIMIT, check_html, split_html, utf16_len};

/// The bot type handlers receive: outgoing messages go through Throttle (429s are waited out).
pub type TgBot = Throttle<Bot>;
type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;
type HandlerResult = Result<(), HandlerError>;

const CHANNEL: &str = "telegram";

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

/// Commands for operators (not shown to the public).
#[derive(BotCommands, Clone, Debug, PartialEq)]
#[command(rename_rule = "lowercase", description = "值班人员命令：")]
pub enum OperatorCommand {
    #[command(description = "答复工单：/reply T000001 答复内容")]
    Reply(String),
    #[command(description = "列出未处理的工单（最早的在前）")]
    Tickets,
}

/// Everything handlers need, shared.
pub struct Context {
    pub assistant: Arc<Assistant>,
    pub store: Arc<dyn TicketStore>,
    limiter: RateLimiter<ChatId>,
    operators: OperatorsConfig,
}

impl Context {
    pub fn new(assistant: Arc<Assistant>, store: Arc<dyn TicketStore>, telegram: &TelegramConfig) -> Self {
        Self {
            assistant,
            store,
            limiter: RateLimiter::new(telegram.questions_per_minute, Duration::from_secs(60)),
            operators: OperatorsConfig::default(),
        }
    }

    /// Who the operators are and where tickets are announced.
    pub fn with_operators(mut self, operators: OperatorsConfig) -> Self {
        self.operators = operators;
        self
    }

    fn is_operator(&self, user: Option<&teloxide::types::User>) -> bool {
        user.is_some_and(|u| self.operators.user_ids.contains(&u.id.0))
    }

    fn is_operators_chat(&self, chat: ChatId) -> bool {
        self.operators.chat_id == Some(chat.0)
    }

    fn office(&self) -> &std::collections::BTreeMap<String, String> {
        &self.assistant.config().office
    }

    /// "Is someone at the hotline now?" in one line (empty when no hours are configured).
    fn duty_line(&self) -> String {
        crate::reply::duty_line(self.assistant.config().duty.as_ref(), self.office())
    }
}

/// The handler tree.
pub fn schema() -> UpdateHandler<HandlerError> {
    let operator_commands = Update::filter_message()
        .filter_command::<OperatorCommand>()
        .endpoint(on_operator_command);
    let operators_chat = Update::filter_message()
        .filter(|m: Message, ctx: Arc<Context>| ctx.is_operators_chat(m.chat.id))
        .branch(dptree::filter(|m: Message| m.reply_to_message().is_some()).endpoint(on_operator_reply))
        .branch(dptree::endpoint(|| async { Ok(()) }));
    let messages = Update::filter_message()
        .filter(addressed)
        .branch(dptree::entry().filter_command::<Command>().endpoint(on_command))
        .branch(
            dptree::filter(|m: Message| m.text().is_some_and(|t| t.trim_start().starts_with('/')))
                .endpoint(on_unknown_command),
        )
        .branch(dptree::filter(|m: Message| m.text().is_some()).endpoint(on_question))
        .branch(dptree::endpoint(on_other));
    let edited = Update::filter_edited_message().filter(addressed).endpoint(on_edited);
    let callbacks = Update::filter_callback_query().endpoint(on_callback);
    dptree::entry()
        .branch(operator_commands)
        .branch(operators_chat)
        .branch(messages)
        .branch(edited)
        .branch(callbacks)
}

/// In a private chat, everything; in a group, only commands, replies to the bot and mentions.
fn addressed(msg: Message, me: Me) -> bool {
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

/// Runs a handler body in its own task so that a panic there is contained: the update is logged
/// as failed, the person gets nothing worse than silence, and the dispatcher keeps going.
async fn guarded<F>(what: &'static str, fut: F) -> HandlerResult
where
    F: Future<Output = HandlerResult> + Send + 'static,
{
    match tokio::spawn(fut).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => {
            tracing::error!(handler = what, "a handler panicked; the bot carries on");
            Err(format!("{what} panicked").into())
        }
        Err(e) => Err(Box::new(e)),
    }
}

fn html(text: &str) -> String {
    escape_html(text)
}

async fn send_html(bot: &TgBot, chat: ChatId, text: String, keyboard: Option<InlineKeyboardMarkup>) -> HandlerResult {
    let pieces = split_html(&text, MESSAGE_LIMIT);
    let last = pieces.len().saturating_sub(1);
    for (i, piece) in pieces.into_iter().enumerate() {
        let mut req = bot.send_message(chat, piece).parse_mode(ParseMode::Html);
        if i == last
            && let Some(k) = &keyboard
        {
            req = req.reply_markup(k.clone());
        }
        req.await?;
    }
    Ok(())
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

fn topics_keyboard() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        Kind::ALL
            .iter()
            .map(|k| vec![InlineKeyboardButton::callback(k.label(), Callback::Kind(*k).format())]),
    )
}

async fn on_command(bot: TgBot, msg: Message, cmd: Command, ctx: Arc<Context>) -> HandlerResult {
    guarded("command", async move {
        let chat = msg.chat.id;
        tracing::info!(chat_id = chat.0, command = ?cmd, "command");
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

async fn on_unknown_command(bot: TgBot, msg: Message) -> HandlerResult {
    guarded("unknown command", async move {
        let text = format!("没有这个命令。{}", help_text());
        send_html(&bot, msg.chat.id, text, None).await
    })
    .await
}

/// Opens a ticket for a person who asked for a human and tells them how it goes on.
async fn hand_off_now(bot: &TgBot, ctx: &Arc<Context>, chat: ChatId, question: &str) -> HandlerResult {
    let ticket = open_ticket(bot, ctx, chat, question, TicketReason::Asked, "[]".into(), None).await;
    let text = human_contact(ctx, "好的，为您转人工。您可以联系：", ticket.as_deref());
    send_html(bot, chat, text, None).await
}

/// `lead`, the hotline lines, who is on duty, and the ticket number when one was opened.
fn human_contact(ctx: &Context, lead: &str, ticket: Option<&str>) -> String {
    let mut text = format!(
        "{}\n{}\n{}",
        html(lead),
        html(&hotline_lines(ctx.office())),
        html(&ctx.duty_line())
    );
    if let Some(number) = ticket {
        text.push_str(&format!(
            "\n\n已登记工单 <b>{number}</b>，工作人员答复后会在这里通知您。"
        ));
    }
    text
}

async fn open_ticket(
    bot: &TgBot,
    ctx: &Arc<Context>,
    chat: ChatId,
    question: &str,
    reason: TicketReason,
    guesses: String,
    question_id: Option<i64>,
) -> Option<String> {
    let store = ctx.store.clone();
    let question = question.to_string();
    let chat_text = chat.0.to_string();
    let result = tokio::task::spawn_blocking(move || {
        store.open_ticket(&NewTicket {
            channel: CHANNEL,
            chat: &chat_text,
            question: &question,
            reason,
            guesses,
            question_id,
        })
    })
    .await;
    match result {
        Ok(Ok(t)) => {
            tracing::info!(chat_id = chat.0, ticket = %t.number(), reason = reason.as_str(), "ticket opened");
            announce(bot, ctx, &t).await;
            Some(t.number())
        }
        Ok(Err(e)) => {
            tracing::error!(chat_id = chat.0, error = %format!("{e:#}"), "could not open a ticket");
            None
        }
        Err(e) => {
            tracing::error!(chat_id = chat.0, error = %e, "could not open a ticket");
            None
        }
    }
}

/// Keeps a question before its reply goes out (in the database, or in the spool while the
/// database is locked or full). `None`: it could not be kept at all, and the caller hands off
/// instead of replying as if it had been.
async fn log_question(
    ctx: &Arc<Context>,
    chat: ChatId,
    question: &str,
    reply: &Reply,
    latency: Duration,
) -> Option<crate::tickets::Logged> {
    let record = crate::app::question_record(CHANNEL, &chat.0.to_string(), question, reply, latency);
    let store = ctx.store.clone();
    let error = match tokio::task::spawn_blocking(move || store.record_question(&record)).await {
        Ok(Ok(logged)) => return Some(logged),
        Ok(Err(e)) => format!("{e:#}"),
        Err(e) => e.to_string(),
    };
    tracing::error!(
        chat_id = chat.0,
        question = ?crate::tickets::mask(question),
        error = %error,
        "the question could not be kept (neither the database nor the spool took it): handing off"
    );
    None
}

/// The question's id once kept, or — when it could not be kept — the hand-off that replaces the reply.
async fn keep_or_hand_off(
    ctx: &Arc<Context>,
    chat: ChatId,
    question: &str,
    reply: Reply,
    latency: Duration,
) -> (Reply, Option<i64>) {
    match log_question(ctx, chat, question, &reply, latency).await {
        Some(logged) => (reply, logged.id()),
        None => (crate::app::unrecorded_reply(&reply.question), None),
    }
}

fn strip_mention(text: &str, username: &str) -> String {
    let mention = format!("@{username}");
    text.replace(&mention, " ").trim().to_string()
}

async fn on_question(bot: TgBot, msg: Message, me: Me, ctx: Arc<Context>) -> HandlerResult {
    guarded("question", async move {
        let chat = msg.chat.id;
        let question = strip_mention(msg.text().unwrap_or(""), me.username());
        match ctx.limiter.check(&chat) {
            Rate::Allowed => {}
            Rate::Limited(tell) => {
                tracing::info!(chat_id = chat.0, "question rate limit reached");
                if tell {
                    let text = "您提问有点快，请稍等一分钟再问；急事可拨打海关服务热线。".to_string();
                    send_html(&bot, chat, html(&text), None).await?;
                }
                return Ok(());
            }
        }
        let started = Instant::now();
        let assistant = ctx.assistant.clone();
        let q = question.clone();
        let reply = tokio::task::spawn_blocking(move || assistant.ask(&q)).await?;
        let latency = started.elapsed();
        let (reply, qid) = keep_or_hand_off(&ctx, chat, &question, reply, latency).await;
        tracing::info!(
            chat_id = chat.0,
            decision = reply.decision.as_str(),
            entry = reply.entry.as_ref().map_or("-", |e| e.id.as_str()),
            latency_ms = latency.as_secs_f64() * 1000.0,
            "question"
        );
        tracing::debug!(chat_id = chat.0, text = ?question, "question text");
        send_reply(&bot, &ctx, chat, &reply, qid).await
    })
    .await
}

fn feedback_keyboard(qid: i64) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(vec![vec![
        InlineKeyboardButton::callback(
            "👍 有帮助",
            Callback::Feedback {
                helpful: true,
                question: qid,
            }
            .format(),
        ),
        InlineKeyboardButton::callback(
            "👎 没帮助",
            Callback::Feedback {
                helpful: false,
                question: qid,
            }
            .format(),
        ),
    ]])
}

/// Button text: Telegram shows about a line; keep titles short.
fn button_text(title: &str) -> String {
    let chars: Vec<char> = title.chars().collect();
    if chars.len() <= 30 {
        title.to_string()
    } else {
        format!("{}…", chars[..29].iter().collect::<String>())
    }
}

async fn send_reply(bot: &TgBot, ctx: &Arc<Context>, chat: ChatId, reply: &Reply, qid: Option<i64>) -> HandlerResult {
    let office = ctx.office();
    match &reply.body {
        Body::Answer(_) => send_html(bot, chat, reply.telegram_html(office), qid.map(feedback_keyboard)).await,
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
            let store = ctx.store.clone();
            let (question, candidates) = (
                reply.question.clone(),
                serde_json::to_string(choices).unwrap_or_default(),
            );
            let chat_text = chat.0.to_string();
            if let Ok(Err(e)) =
                tokio::task::spawn_blocking(move || store.log_clarify(CHANNEL, &chat_text, &question, &candidates, qid))
                    .await
            {
                tracing::error!(chat_id = chat.0, error = %format!("{e:#}"), "could not record the choices offered");
            }
            let lead = if choices.len() == 1 {
                "我不太确定您问的是不是这一项，请点选："
            } else {
                "您的问题可能与以下几项有关，请点选："
            };
            send_html(bot, chat, html(lead), Some(InlineKeyboardMarkup::new(rows))).await
        }
        Body::Handoff(reason) => {
            let mut text = reply.telegram_html(office);
            let ticket_reason = match reason {
                HandoffReason::NotSure => Some(TicketReason::Handoff),
                HandoffReason::Asked => Some(TicketReason::Asked),
                HandoffReason::Internal => Some(TicketReason::Internal),
                HandoffReason::TooLong | HandoffReason::Vague => None,
            };
            text.push('\n');
            text.push_str(&html(&ctx.duty_line()));
            if let Some(r) = ticket_reason {
                let guesses = serde_json::to_string(&reply.candidates).unwrap_or_else(|_| "[]".into());
                if let Some(number) = open_ticket(bot, ctx, chat, &reply.question, r, guesses, qid).await {
                    text.push_str(&format!(
                        "\n\n您的问题已登记为工单 <b>{number}</b>，工作人员答复后会在这里通知您。"
                    ));
                }
            }
            send_html(bot, chat, text, None).await
        }
        Body::Smalltalk(_) | Body::Redirect { .. } => send_html(bot, chat, reply.telegram_html(office), None).await,
    }
}

async fn on_other(bot: TgBot, msg: Message, ctx: Arc<Context>) -> HandlerResult {
    guarded("other message", async move {
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
        tracing::info!(chat_id = msg.chat.id.0, kind = what, "non-text message");
        let text = format!(
            "收到您的{what}。目前我只能阅读文字消息，请用文字描述您的问题，例如「报关单填错了怎么改」；也可以拨打海关服务热线 {}。",
            ctx.office().get("hotline").map_or("12360", String::as_str)
        );
        send_html(&bot, msg.chat.id, html(&text), None).await
    })
    .await
}

async fn on_edited(bot: TgBot, msg: Message) -> HandlerResult {
    guarded("edited message", async move {
        let text = "收到您修改后的消息。如需我按新的内容回答，请把问题作为一条新消息发送。";
        send_html(&bot, msg.chat.id, html(text), None).await
    })
    .await
}

/// What an inline button's callback data asks for. The buttons' data is built in this module
/// (`pick:{id}`, `fb:y:{question}`, `fb:n:{question}`, `kind:{kind}`, `human`); anything else a
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
}

impl Callback {
    /// The callback data of a button asking for this; [`parse_callback`] reads it back.
    pub fn format(&self) -> String {
        match self {
            Callback::Pick(id) => format!("pick:{id}"),
            Callback::Feedback { helpful, question } => format!("fb:{}:{question}", if *helpful { "y" } else { "n" }),
            Callback::Kind(kind) => format!("kind:{}", kind.as_str()),
            Callback::Human => "human".to_string(),
        }
    }
}

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
    } else {
        None
    }
}

async fn on_callback(bot: TgBot, q: CallbackQuery, ctx: Arc<Context>) -> HandlerResult {
    guarded("callback", async move {
        // Always answer the query first: the client shows a spinner until we do.
        let ack = bot.answer_callback_query(q.id.clone());
        let data = q.data.clone().unwrap_or_default();
        let Some(chat) = q.chat_id() else {
            ack.await?;
            return Ok(());
        };
        tracing::info!(chat_id = chat.0, data = ?data, "button");
        let callback = parse_callback(&data);
        if let Some(Callback::Pick(id)) = callback {
            ack.await?;
            let store = ctx.store.clone();
            let chat_text = chat.0.to_string();
            let _ = tokio::task::spawn_blocking(move || store.clarify_picked(CHANNEL, &chat_text)).await;
            let assistant = ctx.assistant.clone();
            let started = Instant::now();
            let reply = tokio::task::spawn_blocking(move || assistant.answer_entry(&id)).await?;
            match reply {
                Some(reply) => {
                    let question = format!("[选择] {}", reply.question);
                    let (reply, qid) = keep_or_hand_off(&ctx, chat, &question, reply, started.elapsed()).await;
                    send_reply(&bot, &ctx, chat, &reply, qid).await
                }
                None => send_html(&bot, chat, html("这一条已经更新或下线了，请重新提问。"), None).await,
            }
        } else if let Some(Callback::Feedback { helpful, question: qid }) = callback {
            // Only the chat that asked may give feedback on its question (callback data can be forged).
            let store = ctx.store.clone();
            let chat_text = chat.0.to_string();
            let outcome =
                tokio::task::spawn_blocking(move || store.feedback(QuestionRef::Id(qid), CHANNEL, &chat_text, helpful))
                    .await?;
            match outcome {
                Ok(Feedback::Recorded(_, Some(question))) => {
                    ack.text("已记录，我们会改进").await?;
                    let guesses =
                        serde_json::json!([{ "id": question.entry, "decision": question.decision }]).to_string();
                    let ticket = open_ticket(
                        &bot,
                        &ctx,
                        chat,
                        &question.question,
                        TicketReason::NotHelpful,
                        guesses,
                        Some(qid),
                    )
                    .await;
                    let text = human_contact(&ctx, "抱歉没能帮上忙。您可以联系人工：", ticket.as_deref());
                    send_html(&bot, chat, text, None).await
                }
                Ok(Feedback::Recorded(_, None)) => {
                    ack.text("感谢您的反馈！").await?;
                    Ok(())
                }
                Ok(Feedback::AlreadyRecorded) => {
                    ack.text("已经收到您的反馈了，谢谢").await?;
                    Ok(())
                }
                Ok(Feedback::Unknown) => {
                    ack.await?;
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(chat_id = chat.0, error = %format!("{e:#}"), "could not record feedback");
                    ack.text("暂时无法记录，请稍后再试").await?;
                    Ok(())
                }
            }
        } else if let Some(Callback::Kind(kind)) = callback {
            ack.await?;
            let topics = ctx.assistant.topics(kind);
            if topics.is_empty() {
                return send_html(&bot, chat, html("这一类暂时没有条目。"), None).await;
            }
            let rows = topics.iter().map(|(id, title)| {
                vec![InlineKeyboardButton::callback(
                    button_text(title),
                    Callback::Pick(id.clone()).format(),
                )]
            });
            let text = format!("{}（{} 条），点选查看：", kind.label(), topics.len());
            send_html(&bot, chat, html(&text), Some(InlineKeyboardMarkup::new(rows))).await
        } else if let Some(Callback::Human) = callback {
            ack.await?;
            hand_off_now(&bot, &ctx, chat, "（用户在选项中选择了转人工）").await
        } else {
            ack.await?;
            Ok(())
        }
    })
    .await
}

/// Tells the operators' chat about a new ticket and remembers the notice for replies.
async fn announce(bot: &TgBot, ctx: &Arc<Context>, t: &Ticket) {
    let Some(chat) = ctx.operators.chat_id else { return };
    let guesses = t.guess_titles();
    let text = format!(
        "🆕 工单 <b>{}</b>（{}）\n问题：{}\n机器人的猜测：{}\n\n直接回复本消息即可答复用户，或发送 /reply {} 答复内容",
        t.number(),
        html(TicketReason::label(&t.reason)),
        html(&t.question),
        html(&if guesses.is_empty() {
            "无".to_string()
        } else {
            guesses.join(" / ")
        }),
        t.number()
    );
    match bot.send_message(ChatId(chat), text).parse_mode(ParseMode::Html).await {
        Ok(m) => {
            let store = ctx.store.clone();
            let (id, mid) = (t.id, i64::from(m.id.0));
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.set_notice(id, mid)).await {
                tracing::error!(error = %format!("{e:#}"), "could not remember the ticket notice");
            }
        }
        Err(e) => tracing::error!(ticket = %t.number(), error = %e, "could not announce the ticket to the operators"),
    }
}

fn operator_usage() -> String {
    html(&OperatorCommand::descriptions().to_string())
}

async fn answer_ticket(
    bot: &TgBot,
    ctx: &Arc<Context>,
    chat: ChatId,
    id: i64,
    text: String,
    by: String,
) -> HandlerResult {
    let store = ctx.store.clone();
    let result = tokio::task::spawn_blocking(move || store.answer_ticket(id, &text, &by)).await?;
    let reply = match result {
        Ok(t) => format!("已记录工单 <b>{}</b> 的答复，正在转达用户。", t.number()),
        Err(e) => format!("没能记录：{}\n\n{}", html(&format!("{e:#}")), operator_usage()),
    };
    send_html(bot, chat, reply, None).await
}

async fn on_operator_command(bot: TgBot, msg: Message, cmd: OperatorCommand, ctx: Arc<Context>) -> HandlerResult {
    guarded("operator command", async move {
        let chat = msg.chat.id;
        if !ctx.is_operator(msg.from.as_ref()) {
            tracing::warn!(chat_id = chat.0, user = ?msg.from.as_ref().map(|u| u.id.0), "operator command from a non-operator");
            return send_html(&bot, chat, html("此命令仅限值班人员使用。"), None).await;
        }
        if !(ctx.is_operators_chat(chat) || msg.chat.is_private()) {
            return send_html(&bot, chat, html("请在值班群或与我的私聊中使用值班命令。"), None).await;
        }
        let by = format!("telegram:{}", msg.from.as_ref().map_or(0, |u| u.id.0));
        match cmd {
            OperatorCommand::Reply(args) => {
                let (number, text) = args.trim().split_once(char::is_whitespace).unwrap_or((args.trim(), ""));
                match parse_ticket_number(number) {
                    Some(id) if !text.trim().is_empty() => answer_ticket(&bot, &ctx, chat, id, text.trim().to_string(), by).await,
                    _ => send_html(&bot, chat, format!("用法：/reply T000001 答复内容\n\n{}", operator_usage()), None).await,
                }
            }
            OperatorCommand::Tickets => {
                let store = ctx.store.clone();
                let open = tokio::task::spawn_blocking(move || store.tickets(Some(TicketState::Open))).await??;
                if open.is_empty() {
                    return send_html(&bot, chat, html("没有未处理的工单。"), None).await;
                }
                let now = chrono::Utc::now();
                let lines: Vec<String> = open
                    .iter()
                    .map(|t| {
                        let overdue = ticket_hours(&ctx, t, now) >= ctx.operators.overdue_hours;
                        format!(
                            "<b>{}</b> {}{} {}：{}",
                            t.number(),
                            if overdue { "[逾期] " } else { "" },
                            html(&t.opened_at.get(..16).unwrap_or(&t.opened_at).replace('T', " ")),
                            html(TicketReason::label(&t.reason)),
                            html(&t.question)
                        )
                    })
                    .collect();
                send_html(&bot, chat, format!("未处理的工单（{} 个，最早的在前）：\n{}", open.len(), lines.join("\n")), None).await
            }
        }
    })
    .await
}

/// An operator's reply to a ticket notice in the operators' chat answers that ticket.
async fn on_operator_reply(bot: TgBot, msg: Message, ctx: Arc<Context>) -> HandlerResult {
    guarded("operator reply", async move {
        let Some(replied) = msg.reply_to_message().map(|m| i64::from(m.id.0)) else {
            return Ok(());
        };
        let store = ctx.store.clone();
        let Some(ticket) = tokio::task::spawn_blocking(move || store.ticket_by_notice(replied)).await?? else {
            return Ok(());
        };
        if !ctx.is_operator(msg.from.as_ref()) {
            return send_html(&bot, msg.chat.id, html("只有值班人员可以答复工单。"), None).await;
        }
        let Some(text) = msg.text().map(str::trim).filter(|t| !t.is_empty()) else {
            return send_html(&bot, msg.chat.id, html("请用文字答复。"), None).await;
        };
        let by = format!("telegram:{}", msg.from.as_ref().map_or(0, |u| u.id.0));
        answer_ticket(&bot, &ctx, msg.chat.id, ticket.id, text.to_string(), by).await
    })
    .await
}

fn ticket_hours(ctx: &Context, t: &Ticket, now: chrono::DateTime<chrono::Utc>) -> f64 {
    crate::app::ticket_open_hours(ctx.assistant.config(), t, now)
}

/// Relays operators' answers, re-announces overdue tickets once, and turns choices nobody picked
/// into tickets. Runs every second while the bot runs.
async fn housekeeping(bot: TgBot, ctx: Arc<Context>) {
    // Tickets whose relay failed, and when: retried once a minute, not every second.
    let mut failed: std::collections::HashMap<i64, Instant> = std::collections::HashMap::new();
    loop {
        if let Err(e) = housekeeping_once(&bot, &ctx, &mut failed).await {
            tracing::warn!(error = %format!("{e:#}"), "ticket housekeeping failed; will retry");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn housekeeping_once(
    bot: &TgBot,
    ctx: &Arc<Context>,
    failed: &mut std::collections::HashMap<i64, Instant>,
) -> anyhow::Result<()> {
    let store = ctx.store.clone();
    let relays = tokio::task::spawn_blocking(move || store.pending_relays(CHANNEL)).await??;
    failed.retain(|_, at| at.elapsed() < Duration::from_secs(60));
    let due: Vec<_> = relays.into_iter().filter(|t| !failed.contains_key(&t.id)).collect();
    for t in due {
        let Ok(chat) = t.chat.parse::<i64>() else { continue };
        let text = format!(
            "关于您咨询的问题「{}」（工单 <b>{}</b>），工作人员答复如下：\n\n{}",
            html(&t.question),
            t.number(),
            html(t.answer.as_deref().unwrap_or(""))
        );
        match send_html(bot, ChatId(chat), text, None).await {
            Ok(()) => {
                let store = ctx.store.clone();
                tokio::task::spawn_blocking(move || store.mark_relayed(t.id)).await??;
                tracing::info!(chat_id = chat, ticket = %t.number(), "answer relayed");
            }
            Err(e) => {
                tracing::warn!(chat_id = chat, ticket = %t.number(), error = %e, "could not relay the answer; will retry in a minute");
                failed.insert(t.id, Instant::now());
            }
        }
    }

    let now = chrono::Utc::now();
    if let Some(ops_chat) = ctx.operators.chat_id {
        let store = ctx.store.clone();
        let cutoff = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let waiting = tokio::task::spawn_blocking(move || store.overdue_unannounced(&cutoff)).await??;
        for t in waiting
            .into_iter()
            .filter(|t| ticket_hours(ctx, t, now) >= ctx.operators.overdue_hours)
        {
            let text = format!(
                "⏰ 工单 <b>{}</b> 已逾期（已过 {:.1} 个工作小时）：{}\n回复原通知或发送 /reply {} 答复内容",
                t.number(),
                ticket_hours(ctx, &t, now),
                html(&t.question),
                t.number()
            );
            send_html(bot, ChatId(ops_chat), text, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = ctx.store.clone();
            tokio::task::spawn_blocking(move || store.mark_overdue_announced(t.id)).await??;
        }
    }

    let cutoff = (now - chrono::Duration::minutes(ctx.operators.clarify_timeout_minutes.into()))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let store = ctx.store.clone();
    let stale = tokio::task::spawn_blocking(move || store.stale_clarifies(CHANNEL, &cutoff)).await??;
    for c in stale {
        let Ok(chat) = c.chat.parse::<i64>() else { continue };
        let Some(number) = open_ticket(
            bot,
            ctx,
            ChatId(chat),
            &c.question,
            TicketReason::UnpickedClarify,
            c.candidates.clone(),
            c.question_id,
        )
        .await
        else {
            continue;
        };
        let store = ctx.store.clone();
        let id = parse_ticket_number(&number).unwrap_or(0);
        tokio::task::spawn_blocking(move || store.link_clarify(c.id, id)).await??;
        let text = format!(
            "您之前的问题「{}」已登记为工单 <b>{number}</b>，工作人员答复后会在这里通知您。",
            html(&c.question)
        );
        send_html(bot, ChatId(chat), text, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

/// A bot for `token`, talking to `api_url` (a self-hosted Bot API server, or the tests' fake)
/// or to Telegram.
pub fn bot(token: &str, api_url: Option<&str>) -> anyhow::Result<Bot> {
    let bot = Bot::new(token);
    Ok(match api_url {
        Some(url) => bot.set_api_url(
            url.trim_end_matches('/')
                .parse()
                .map_err(|e| anyhow::anyhow!("[telegram] api_url `{url}` is not a URL: {e}"))?,
        ),
        None => bot,
    })
}

/// Outgoing limits for Throttle, from the configuration.
pub fn limits(c: &TelegramConfig) -> Limits {
    Limits {
        messages_per_sec_chat: c.messages_per_second_per_chat,
        messages_per_min_chat: c.messages_per_minute_per_chat,
        messages_per_min_channel_or_supergroup: c.messages_per_minute_per_group,
        messages_per_sec_overall: c.messages_per_second,
    }
}

/// Runs the bot until `shutdown` resolves, then stops gracefully: the update in hand is finished
/// and acknowledged. Network loss at start-up or later is retried with backoff, never a panic.
pub async fn run(
    ctx: Arc<Context>,
    bot: Bot,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let bot: TgBot = bot.throttle(limits);
    let ctx_for_keeper = ctx.clone();
    let mut dp = Dispatcher::builder(bot.clone(), schema())
        .dependencies(dptree::deps![ctx])
        .default_handler(|upd| async move { tracing::debug!(update = upd.id.0, "update not handled") })
        .error_handler(LoggingErrorHandler::with_custom_text("a telegram handler failed"))
        .build();
    let token = dp.shutdown_token();
    let stopping = Arc::new(AtomicBool::new(false));

    let keeper = tokio::spawn(housekeeping(bot.clone(), ctx_for_keeper));
    let stop = stopping.clone();
    let commands_bot = bot.clone();
    let task = tokio::spawn(async move {
        let mut delay = Duration::from_secs(1);
        let mut commands_set = false;
        while !stop.load(Ordering::SeqCst) {
            if !commands_set {
                match commands_bot.set_my_commands(Command::bot_commands()).await {
                    Ok(_) => commands_set = true,
                    Err(e) => tracing::warn!(error = %e, "could not register the commands (will retry)"),
                }
            }
            let listener = Polling::builder(bot.clone()).timeout(Duration::from_secs(10)).build();
            match dp
                .try_dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("polling failed"))
                .await
            {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = delay.as_secs(), "cannot reach the Telegram Bot API");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
            }
        }
    });

    shutdown.await;
    tracing::info!("stopping the Telegram bot");
    stopping.store(true, Ordering::SeqCst);
    // shutdown() errs while the dispatcher is idle (e.g. still retrying getMe); retry briefly.
    for _ in 0..50 {
        if token.shutdown().is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    keeper.abort();
    // Await the dispatcher task itself (the shutdown future can miss its notification).
    let abort = task.abort_handle();
    match tokio::time::timeout(Duration::from_secs(30), task).await {
        Ok(_) => {}
        Err(_) => {
            tracing::warn!("the Telegram bot did not stop within 30 s; aborting");
            abort.abort();
        }
    }
    Ok(())
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
        ];
        for c in all {
            assert_eq!(parse_callback(&c.format()), Some(c.clone()), "{}", c.format());
        }
        for k in Kind::ALL {
            assert_eq!(parse_callback(&Callback::Kind(k).format()), Some(Callback::Kind(k)));
        }
    }

    #[test]
    fn callback_data_of_our_buttons_parses_to_what_they_mean() {
        use teloxide::types::InlineKeyboardButtonKind;
        let data = |k: InlineKeyboardMarkup| -> Vec<String> {
            k.inline_keyboard
                .into_iter()
                .flatten()
                .map(|b| match b.kind {
                    InlineKeyboardButtonKind::CallbackData(d) => d,
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        let fb: Vec<_> = data(feedback_keyboard(7)).iter().map(|d| parse_callback(d)).collect();
        assert_eq!(
            fb,
            [
                Some(Callback::Feedback {
                    helpful: true,
                    question: 7
                }),
                Some(Callback::Feedback {
                    helpful: false,
                    question: 7
                })
            ]
        );
        let kinds: Vec<_> = data(topics_keyboard()).iter().map(|d| parse_callback(d)).collect();
        assert_eq!(kinds, Kind::ALL.map(|k| Some(Callback::Kind(k))));
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
        assert_eq!(Command::parse("/start", "customs_test_bot").unwrap(), Command::Start);
        assert_eq!(
            Command::parse("/topics@customs_test_bot", "customs_test_bot").unwrap(),
            Command::Topics
        );
        assert!(Command::parse("/nonsense", "customs_test_bot").is_err());
    }

    #[test]
    fn mentions_are_stripped() {
        assert_eq!(
            strip_mention("@customs_test_bot 滞报金怎么算", "customs_test_bot"),
            "滞报金怎么算"
        );
    }
}
