//! The chat page's conversation, router-level: a follow-up is answered from the topic and offers
//! 不是这个？, which forgets the topic for that browser only.

use serde_json::Value;

use crate::web::{app, cookie_of, post_json, send, site};

async fn ask_as(a: &axum::Router, question: &str, cookie: Option<&str>) -> (Value, String) {
    let body = serde_json::json!({ "question": question }).to_string();
    let mut req = post_json("/chat/ask", &body);
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", c.parse().unwrap());
    }
    let (status, headers, body) = send(a, req).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    let cookie = cookie.map_or_else(|| cookie_of(&headers), str::to_string);
    (serde_json::from_str(&body).unwrap(), cookie)
}

#[tokio::test]
async fn a_follow_up_offers_not_this_which_forgets_the_topic() {
    let s = site("");
    let a = app(&s);
    let (first, me) = ask_as(&a, "转关怎么办理", None).await;
    assert_eq!(first["decision"], "answer", "{first}");
    assert_eq!(
        first["not_this"], false,
        "a question answered on its own needs no way out"
    );
    let (follow, _) = ask_as(&a, "要什么材料", Some(&me)).await;
    assert_eq!(follow["decision"], "answer", "{follow}");
    assert!(follow["html"].as_str().unwrap().contains("跨关区转关"), "{follow}");
    assert_eq!(follow["not_this"], true, "{follow}");
    // Another browser's follow-up has no topic: asked back, never answered.
    let (stranger, _) = ask_as(&a, "要什么材料", Some("cb_chat=web:someone-else")).await;
    assert_ne!(stranger["decision"], "answer", "{stranger}");
    // 不是这个 (what the button sends) forgets the topic: the next follow-up is asked back too.
    let (asked_back, _) = ask_as(&a, "不是这个", Some(&me)).await;
    assert_eq!(asked_back["decision"], "handoff", "{asked_back}");
    assert!(
        asked_back["html"].as_str().unwrap().contains("请再具体说说"),
        "{asked_back}"
    );
    let (again, _) = ask_as(&a, "要什么材料", Some(&me)).await;
    assert_ne!(again["decision"], "answer", "the topic is forgotten: {again}");
}
