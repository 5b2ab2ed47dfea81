//! Browsing the published affairs by kind, one entry's page, and a person's ticket page.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::{Shared, not_found, office_minute, page};
use crate::desk::Channel;
use crate::knowledge::Kind;
use crate::markup::escape_html as esc;
use crate::reply::{Body, entry_web_html};
use crate::tickets::{TicketState, parse_ticket_number};

#[derive(Deserialize)]
pub(super) struct KeyQuery {
    key: Option<String>,
}

/// `GET /ticket/T000012?key=…`: the person's view of their ticket; the answer once an operator replied.
pub(super) async fn ticket_page(
    State(s): State<Shared>,
    Path(number): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Response {
    let Some(id) = parse_ticket_number(&number) else {
        return not_found("没有这个工单。");
    };
    let Ok(t) = s.desk.ticket(id).await else {
        return not_found("没有这个工单。");
    };
    // Compare in constant time; a wrong key looks exactly like a missing ticket.
    let given = q.key.unwrap_or_default();
    let same = given.len() == t.access_key.len()
        && !t.access_key.is_empty()
        && given
            .bytes()
            .zip(t.access_key.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return not_found("没有这个工单。");
    }
    let body = match &t.answer {
        Some(answer) => {
            if t.channel == Channel::Web.as_str() {
                s.desk.answer_seen(&t).await;
            }
            format!("<h2>工作人员的答复</h2><p>{}</p>", esc(answer).replace('\n', "<br>"))
        }
        None if t.state == TicketState::Closed => "<p>这个工单已关闭。</p>".to_string(),
        None => format!(
            "<p>工作人员还在处理，请稍后再来查看。</p><p>{}</p>",
            esc(&crate::reply::hotline_lines(&s.assistant().config().office)).replace('\n', "<br>")
        ),
    };
    let html = format!(
        "<header><h1>工单 {}</h1><nav><a href=\"/\">继续提问</a></nav></header><main><div class=\"msg\"><p>您的问题：{}</p><p>登记时间：{}</p>{body}</div></main>",
        t.number(),
        esc(&t.question),
        esc(&office_minute(&s, t.opened_at))
    );
    Html(page(&format!("工单 {}", t.number()), &html, false)).into_response()
}

pub(super) async fn browse(State(s): State<Shared>) -> Html<String> {
    let items: String = Kind::ALL
        .iter()
        .map(|k| {
            format!(
                "<li><a href=\"/browse/{}\">{}</a>（{} 条）</li>",
                k.as_str(),
                k.label(),
                s.assistant().topics(*k).len()
            )
        })
        .collect();
    Html(page(
        "按类别浏览",
        &format!("<header><h1>按类别浏览</h1><nav><a href=\"/\">提问</a></nav></header><main><ul>{items}</ul></main>"),
        false,
    ))
}

pub(super) async fn browse_kind(State(s): State<Shared>, Path(kind): Path<String>) -> Response {
    let Some(kind) = Kind::parse(&kind) else {
        return not_found("没有这个类别。");
    };
    let items: String = s
        .assistant()
        .topics(kind)
        .iter()
        .map(|(id, title)| format!("<li><a href=\"/entry/{}\">{}</a></li>", esc(id), esc(title)))
        .collect();
    let html = format!(
        "<header><h1>{}</h1><nav><a href=\"/browse\">全部类别</a> <a href=\"/\">提问</a></nav></header><main><ul>{items}</ul></main>",
        kind.label()
    );
    Html(page(kind.label(), &html, false)).into_response()
}

pub(super) async fn entry_page(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(reply) = s.assistant().answer_entry(&id) else {
        return not_found("没有这一条，或它已经下线。");
    };
    let Body::Answer(e) = &reply.body else {
        return not_found("没有这一条。");
    };
    let html = format!(
        "<header><h1>{}</h1><nav><a href=\"/browse/{}\">{}</a> <a href=\"/\">提问</a></nav></header><main><div class=\"msg\">{}</div></main>",
        esc(&e.title),
        e.kind.as_str(),
        e.kind.label(),
        entry_web_html(e, &s.assistant().config().office)
    );
    Html(page(&e.title, &html, false)).into_response()
}
