//! The web front's house rules, router-level (`oneshot`, no server): console forms need a session
//! and its CSRF token, security headers are on every response, ticket keys never reach the log,
//! and HTML-significant characters are escaped on every kind of page.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use customs_bot::tickets::TicketStore;
use serde_json::Value;

use crate::web::{PASSWORD, app, cookie_of, csrf_of, form, get, post_form, post_json, send, site};

/// Something a person or an operator can type that HTML must never take as markup.
const NASTY: &str = "<script>alert(1)</script>&\"x\"";
const NASTY_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&amp;";

pub(crate) fn get_as(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// Logs `wang` in: the session cookie and the session's CSRF token.
pub(crate) async fn operator(a: &axum::Router) -> (String, String) {
    let login = form(&[("name", "wang"), ("password", PASSWORD)]);
    let (status, headers, _) = send(a, post_form("/ops/login", &login, None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie_of(&headers);
    let (_, _, page) = send(a, get_as("/ops", &cookie)).await;
    (cookie.clone(), csrf_of(&page))
}

/// Asks on the chat page; the JSON reply.
async fn ask(a: &axum::Router, question: &str) -> Value {
    let body = serde_json::json!({ "question": question }).to_string();
    let (status, _, body) = send(a, post_json("/chat/ask", &body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn console_forms_without_a_session_go_to_the_login_page() {
    let s = site("");
    let a = app(&s);
    ask(&a, "西宁明天天气怎么样").await;
    let forms = [
        (
            "/ops/ticket/1/answer",
            form(&[("csrf", "x"), ("answer", "请看气象台。")]),
        ),
        ("/ops/ticket/1/close", form(&[("csrf", "x"), ("reason", "duplicate")])),
        ("/ops/ticket/1/promote", form(&[("csrf", "x"), ("new", "faq-weather")])),
        ("/ops/reindex", form(&[("csrf", "x")])),
    ];
    for (uri, body) in &forms {
        for cookie in [None, Some("cb_session=made-up")] {
            let (status, headers, _) = send(&a, post_form(uri, body, cookie)).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{uri} {cookie:?}");
            assert_eq!(headers[header::LOCATION], "/ops/login", "{uri} {cookie:?}");
        }
    }
    let t = s.store.ticket(1).unwrap().unwrap();
    assert_eq!((t.state.as_str(), t.answer.as_deref()), ("open", None));
}

#[tokio::test]
async fn a_wrong_csrf_token_is_refused_and_changes_nothing() {
    let s = site("");
    let a = app(&s);
    ask(&a, "西宁明天天气怎么样").await;
    let (cookie, csrf) = operator(&a).await;
    let current = s.assistant.config().index.dir.join("CURRENT");
    let generation = std::fs::read_to_string(&current).unwrap();
    let forms = [
        ("/ops/ticket/1/answer", vec![("answer", "请看气象台。")]),
        ("/ops/ticket/1/close", vec![("reason", "duplicate")]),
        ("/ops/ticket/1/promote", vec![("to", "proc-transit")]),
        ("/ops/reindex", vec![]),
    ];
    for (uri, fields) in &forms {
        for token in ["forged", "", &csrf[..31]] {
            let mut pairs = vec![("csrf", token)];
            pairs.extend(fields.iter().copied());
            let (status, _, page) = send(&a, post_form(uri, &form(&pairs), Some(&cookie))).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{uri} {token:?}: {page}");
            assert!(page.contains("表单已过期，请刷新页面后重试。"), "{page}");
        }
    }
    let (status, _, page) = send(&a, post_form("/ops/ticket/1/answer", "answer=x", Some(&cookie))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no token at all: {page}");
    let (status, _, page) = send(
        &a,
        post_form("/ops/ticket/1/answer", &form(&[("csrf", &csrf)]), Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the right token but no answer: {page}");
    assert!(
        page.contains("表单内容不完整") && !page.contains("missing field"),
        "{page}"
    );
    let t = s.store.ticket(1).unwrap().unwrap();
    assert_eq!(
        (t.state.as_str(), t.answer.as_deref(), t.promoted_to.as_deref()),
        ("open", None, None),
        "not answered, closed or promoted"
    );
    assert_eq!(std::fs::read_to_string(&current).unwrap(), generation, "no reindex");

    // A forged logout does not end the session; the real one does.
    send(
        &a,
        post_form("/ops/logout", &form(&[("csrf", "forged")]), Some(&cookie)),
    )
    .await;
    let (status, _, _) = send(&a, get_as("/ops", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, _) = send(&a, post_form("/ops/logout", &form(&[("csrf", &csrf)]), Some(&cookie))).await;
    assert_eq!(
        (status, &headers[header::LOCATION]),
        (StatusCode::SEE_OTHER, &"/ops/login".parse().unwrap())
    );
    let cleared = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("cb_session=;") && cleared.contains("Max-Age=0") && cleared.contains("Path=/ops"),
        "{cleared}"
    );
    let (status, _, _) = send(&a, get_as("/ops", &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "logged out");
}

#[tokio::test]
async fn the_session_cookie_keeps_its_attributes() {
    let s = site("secure_cookies = true");
    let a = app(&s);
    let login = form(&[("name", "wang"), ("password", PASSWORD)]);
    let (_, headers, _) = send(&a, post_form("/ops/login", &login, None)).await;
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ops", "Max-Age=28800", "Secure"] {
        assert!(set.split("; ").any(|a| a == attribute), "{attribute} in {set}");
    }
}

#[tokio::test]
async fn security_headers_are_on_every_kind_of_response() {
    let s = site("");
    let a = app(&s);
    let responses = [
        send(&a, get("/no-such-page")).await,
        send(&a, get("/static/style.css")).await,
        send(&a, get("/static/chat.js")).await,
        send(&a, get("/ops")).await,
        send(&a, post_json("/chat/ask", "{not json")).await,
    ];
    assert_eq!(responses[0].0, StatusCode::NOT_FOUND);
    assert!(responses[0].2.contains("没有这个页面。"), "{}", responses[0].2);
    assert_eq!(responses[1].0, StatusCode::OK);
    for (status, headers, _) in &responses {
        for (name, value) in [
            (
                "content-security-policy",
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(headers.get_all(name).iter().count(), 1, "{status} {name}");
            assert_eq!(headers[name], value, "{status} {name}");
        }
    }
}

/// Adds an entry whose title is full of HTML and reindexes through the console.
async fn add_nasty_entry(s: &crate::web::Site, a: &axum::Router, cookie: &str, csrf: &str) {
    let title = NASTY.replace('"', "\\\"");
    std::fs::write(
        s._dir.path().join("knowledge/permit/permit-nasty.md"),
        format!(
            "+++\nid = \"permit-nasty\"\nkind = \"permit\"\ntitle = \"危险标题{title}\"\nquestions = [\"危险标题测试手续怎么办\"]\n\
             keywords = [\"危险标题\"]\nlegal_basis = [\"《海关法》\"]\nupdated = 2026-11-26\n+++\n说明 {NASTY}。\n"
        ),
    )
    .unwrap();
    let (status, _, page) = send(a, post_form("/ops/reindex", &form(&[("csrf", csrf)]), Some(cookie))).await;
    assert!(status == StatusCode::OK && page.contains("已重建索引"), "{page}");
}

fn assert_escaped(what: &str, html: &str) {
    assert!(!html.contains("<script>alert"), "{what}: {html}");
    assert!(html.contains(NASTY_ESCAPED), "{what}: {html}");
}

#[tokio::test]
async fn html_in_questions_titles_and_answers_is_escaped_on_every_page() {
    let s = site("");
    let a = app(&s);
    let (cookie, csrf) = operator(&a).await;
    add_nasty_entry(&s, &a, &cookie, &csrf).await;

    let v = ask(&a, "危险标题测试手续怎么办").await;
    assert_eq!(v["decision"], "answer", "{v}");
    assert_escaped("chat answer", v["html"].as_str().unwrap());
    let (_, _, page) = send(&a, get("/browse/permit")).await;
    assert_escaped("browse page", &page);
    let (_, _, page) = send(&a, get("/entry/permit-nasty")).await;
    assert_escaped("entry page", &page);

    let v = ask(
        &a,
        &format!("西宁明天天气怎么样，会下雪吗，高速封路了没有，航班会延误吗{NASTY}"),
    )
    .await;
    assert_eq!(v["decision"], "handoff", "{v}");
    assert!(!v["html"].as_str().unwrap().contains("<script>alert"), "{v}");
    let url = v["ticket"]["url"].as_str().unwrap().to_string();
    let id = v["ticket"]["number"].as_str().unwrap()[1..].parse::<i64>().unwrap();
    let (_, _, page) = send(&a, get(&url)).await;
    assert_escaped("ticket page", &page);
    let (_, _, page) = send(&a, get_as("/ops", &cookie)).await;
    assert_escaped("ops queue", &page);
    let (_, _, page) = send(&a, get_as(&format!("/ops/ticket/{id}"), &cookie)).await;
    assert_escaped("ops ticket page", &page);

    // An operator's answer is escaped too, for the person and in the console.
    let answer = form(&[("csrf", &csrf), ("answer", &format!("答复{NASTY}"))]);
    let (status, _, _) = send(
        &a,
        post_form(&format!("/ops/ticket/{id}/answer"), &answer, Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = send(&a, get(&url)).await;
    assert!(page.matches(NASTY_ESCAPED).count() >= 2, "question and answer: {page}");
    assert!(!page.contains("<script>alert"), "{page}");
    let (_, _, page) = send(&a, get_as(&format!("/ops/ticket/{id}"), &cookie)).await;
    assert!(
        page.matches(NASTY_ESCAPED).count() >= 3,
        "question, history, textarea: {page}"
    );
    assert!(!page.contains("<script>alert"), "{page}");
}
