//! The Telegram front end: teloxide long polling, or a webhook, over the desk.
//!
//! Only this module imports teloxide. [`schema`] is the handler tree (testable on its own),
//! [`run`] drives the real dispatcher against any Bot API server (Telegram's, or the tests' fake on
//! 127.0.0.1 via `[telegram] api_url`) until the shutdown future resolves; [`run_webhook`]
//! (`webhook`) runs the same tree over updates received by webhook and kept in the store, in any
//! number of processes. [`TelegramNotifier`] is how the desk announces tickets to the operators'
//! chat and reaches people in their chats.
//!
//! The front translates updates into desk calls and renders what comes back — nothing more:
//! `commands` (/start, /help, /hotline, /human, /topics), `questions` (text, other messages, edits,
//! replies with their buttons), `callbacks` (the typed inline-button data), `operators` (operators'
//! commands and replies, and the notifier), `split` (HTML under 4096 UTF-16 units). Every handler
//! body runs in its own task inside a tracing span carrying the chat: a panic there is contained
//! to that update (teloxide issue #1435); the dispatcher never sees it.

mod callbacks;
mod commands;
mod gaps;
mod operators;
mod questions;
mod split;
mod webhook;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::dispatching::UpdateHandler;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, ParseMode};
use teloxide::update_listeners::Polling;
use teloxide::utils::command::BotCommands;
use tracing::Instrument as _;

use crate::config::{OperatorsConfig, TelegramConfig};
use crate::desk::{self, Desk};
use crate::markup::escape_html;

pub use callbacks::{Callback, parse_callback};
pub use commands::Command;
pub use operators::{OperatorCommand, TelegramNotifier};
pub use split::{MESSAGE_LIMIT, check_html, split_html, utf16_len};
pub use webhook::run_webhook;

/// The bot type handlers receive: outgoing messages go through Throttle (429s are waited out).
pub type TgBot = Throttle<Bot>;
type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;
type HandlerResult = Result<(), HandlerError>;

/// Everything handlers need, shared.
pub struct Context {
    pub desk: Arc<Desk>,
    /// `[telegram] questions_per_minute`, per chat, counted in the store (every process counts it).
    questions_per_minute: u32,
    operators: OperatorsConfig,
}

impl Context {
    pub fn new(desk: Arc<Desk>, telegram: &TelegramConfig, operators: OperatorsConfig) -> Self {
        Self {
            desk,
            questions_per_minute: telegram.questions_per_minute,
            operators,
        }
    }

    fn is_operator(&self, user: Option<&teloxide::types::User>) -> bool {
        user.is_some_and(|u| self.operators.user_ids.contains(&u.id.0))
    }

    fn is_operators_chat(&self, chat: ChatId) -> bool {
        self.operators.chat_id == Some(chat.0)
    }

    fn office(&self) -> &std::collections::BTreeMap<String, String> {
        &self.desk.assistant().config().office
    }

    /// "Is someone at the hotline now?" in one line (empty when no hours are configured).
    fn duty_line(&self) -> String {
        let config = self.desk.assistant().config();
        crate::reply::duty_line(config.duty.as_ref(), &config.office)
    }
}

/// The desk's name for a Telegram chat.
fn chat(id: ChatId) -> desk::Chat {
    desk::Chat::new(desk::Channel::Telegram, id.0.to_string())
}

/// The handler tree.
pub fn schema() -> UpdateHandler<HandlerError> {
    let operator_commands = Update::filter_message()
        .filter_command::<OperatorCommand>()
        .endpoint(operators::on_operator_command);
    let operators_chat = Update::filter_message()
        .filter(|m: Message, ctx: Arc<Context>| ctx.is_operators_chat(m.chat.id))
        .branch(dptree::filter(|m: Message| m.reply_to_message().is_some()).endpoint(operators::on_operator_reply))
        .branch(dptree::endpoint(|| async { Ok(()) }));
    let messages = Update::filter_message()
        .filter(questions::addressed)
        .branch(
            dptree::entry()
                .filter_command::<Command>()
                .endpoint(commands::on_command),
        )
        .branch(
            dptree::filter(|m: Message| m.text().is_some_and(|t| t.trim_start().starts_with('/')))
                .endpoint(commands::on_unknown_command),
        )
        .branch(dptree::filter(|m: Message| m.text().is_some()).endpoint(questions::on_question))
        .branch(dptree::endpoint(questions::on_other));
    let edited = Update::filter_edited_message()
        .filter(questions::addressed)
        .endpoint(questions::on_edited);
    let callbacks = Update::filter_callback_query().endpoint(callbacks::on_callback);
    dptree::entry()
        .branch(operator_commands)
        .branch(operators_chat)
        .branch(messages)
        .branch(edited)
        .branch(callbacks)
}

/// Runs a handler body in its own task, inside a span naming the handler and the chat, so that a
/// panic there is contained: the update is logged as failed, the person gets nothing worse than
/// silence, and the dispatcher keeps going.
async fn guarded<F>(what: &'static str, chat: ChatId, fut: F) -> HandlerResult
where
    F: Future<Output = HandlerResult> + Send + 'static,
{
    let span = tracing::info_span!("update", handler = what, chat = chat.0);
    match tokio::spawn(fut.instrument(span.clone())).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => {
            span.in_scope(|| tracing::error!("a handler panicked; the bot carries on"));
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

/// The bot with outgoing limits from the configuration (Throttle waits out 429s). Needs a runtime.
pub fn throttled(bot: Bot, c: &TelegramConfig) -> TgBot {
    bot.throttle(limits(c))
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
pub async fn run(ctx: Arc<Context>, bot: TgBot, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let mut dp = Dispatcher::builder(bot.clone(), schema())
        .dependencies(dptree::deps![ctx])
        .default_handler(|upd| async move { tracing::debug!(update = upd.id.0, "update not handled") })
        .error_handler(LoggingErrorHandler::with_custom_text("a telegram handler failed"))
        .build();
    let token = dp.shutdown_token();
    let stopping = Arc::new(AtomicBool::new(false));
    let stop = stopping.clone();
    let task = tokio::spawn(async move {
        let mut delay = Duration::from_secs(1);
        let mut commands_set = false;
        while !stop.load(Ordering::SeqCst) {
            if !commands_set {
                match bot.set_my_commands(Command::bot_commands()).await {
                    Ok(_) => commands_set = true,
                    Err(e) => tracing::warn!(error = %e, "could not register the commands (will retry)"),
                }
            }
            // A webhook left by webhook mode would make getUpdates fail: it is deleted first.
            let listener = Polling::builder(bot.clone())
                .timeout(Duration::from_secs(10))
                .delete_webhook()
                .await
                .build();
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
    // Await the dispatcher task itself (the shutdown future can miss its notification).
    let abort = task.abort_handle();
    if tokio::time::timeout(Duration::from_secs(30), task).await.is_err() {
        tracing::warn!("the Telegram bot did not stop within 30 s; aborting");
        abort.abort();
    }
    Ok(())
}
