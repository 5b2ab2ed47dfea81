//! The operators' console at `/ops`: the ticket queue (overdue first), a ticket page to answer /
//! close / promote, a reindex button that reports validation problems, and (in `insight`) the
//! statistics with charts, knowledge gaps, helpfulness per entry and entry drafts. Login and
//! sessions are in `session`, the pages in `views`; every form post arrives as a
//! [`CsrfForm`] (a live session and its CSRF token), every page view with an [`Operator`].

mod charts;
mod governance;
mod insight;
mod insight_views;
mod session;
mod views;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;

use super::extract::{CsrfForm, Operator};
use super::{Shared, WebError};
use crate::desk::PromoteTarget;
use crate::knowledge::Kind;
use crate::tickets::{CloseReason, Ticket, TicketState};

pub use session::SESSION_COOKIE;
pub(crate) use session::session;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/ops", get(queue))
        .route("/ops/login", get(session::login_page).post(session::login))
        .route("/ops/logout", post(session::logout))
        .route("/ops/ticket/{id}", get(ticket))
        .route("/ops/ticket/{id}/answer", post(answer))
        .route("/ops/ticket/{id}/close", post(close))
        .route("/ops/ticket/{id}/promote", post(promote))
        .route("/ops/reindex", post(governance::reindex))
        .route("/ops/history", get(governance::history))
        .route("/ops/why/{id}", get(governance::why))
        .merge(insight::routes())
}

fn overdue(s: &Shared, t: &Ticket) -> bool {
    s.desk.cases().is_overdue(t, chrono::Utc::now())
}

async fn queue(State(s): State<Shared>, who: Operator) -> Markup {
    let cases = s.desk.cases().clone();
    let (open, answered) = tokio::task::spawn_blocking(move || {
        Ok::<_, anyhow::Error>((
            cases.queue(chrono::Utc::now())?,
            cases.list(Some(TicketState::Answered))?,
        ))
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    let clock = s.assistant().config().office_clock();
    views::queue(&who, &open, &answered, &|t| overdue(&s, t), clock)
}

async fn ticket(State(s): State<Shared>, who: Operator, Path(id): Path<i64>) -> Result<Markup, WebError> {
    let Ok(t) = s.desk.ticket(id).await else {
        return Err(WebError::NotFound("没有这个工单。"));
    };
    let clock = s.assistant().config().office_clock();
    Ok(views::ticket(&who, &t, overdue(&s, &t), clock))
}

#[derive(Deserialize)]
struct AnswerForm {
    answer: String,
}

async fn answer(
    State(s): State<Shared>,
    Path(id): Path<i64>,
    CsrfForm { who, form: f }: CsrfForm<AnswerForm>,
) -> Result<Response, WebError> {
    let by = format!("web:{}", who.name);
    match s.desk.answer(id, f.answer, by).await {
        Ok(_) => Ok(Redirect::to(&format!("/ops/ticket/{id}")).into_response()),
        Err(e) => {
            Ok(views::outcome(&who, "答复失败", &e.sentence(), true, &format!("/ops/ticket/{id}")).into_response())
        }
    }
}

#[derive(Deserialize)]
struct CloseForm {
    reason: String,
}

async fn close(
    State(s): State<Shared>,
    Path(id): Path<i64>,
    CsrfForm { form: f, .. }: CsrfForm<CloseForm>,
) -> Result<Redirect, WebError> {
    // Relaying and promotion close tickets themselves; an operator closes for the other reasons.
    let Some(reason) = CloseReason::parse(&f.reason).filter(|r| *r != CloseReason::Promoted) else {
        return Err(WebError::Forbidden("未知的关闭原因。"));
    };
    let _ = s.desk.close(id, reason).await;
    Ok(Redirect::to(&format!("/ops/ticket/{id}")))
}

#[derive(Deserialize)]
struct PromoteForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    kind: String,
    /// Set by the confirm step after the regression gate refused: publish anyway.
    #[serde(default)]
    accept: String,
}

impl PromoteForm {
    /// Where the ticket goes: an existing entry's questions, or a new entry.
    fn target(&self) -> Option<PromoteTarget> {
        if !self.to.trim().is_empty() {
            Some(PromoteTarget::To(self.to.trim().to_string()))
        } else if !self.new.trim().is_empty() {
            Some(PromoteTarget::New {
                id: self.new.trim().to_string(),
                kind: Kind::parse(&self.kind).unwrap_or(Kind::Faq),
                title: None,
            })
        } else {
            None
        }
    }
}

async fn promote(
    State(s): State<Shared>,
    Path(id): Path<i64>,
    CsrfForm { who, form: f }: CsrfForm<PromoteForm>,
) -> Markup {
    let Some(target) = f.target() else {
        return views::problem(&who, "转为知识", "请填写已有条目 id 或新条目 id。");
    };
    let accept = !f.accept.is_empty();
    let again = [
        ("to", f.to.as_str()),
        ("new", f.new.as_str()),
        ("kind", f.kind.as_str()),
    ];
    match s.desk.promote(id, target, format!("web:{}", who.name), accept).await {
        Ok(done) => governance::promoted(&who, id, &done, &again),
        Err(e) => views::outcome(&who, "转为知识", &format!("{e:#}"), true, &format!("/ops/ticket/{id}")),
    }
}
