//! Webhook mode (`[telegram] mode = "webhook"`): Telegram posts updates to the web listener, which
//! keeps them in the store (`crate::web`, through `Desk::receive_update`); here, workers claim them
//! from the store — in each chat's order, each update by one worker of one process — and run each
//! through the same handler tree ([`schema`]) with the same dependencies as the polling dispatcher.
//!
//! [`run_webhook`] asks for the bot's identity (getMe), registers the commands and the webhook
//! (`setWebhook` with the secret token), then runs `[telegram] webhook_workers` workers until
//! shutdown: each stops claiming, finishes the update in hand, and gives back its leases so that
//! other processes take those updates at once. The webhook is not deleted on shutdown: other
//! processes still receive.

use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Me};
use teloxide::utils::command::BotCommands;
use tokio::sync::watch;

use super::{Command, Context, HandlerError, TgBot, schema};
use crate::tickets::InboxUpdate;

/// How often an idle worker looks for updates received by other processes.
const POLL: Duration = Duration::from_millis(100);

/// What the webhook worker needs from the configuration.
#[derive(Clone)]
struct Settings {
    url: url::Url,
    secret: String,
    workers: u32,
    lease: Duration,
}

/// Runs webhook mode until `shutdown` resolves (see the module documentation). Network loss at
/// start-up is retried with backoff; nothing is claimed before the bot knows who it is.
pub async fn run_webhook(
    ctx: Arc<Context>,
    bot: TgBot,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let config = ctx.desk.assistant().config();
    let t = &config.telegram;
    let settings = Settings {
        url: t
            .webhook_url
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("[telegram] webhook_url is not set"))?
            .parse()?,
        secret: config
            .webhook_secret()
            .ok_or_else(|| anyhow::anyhow!("no webhook secret ([telegram] webhook_secret)"))?
            .0,
        workers: t.webhook_workers.max(1),
        lease: Duration::from_secs(t.webhook_lease_seconds),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let (b, s, rx) = (bot.clone(), settings.clone(), stop_rx.clone());
    let workers = tokio::spawn(async move {
        let Some(me) = set_up(&b, &s, rx.clone()).await else {
            return;
        };
        let process = crate::tickets::random_key()[..12].to_string();
        tracing::info!(process = %process, workers = s.workers, "handling Telegram updates received by webhook");
        let handler = Arc::new(schema());
        let mut set = tokio::task::JoinSet::new();
        for n in 0..s.workers {
            let worker = Worker {
                ctx: ctx.clone(),
                bot: b.clone(),
                me: me.clone(),
                handler: handler.clone(),
                owner: format!("{process}-{n}"),
                lease: s.lease,
            };
            set.spawn(worker.run(rx.clone()));
        }
        while set.join_next().await.is_some() {}
    });

    shutdown.await;
    tracing::info!("stopping the Telegram webhook workers");
    let _ = stop_tx.send(true);
    // Each worker finishes the update in hand; one that hangs past its lease is given up (its
    // update goes to another process when the lease runs out).
    let abort = workers.abort_handle();
    if tokio::time::timeout(settings.lease + Duration::from_secs(1), workers)
        .await
        .is_err()
    {
        tracing::warn!("a Telegram webhook worker did not stop within its lease; aborting");
        abort.abort();
    }
    Ok(())
}

/// getMe, the commands and setWebhook, each retried with backoff until it succeeds or shutdown
/// comes (None).
async fn set_up(bot: &TgBot, s: &Settings, stop: watch::Receiver<bool>) -> Option<Me> {
    let me = retry("ask the Telegram Bot API who the bot is", stop.clone(), || {
        bot.get_me().send()
    })
    .await?;
    retry("register the webhook", stop.clone(), || {
        bot.set_webhook(s.url.clone())
            .secret_token(s.secret.clone())
            .allowed_updates([
                AllowedUpdate::Message,
                AllowedUpdate::EditedMessage,
                AllowedUpdate::CallbackQuery,
            ])
            .send()
    })
    .await?;
    tracing::info!(url = %s.url, "webhook registered with Telegram");
    // The command menu is a convenience: it must not hold the updates up.
    let (b, rx) = (bot.clone(), stop);
    tokio::spawn(async move {
        retry("register the commands", rx, || {
            b.set_my_commands(Command::bot_commands()).send()
        })
        .await;
    });
    Some(me)
}

