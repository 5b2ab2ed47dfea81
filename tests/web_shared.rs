//! Two web routers over one store — two processes behind a load balancer (#15): an operator's
//! console session made by one works on the other and ends on both, and an address's requests
//! are counted together.

use axum::http::{StatusCode, header};
use customs_bot::tickets::TicketStore;

use crate::web::{app, form, post_form, post_json, send, site};
use crate::web_house::{get_as, operator};

#[tokio::test]
async fn a_console_session_made_by_one_process_works_on_another_and_ends_on_both() {
    let s = site("");
    let (one, two) = (app(&s), app(&s));
    let (cookie, csrf) = operator(&one).await;
    let (status, _, page) = send(&two, get_as("/ops", &cookie)).await;
    assert_eq!(status, StatusCode::OK, "the other process knows the session");
    assert!(page.contains("wang"), "{page}");
    // The other process takes the first one's CSRF token too (it is the session's).
    send(&one, post_json("/chat/ask", r#"{"question":"西宁明天天气怎么样"}"#)).await;
    let answer = form(&[("csrf", &csrf), ("answer", "请看气象台。")]);
    let (status, _, _) = send(&two, post_form("/ops/ticket/1/answer", &answer, Some(&cookie))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        s.store.ticket(1).unwrap().unwrap().answered_by.as_deref(),
        Some("web:wang")
    );
    // Logged out on the second: the first no longer knows the session.
    let (status, _, _) = send(&two, post_form("/ops/logout", &form(&[("csrf", &csrf)]), Some(&cookie))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, headers, _) = send(&one, get_as("/ops", &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ops/login");
}

#[tokio::test]
async fn a_stolen_store_row_is_not_a_session() {
    let s = site("");
    let a = app(&s);
    let (cookie, _) = operator(&a).await;
    let token = cookie
        .strip_prefix("cb_session=")
        .expect("the session cookie")
        .to_string();
    // What the store keeps is a digest: sending it as the cookie is no session.
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(s.store.session(&token).unwrap().is_some());
    assert!(s.store.session(&digest).unwrap().is_none());
    let (status, _, _) = send(&a, get_as("/ops", &format!("cb_session={digest}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_address_is_rate_limited_across_processes() {
    let s = site("requests_per_minute = 2");
    let (one, two) = (app(&s), app(&s));
    for a in [&one, &two] {
        let (status, _, _) = send(a, post_json("/api/ask", r#"{"question":"滞报金"}"#)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _, body) = send(&one, post_json("/api/ask", r#"{"question":"滞报金"}"#)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_whose_store_fails_lets_requests_through() {
    use std::sync::Arc;
    use std::time::Duration;

    use customs_bot::tickets::{SqliteStore, StoreOptions};

    let s = site("requests_per_minute = 1");
    let db = s._dir.path().join("data/limits.sqlite");
    let options = StoreOptions {
        log_budget: Duration::from_millis(300),
        ..StoreOptions::default()
    };
    let store = Arc::new(SqliteStore::open_with(&db, options).unwrap());
    let desk = customs_bot::desk::Desk::new(s.assistant.clone(), store);
    let a = customs_bot::web::router(Arc::new(desk));
    // Another process holds the database's write lock: nothing can be counted.
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    for _ in 0..3 {
        let (status, _, body) = send(&a, post_json("/api/ask", r#"{"question":"滞报金"}"#)).await;
        assert_eq!(status, StatusCode::OK, "let through: {body}");
    }
    drop(lock);
    // Counting again: the limit holds.
    let (status, _, _) = send(&a, post_json("/api/ask", r#"{"question":"滞报金"}"#)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&a, post_json("/api/ask", r#"{"question":"滞报金"}"#)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
