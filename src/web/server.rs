//! The HTTP server under the web app: hyper's HTTP/1 connections with `[web]` limits (header and
//! body timeouts, connections at once overall and per address) and a shutdown bounded by
//! `shutdown_grace_seconds`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use tower::ServiceExt as _;

use super::router;
use crate::desk::Desk;

/// Runs the web app on `listener` until `shutdown` resolves, then stops accepting, lets requests
/// in progress finish for `[web] shutdown_grace_seconds` and closes whatever is still open.
///
/// HTTP/1.1 (hyper) with `[web]` limits: headers (and the next request on a kept-alive
/// connection) within `header_timeout_seconds`, no pause over `body_timeout_seconds` while a body
/// is sent, the whole request within `request_timeout_seconds` (the router's), at most
/// `max_connections` connections served at once (more wait in the listen queue) and
/// `max_connections_per_ip` per address (more are closed at once).
pub async fn serve(
    desk: Arc<Desk>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let web = desk.assistant().config().web.clone();
    let app = router(desk);
    let header_timeout = Duration::from_secs(web.header_timeout_seconds);
    let body_timeout = Duration::from_secs(web.body_timeout_seconds);
    let slots = Arc::new(tokio::sync::Semaphore::new(web.max_connections));
    let per_ip = Arc::new(Mutex::new(HashMap::<IpAddr, usize>::new()));
    let (close_tx, close_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot?,
            () = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "could not accept a web connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        // A trusted proxy carries many people's requests: its connections are not capped per address.
        let cap = if web.trusted_proxies.contains(&addr.ip()) {
            usize::MAX
        } else {
            web.max_connections_per_ip
        };
        let Some(ip_slot) = IpSlot::take(&per_ip, addr.ip(), cap) else {
            tracing::debug!(ip = %addr.ip(), "too many connections from one address; closed");
            continue;
        };
        let app = app.clone();
        let mut close = close_rx.clone();
        connections.spawn(async move {
            let _held = (slot, ip_slot);
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                let req = req.map(|b| axum::body::Body::new(tower_http::timeout::TimeoutBody::new(body_timeout, b)));
                app.clone().oneshot(req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "web connection ended with an error");
                    }
                }
                () = async { let _ = close.wait_for(|c| *c).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    let _ = close_tx.send(true);
    let grace = Duration::from_secs(web.shutdown_grace_seconds);
    let drained = tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            grace_s = web.shutdown_grace_seconds,
            "web connections still open after the grace period; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// One of an address's connection slots, given back when the connection ends.
struct IpSlot {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl IpSlot {
    fn take(map: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr, max: usize) -> Option<Self> {
        let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Self { map: map.clone(), ip })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}
