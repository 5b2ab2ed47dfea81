//! What a load balancer and a monitoring system ask: `/healthz` (the process answers), `/readyz`
//! (the store answers and an index is in service: 200, else 503, with the generation as JSON) and
//! `/metrics` (Prometheus text format, only for the peer addresses in `[web] metrics_allow`).

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn readyz(State(s): State<Shared>) -> Response {
    let r = s.desk.readiness().await;
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r)).into_response()
}

async fn metrics(State(s): State<Shared>, request: Request) -> Response {
    // No peer address (never over a real connection): not allowed.
    let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let allowed = &s.assistant().config().web.metrics_allow;
    // An IPv4 peer may arrive as an IPv4-mapped IPv6 address on a dual-stack listener.
    let ip = peer.ip().to_canonical();
    if !allowed.iter().any(|a| a.to_canonical() == ip) {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        s.desk.metrics_text().await,
    )
        .into_response()
}