/// Calls `call` until it succeeds (Some) or `stop` turns true (None), waiting 1 s, 2 s, … 60 s between.
async fn retry<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    what: &'static str,
    mut stop: watch::Receiver<bool>,
    mut call: impl FnMut() -> F,
) -> Option<T> {
    let mut delay = Duration::from_secs(1);
    loop {
        if *stop.borrow() {
            return None;
        }
        tokio::select! {
            result = call() => match result {
                Ok(v) => return Some(v),
                Err(e) => tracing::warn!(error = %e, retry_in_s = delay.as_secs(), "could not {what}"),
            },
            _ = stop.wait_for(|s| *s) => return None,
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|s| *s) => return None,
        }
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

/// One worker: claims an update, handles it, marks it done.
struct Worker {
    ctx: Arc<Context>,
    bot: TgBot,
    me: Me,
    handler: Arc<teloxide::dispatching::UpdateHandler<HandlerError>>,
    /// Names this worker's leases in the store: the process's random id and the worker's number.
    owner: String,
    lease: Duration,
}

impl Worker {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let desk = self.ctx.desk.clone();
        while !*stop.borrow() {
            match desk.claim_update(&self.owner, self.lease).await {
                Ok(Some(update)) => {
                    let id = update.update_id;
                    self.handle_under_lease(update).await;
                    if let Err(e) = desk.update_done(id).await {
                        // Its lease runs out and another worker handles it again.
                        tracing::error!(update = id, error = ?format!("{e:#}"), "could not mark a webhook update done");
                    }
                }
                Ok(None) => {
                    tokio::select! {
                        () = desk.update_received() => {}
                        () = tokio::time::sleep(POLL) => {}
                        _ = stop.wait_for(|s| *s) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = ?format!("{e:#}"), "could not claim a webhook update; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.wait_for(|s| *s) => {}
                    }
                }
            }
        }
        if let Err(e) = desk.release_updates(&self.owner).await {
            tracing::warn!(error = ?format!("{e:#}"), "could not release the webhook leases; they run out by themselves");
        }
    }

    /// Handles an update while renewing its lease every third of the lease, so a handler slowed
    /// by Telegram's limits (Throttle) keeps it and no other process handles it again.
    async fn handle_under_lease(&self, update: InboxUpdate) {
        let (desk, id) = (self.ctx.desk.clone(), update.update_id);
        let handling = self.handle(update);
        tokio::pin!(handling);
        let mut renew = tokio::time::interval(self.lease / 3);
        renew.tick().await;
        loop {
            tokio::select! {
                () = &mut handling => return,
                _ = renew.tick() => match desk.renew_update(id, &self.owner, self.lease).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(update = id, "the lease on a webhook update was lost; another process may handle it too"),
                    Err(e) => tracing::warn!(update = id, error = ?format!("{e:#}"), "could not renew the lease on a webhook update"),
                },
            }
        }
    }

    /// Runs one update through the handler tree, as the polling dispatcher would. An update that
    /// is not Telegram's JSON is logged and dropped; a panic is contained here too (handlers
    /// contain their own, `guarded`).
    async fn handle(&self, kept: InboxUpdate) {
        let update: Update = match serde_json::from_str(&kept.payload) {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(
                    update = kept.update_id,
                    error = ?e.to_string(),
                    payload = ?kept.payload.chars().take(200).collect::<String>(),
                    "a webhook update that could not be read; dropped"
                );
                return;
            }
        };
        let deps = dptree::deps![update, self.bot.clone(), self.ctx.clone(), self.me.clone()];
        let handler = self.handler.clone();
        let id = kept.update_id;
        match tokio::spawn(async move { handler.dispatch(deps).await }).await {
            Ok(ControlFlow::Break(Ok(()))) => {}
            Ok(ControlFlow::Break(Err(e))) => {
                tracing::error!(update = id, error = ?e.to_string(), "a telegram handler failed");
            }
            Ok(ControlFlow::Continue(_)) => tracing::debug!(update = id, "update not handled"),
            Err(e) => tracing::error!(update = id, error = ?e.to_string(), "handling a webhook update failed"),
        }
    }
}
