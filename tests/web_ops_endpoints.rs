//! What a load balancer and a monitoring system ask, router-level: `/healthz`, `/readyz` with the
//! index generation, and `/metrics` only for the allowed peer addresses, counting questions.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::Value;

use crate::web::{app, get, post_json, send, site};

fn from(uri: &str, peer: &str) -> Request<Body> {
    let mut r = get(uri);
    r.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    r
}

#[tokio::test]
async fn health_and_readiness_report_the_index_in_service() {
    let s = site("");
    let a = app(&s);
    let (status, _, body) = send(&a, get("/healthz")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    let (status, _, body) = send(&a, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["store"], true);
    assert_eq!(
        ready["index_entries"].as_u64(),
        Some(s.assistant.index().entries().len() as u64)
    );
    assert_eq!(
        ready["index_fingerprint"],
        s.assistant.index().meta().fingerprint.as_str()
    );
}

#[tokio::test]
async fn metrics_count_questions_and_are_only_for_allowed_addresses() {
    let s = site("metrics_allow = [\"10.0.0.9\"]");
    let a = app(&s);
    let body = serde_json::json!({ "question": "ATA单证册报关手续" }).to_string();
    let (status, _, _) = send(&a, post_json("/api/ask", &body)).await;
    assert_eq!(status, StatusCode::OK);
    // Anyone else, and a request without a peer address, gets nothing.
    for denied in [
        from("/metrics", "127.0.0.1:5000"),
        from("/metrics", "10.0.0.8:5000"),
        get("/metrics"),
    ] {
        let (status, _, body) = send(&a, denied).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!body.contains("customs_bot_"), "{body}");
    }
    let (status, headers, text) = send(&a, from("/metrics", "10.0.0.9:5000")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(
        text.contains(r#"customs_bot_questions_total{channel="api",decision="answer"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"customs_bot_answer_latency_seconds_count{channel="api"} 1"#),
        "{text}"
    );
    assert!(text.contains("customs_bot_open_tickets 0"), "{text}");
    assert!(text.contains("customs_bot_relay_failures_total 0"), "{text}");
    // An IPv4 peer seen through a dual-stack listener is the same address.
    let (status, _, _) = send(&a, from("/metrics", "[::ffff:10.0.0.9]:5000")).await;
    assert_eq!(status, StatusCode::OK);
}
