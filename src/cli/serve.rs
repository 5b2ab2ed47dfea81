//! `customs-bot serve`: run the front ends (Telegram) over the one answering path, with the ticket
//! store, until SIGINT or SIGTERM. A new index (from `reindex`) is picked up within seconds.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::app::Assistant;
use crate::config::Config;
use crate::telegram;
use crate::tickets::{SqliteStore, StoreOptions, TicketStore};

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(config: Config, _args: Args) -> anyhow::Result<Code> {
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
    let sqlite = Arc::new(SqliteStore::open_with(&config.tickets.db, options)?);
    let store: Arc<dyn TicketStore> = sqlite.clone();
    let retention = config.tickets.retention_days;
    // Questions kept in the spool (the database was locked or full, or this process was killed
    // before a replay): into the database now, and again every few seconds.
    let every = Duration::from_secs(config.tickets.spool_replay_seconds);
    tokio::spawn(async move {
        loop {
            let s = sqlite.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.replay_spool()).await {
                tracing::warn!(error = %format!("{e:#}"), "the spooled questions could not be replayed yet; trying again later");
            }
            tokio::time::sleep(every).await;
        }
    });
    let telegram_config = config.telegram.clone();
    let operators = config.operators.clone();
    let assistant = Arc::new(
        tokio::task::spawn_blocking(move || Assistant::start(config))
            .await?
            .context("preparing the index")?,
    );

    // Pick up new index generations (reindex, promote) without a restart.
    crate::app::spawn_index_watcher(assistant.clone(), Duration::from_millis(500));
    // Enforce retention daily.
    let purger = store.clone();
    tokio::spawn(async move {
        loop {
            let s = purger.clone();
            match tokio::task::spawn_blocking(move || s.purge(retention)).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(rows = n, days = retention, "removed records past retention"),
                Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "retention purge failed"),
                _ => {}
            }
            tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        }
    });

    // One shutdown signal for every front end.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal = shutdown_signal();
    tokio::spawn(async move {
        signal.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let mut tasks = Vec::new();
    if web.enabled {
        let listener = tokio::net::TcpListener::bind(&web.listen)
            .await
            .with_context(|| format!("listening on {} ([web] listen)", web.listen))?;
        tracing::info!(url = %format!("http://{}", listener.local_addr()?), "serving the web front");
        let (a, st, stop) = (assistant.clone(), store.clone(), stopped(stop_rx.clone()));
        tasks.push(tokio::spawn(
            async move { crate::web::serve(a, st, listener, stop).await },
        ));
    }
    if let Some(token) = token {
        let bot = telegram::bot(&token.0, telegram_config.api_url.as_deref())?;
        let ctx = Arc::new(telegram::Context::new(assistant, store, &telegram_config).with_operators(operators));
        tracing::info!("serving Telegram (long polling)");
        let stop = stopped(stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            telegram::run(ctx, bot, telegram::limits(&telegram_config), stop).await
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(Code::Ok)
}
