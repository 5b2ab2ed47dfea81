//! `customs-bot serve`: run the front ends (Telegram) over the one answering path, with the ticket
//! store, until SIGINT or SIGTERM. A new index (from `reindex`) is picked up within seconds.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::app::Assistant;
use crate::config::Config;
use crate::telegram;
use crate::tickets::{SqliteStore, TicketStore};

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(config: Config, _args: Args) -> anyhow::Result<Code> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(config))
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, Docker).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
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
    let store: Arc<dyn TicketStore> = Arc::new(SqliteStore::open(&config.tickets.db)?);
    let retention = config.tickets.retention_days;
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
    tokio::spawn(async move {
        shutdown_signal().await;
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
