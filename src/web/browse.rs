//! Browsing the published affairs by kind, one entry's page, and a person's ticket page.

use axum::extract::{Path, Query, State};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::pages::{lines, page};
use super::{Shared, WebError};
use crate::desk::Channel;
use crate::knowledge::Kind;
use crate::reply::Body;
use crate::tickets::{Ticket, TicketState, parse_ticket_number};

#[derive(Deserialize)]
pub(super) struct KeyQuery {
    key: Option<String>,
}

/// `GET /ticket/T000012?key=…`: the person's view of their ticket; the answer once an operator replied.
pub(super) async fn ticket_page(
    State(s): State<Shared>,
    Path(number): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Result<Markup, WebError> {
    let missing = WebError::NotFound("没有这个工单。");
    let Some(id) = parse_ticket_number(&number) else {
        return Err(missing);
    };
    let Ok(t) = s.desk.ticket(id).await else {
        return Err(missing);
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
        return Err(missing);
    }
    // The web person reads the answer here: that is its relay.
    if t.channel == Channel::Web.as_str() {
        s.desk.answer_seen(&t).await;
    }
    let config = s.assistant().config();
    let hotline = crate::reply::hotline_lines(&config.office);
    Ok(ticket_view(
        &t,
        &hotline,
        &config.office_clock().format_minute(t.opened_at),
    ))
}

fn ticket_view(t: &Ticket, hotline: &str, opened: &str) -> Markup {
    let body = html! {
        header {
            h1 { "工单 " (t.number()) }
            nav { a href="/" { "继续提问" } }
        }
        main {
            div.msg {
                p { "您的问题：" (t.question) }
                p { "登记时间：" (opened) }
                @if let Some(answer) = &t.answer {
                    h2 { "工作人员的答复" }
                    p { (lines(answer)) }
                } @else if t.state == TicketState::Closed {
                    p { "这个工单已关闭。" }
                } @else {
                    p { "工作人员还在处理，请稍后再来查看。" }
                    p { (lines(hotline)) }
                }
            }
        }
    };
    page(&format!("工单 {}", t.number()), false, body)
}

pub(super) async fn browse(State(s): State<Shared>) -> Markup {
    let body = html! {
        header {
            h1 { "按类别浏览" }
            nav { a href="/" { "提问" } }
        }
        main {
            ul {
                @for k in Kind::ALL {
                    li { a href={ "/browse/" (k.as_str()) } { (k.label()) } "（" (s.assistant().topics(k).len()) " 条）" }
                }
            }
        }
    };
    page("按类别浏览", false, body)
}

pub(super) async fn browse_kind(State(s): State<Shared>, Path(kind): Path<String>) -> Result<Markup, WebError> {
    let Some(kind) = Kind::parse(&kind) else {
        return Err(WebError::NotFound("没有这个类别。"));
    };
    let body = html! {
        header {
            h1 { (kind.label()) }
            nav { a href="/browse" { "全部类别" } " " a href="/" { "提问" } }
        }
        main {
            ul {
                @for (id, title) in s.assistant().topics(kind).iter() {
                    li { a href={ "/entry/" (id) } { (title) } }
                }
            }
        }
    };
    Ok(page(kind.label(), false, body))
}

pub(super) async fn entry_page(State(s): State<Shared>, Path(id): Path<String>) -> Result<Markup, WebError> {
    let Some(reply) = s.assistant().answer_entry(&id) else {
        return Err(WebError::NotFound("没有这一条，或它已经下线。"));
    };
    // A rule no longer in force opens the one that replaced it, saying when the old one ended.
    let (Body::Answer(e) | Body::Superseded { entry: e, .. }) = &reply.body else {
        return Err(WebError::NotFound("没有这一条。"));
    };
    // `web_html` renders the entry (`entry_web_html`, the markup module) with everything in it
    // escaped.
    let entry = PreEscaped(reply.web_html(&s.assistant().config().office));
    let body = html! {
        header {
            h1 { (e.title) }
            nav { a href={ "/browse/" (e.kind.as_str()) } { (e.kind.label()) } " " a href="/" { "提问" } }
        }
        main { div.msg { (entry) } }
    };
    Ok(page(&e.title, false, body))
}
