//! `customs-bot serve`: run the front ends (web, Telegram) over the desk, with the ticket store,
//! until SIGINT or SIGTERM. Every task belongs to a task set and stops with the process. A new
//! index (from `reindex`) is picked up within a second.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::app::Assistant;
use crate::config::{Config, TelegramMode};
use crate::desk::{Desk, housekeeping};
use crate::telegram;
use crate::tickets::{StoreOptions, TicketStore, open_store};

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Listen on this address instead of `[web] listen` (several replicas sharing one bot.toml:
    /// `serve --listen 127.0.0.1:8081`).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

pub fn run(mut config: Config, args: Args) -> anyhow::Result<Code> {
    if let Some(listen) = args.listen {
        config.web.listen = listen;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(serve(config));
    // The front ends have stopped (the web after its grace period); do not wait on stragglers.
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, Docker). The SIGTERM handler is installed
/// when this is called, not when first polled, so a SIGTERM right after start-up still stops cleanly.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<Code> {
    let token = config.telegram_token();
    let web = config.web.clone();
    if token.is_none() {
        eprintln!(
            "No Telegram bot token: set the environment variable TELOXIDE_TOKEN=123456:ABC… (from @BotFather),\n\
             or `token = \"…\"` under [telegram] in {}.{}",
            config.source.display(),
            if web.enabled {
                " Serving the web front only."
            } else {
                "\nThe web front is disabled ([web] enabled = false), so there is nothing to serve.\nTo try the assistant without Telegram: customs-bot chat"
            }
        );
        if !web.enabled {
            return Ok(Code::Failure);
        }
    }
    let options = StoreOptions {
        log_budget: Duration::from_millis(config.tickets.log_timeout_ms),
        ..StoreOptions::default()
    };
    // On a blocking thread: the PostgreSQL client must not block a thread that drives async tasks.
    let tickets = config.tickets.clone();
    let store = tokio::task::spawn_blocking(move || open_store(&tickets, options)).await??;
    let (telegram_config, operators) = (config.telegram.clone(), config.operators.clone());
    let (retention, replay_every) = (
        config.tickets.retention_days,
        Duration::from_secs(config.tickets.spool_replay_seconds),
    );
    let assistant = Arc::new(
        tokio::task::spawn_blocking(move || Assistant::start(config))
            .await?
            .context("preparing the index")?,
    );

    // The task set: background work runs until the fronts have stopped, then is stopped with them.
    let mut background = tokio::task::JoinSet::new();
    background.spawn(replay_spool(store.clone(), replay_every));
    // The generation in service follows the one the store names as published (#15).
    let live = store.clone();
    background.spawn(crate::app::watch_index(
        assistant.clone(),
        Duration::from_millis(500),
        move || live.live_generation(),
    ));
    background.spawn(purge(store.clone(), retention));

    let bot = token
        .map(|t| telegram::bot(&t.0, telegram_config.api_url.as_deref()))
        .transpose()?;
    let bot = bot.map(|b| telegram::throttled(b, &telegram_config));
    let mut desk = Desk::new(assistant, store);
    if let Some(bot) = &bot {
        desk = desk.with_notifier(Arc::new(telegram::TelegramNotifier::new(bot.clone(), &operators)));
    }
    let desk = Arc::new(desk);
    desk.settle_live_generation().await;

    // One shutdown signal for every front end and the desk's housekeeping.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal = shutdown_signal();
    let stopper = stop_tx.clone();
    background.spawn(async move {
        signal.await;
        let _ = stopper.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let mut fronts = tokio::task::JoinSet::new();
    let (d, stop) = (desk.clone(), stopped(stop_rx.clone()));
    fronts.spawn(async move {
        housekeeping(d, stop).await;
        Ok(())
    });
    if web.enabled {
        let listener = tokio::net::TcpListener::bind(&web.listen)
            .await
            .with_context(|| format!("listening on {} ([web] listen)", web.listen))?;
        tracing::info!(url = %format!("http://{}", listener.local_addr()?), "serving the web front");
        fronts.spawn(crate::web::serve(desk.clone(), listener, stopped(stop_rx.clone())));
    }
    if let Some(bot) = bot {
        let ctx = Arc::new(telegram::Context::new(desk.clone(), &telegram_config, operators));
        match telegram_config.mode {
            TelegramMode::Polling => {
                tracing::info!("serving Telegram (long polling)");
                fronts.spawn(telegram::run(ctx, bot, stopped(stop_rx.clone())));
            }
            TelegramMode::Webhook => {
                tracing::info!("serving Telegram (webhook, received on the web listener)");
                fronts.spawn(telegram::run_webhook(ctx, bot, stopped(stop_rx.clone())));
            }
        }
    }
    // A front that fails stops the others; the first error is the outcome.
    let mut outcome = Ok(Code::Ok);
    while let Some(done) = fronts.join_next().await {
        let result = done.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = result {
            let _ = stop_tx.send(true);
            if outcome.is_ok() {
                outcome = Err(e);
            }
        }
    }
    background.shutdown().await;
    outcome
}

/// Questions kept in the spool (the database was locked or full, or this process was killed before
/// a replay): into the database now, and again every `every`.
async fn replay_spool(store: Arc<dyn TicketStore>, every: Duration) {
    loop {
        let s = store.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.replay_spool()).await {
            tracing::warn!(error = %format!("{e:#}"), "the spooled questions could not be replayed yet; trying again later");
        }
        tokio::time::sleep(every).await;
    }
}

/// Enforces retention daily.
async fn purge(store: Arc<dyn TicketStore>, days: u32) {
    loop {
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.purge(days)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(rows = n, days, "removed records past retention"),
            Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "retention purge failed"),
            _ => {}
        }
        tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    }
}
