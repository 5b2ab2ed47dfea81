//! The console's side of issue #13: the reindex button through the regression gate with its
//! confirm step, the knowledge history and what a logged question was told.

use crate::governance::{break_late_fee, current, write_checks};
use crate::web_house::{get_as, operator};

#[tokio::test]
async fn the_console_shows_the_gate_and_its_confirm_step_the_history_and_why() {
    use axum::http::StatusCode;

    use crate::web::{app, form, post_form, post_json, send};

    let s = crate::web::site("");
    let site = s._dir.path().to_path_buf();
    let a = app(&s);
    let (cookie, csrf) = operator(&a).await;
    let get = |uri: &str| get_as(uri, &cookie);
    let (_, _, page) = send(&a, get("/ops")).await;
    assert!(page.contains("href=\"/ops/history\""), "{page}");

    // A person asks; the console shows what they were told.
    send(&a, post_json("/chat/ask", r#"{"question":"滞报金怎么算"}"#)).await;
    let (status, _, page) = send(&a, get("/ops/why/1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("当时的答复") && page.contains("十四日内"), "{page}");
    assert!(
        page.contains("proc-late-fee（2026-11-26 版") && page.contains("此后未修改"),
        "{page}"
    );
    send(&a, post_json("/chat/ask", r#"{"question":"西宁明天天气怎么样"}"#)).await;
    let (_, _, page) = send(&a, get("/ops/ticket/1")).await;
    assert!(
        page.contains("href=\"/ops/why/2\""),
        "the ticket links to what its question was told: {page}"
    );
    let (status, _, _) = send(&a, get("/ops/why/99")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A change that breaks a labelled answer: refused, with the diff and a confirm step.
    write_checks(&site);
    break_late_fee(&site);
    let before = current(&site);
    let (status, _, page) = send(&a, post_form("/ops/reindex", &form(&[("csrf", &csrf)]), Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("回归检查未通过"), "{page}");
    assert!(page.contains("proc-late-fee → handoff (1):"), "{page}");
    assert_eq!(current(&site), before);
    let marker = "name=\"accept\" value=\"";
    let at = page.find(marker).expect("a confirm form") + marker.len();
    let fingerprint = page[at..at + 64].to_string();

    // Accepting a diff of other knowledge than the one shown publishes nothing.
    let (_, _, page) = send(
        &a,
        post_form(
            "/ops/reindex",
            &form(&[("csrf", &csrf), ("accept", "0000")]),
            Some(&cookie),
        ),
    )
    .await;
    assert!(
        page.contains("the knowledge changed since the diff that was accepted"),
        "{page}"
    );
    assert_eq!(current(&site), before);
    // Without the session's CSRF token, nothing happens.
    let (status, _, _) = send(
        &a,
        post_form(
            "/ops/reindex",
            &form(&[("csrf", "forged"), ("accept", &fingerprint)]),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(current(&site), before);

    let (_, _, page) = send(
        &a,
        post_form(
            "/ops/reindex",
            &form(&[("csrf", &csrf), ("accept", &fingerprint)]),
            Some(&cookie),
        ),
    )
    .await;
    assert!(page.contains("已接受并发布"), "{page}");
    assert_ne!(current(&site), before);

    let (_, _, page) = send(&a, get("/ops/history?entry=proc-late-fee")).await;
    assert!(page.contains("reindex — web:wang — 回归检查：accepted"), "{page}");
    assert!(
        page.contains("未经 customs-bot、直接改动文件的条目：proc-late-fee"),
        "{page}"
    );
    let (_, _, page) = send(&a, get("/ops/why/1")).await;
    assert!(page.contains("十四日内") && page.contains("此后已修改"), "{page}");
}

#[tokio::test]
async fn a_refused_promotion_in_the_console_is_undone_and_its_confirm_step_publishes_it() {
    use customs_bot::tickets::{NewTicket, TicketReason, TicketStore};

    use crate::web::{app, form, post_form, send};

    let s = crate::web::site("");
    let site = s._dir.path().to_path_buf();
    // The ticket's own question is labelled for the late-fee entry: promoting it to another entry
    // breaks that label.
    std::fs::create_dir_all(site.join("knowledge/checks")).unwrap();
    std::fs::write(
        site.join("knowledge/checks/own.tsv"),
        "# min_right = 1.0\nproc-late-fee\t滞报金怎么算呀\n",
    )
    .unwrap();
    let a = app(&s);
    let (cookie, csrf) = operator(&a).await;
    let ticket = s
        .store
        .open_ticket(&NewTicket {
            channel: "web",
            chat: "web:1",
            question: "滞报金怎么算呀",
            reason: TicketReason::Handoff,
            guesses: &[],
            question_id: None,
        })
        .unwrap();
    let transit = site.join("knowledge/procedure/transit.md");
    let original = std::fs::read_to_string(&transit).unwrap();
    let before = current(&site);
    let uri = format!("/ops/ticket/{}/promote", ticket.id);

    let (_, _, page) = send(
        &a,
        post_form(&uri, &form(&[("csrf", &csrf), ("to", "proc-transit")]), Some(&cookie)),
    )
    .await;
    assert!(page.contains("回归检查未通过：改动已撤销"), "{page}");
    assert!(page.contains("refused: own.tsv"), "{page}");
    assert!(
        page.contains("name=\"to\" value=\"proc-transit\"") && page.contains("name=\"accept\" value=\"yes\""),
        "{page}"
    );
    assert_eq!(std::fs::read_to_string(&transit).unwrap(), original);
    assert_eq!(current(&site), before);
    assert_eq!(s.store.ticket(ticket.id).unwrap().unwrap().state.as_str(), "open");

    let (_, _, page) = send(
        &a,
        post_form(
            &uri,
            &form(&[
                ("csrf", &csrf),
                ("to", "proc-transit"),
                ("new", ""),
                ("kind", ""),
                ("accept", "yes"),
            ]),
            Some(&cookie),
        ),
    )
    .await;
    assert!(page.contains("索引已重建并生效"), "{page}");
    assert_ne!(current(&site), before);
    assert_eq!(s.store.ticket(ticket.id).unwrap().unwrap().state.as_str(), "closed");
    let last = s.store.changes(None, 1).unwrap().remove(0);
    assert_eq!(
        (last.action.as_str(), last.who.as_str(), last.gate.as_str()),
        ("promote", "web:wang", "accepted")
    );
}
