//! The chat page's requests and `POST /api/ask`: questions, picks and feedback, through the desk.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::conversation::{conversation, conversation_or_new, is_token};
use super::extract::Admitted;
use super::pages::lines;
use super::{ClientIp, Shared, WebError};
use crate::desk::cases::ticket_reason;
use crate::desk::{Answered, Channel, Chat, FeedbackOutcome, Unchosen};
use crate::reply::Body;
use crate::tickets::{QuestionRef, Ticket};

#[derive(Deserialize)]
pub(super) struct AskBody {
    question: String,
}

/// `POST /api/ask`: the same JSON object as `customs-bot ask --json`, for the portal to embed.
pub(super) async fn api_ask(
    State(s): State<Shared>,
    ClientIp(ip): ClientIp,
    Admitted(body): Admitted<AskBody>,
) -> Response {
    let answered = s
        .desk
        .ask(&Chat::new(Channel::Api, format!("api:{ip}")), &body.question)
        .await;
    Json(answered.reply.to_json(&s.assistant().config().office)).into_response()
}

fn ticket_link(t: &Ticket) -> String {
    format!("/ticket/{}?key={}", t.number(), t.access_key)
}

fn ticket_html(t: &Ticket) -> String {
    html! {
        p.ticket {
            "您的问题已登记为工单 " a href=(ticket_link(t)) { b { (t.number()) } }
            "。请保存这个链接，工作人员答复后可在那里查看。"
        }
    }
    .into_string()
}

fn duty_html(s: &Shared) -> String {
    let c = s.assistant().config();
    let line = crate::reply::duty_line(c.duty.as_ref(), &c.office);
    html! { p { (line) } }.into_string()
}

/// `POST /chat/ask`: what the chat page shows.
pub(super) async fn chat_ask(State(s): State<Shared>, jar: CookieJar, Admitted(body): Admitted<AskBody>) -> Response {
    let (chat, jar) = conversation_or_new(&s, jar);
    let answered = s.desk.ask(&Chat::new(Channel::Web, chat), &body.question).await;
    (jar, Json(chat_json(&s, &answered).await)).into_response()
}

/// What the page shows for an answered question: the reply, its choices, the ticket it opened,
/// and the key that names the question for feedback (never the row id).
async fn chat_json(s: &Shared, answered: &Answered) -> serde_json::Value {
    let reply = &answered.reply;
    let mut html = reply.web_html(&s.assistant().config().office);
    let mut choices = Vec::new();
    let mut ticket = None;
    match &reply.body {
        Body::Clarify(c) => choices = c.iter().map(|c| json!({"id": c.id, "title": c.title})).collect(),
        // A hand-off that needs a person: who is on duty, and the ticket it opened.
        // A hand-off that needs a person, or the part of a long message only a person can answer:
        // who is on duty, and the ticket it opened.
        Body::Handoff(_) | Body::Parts(_) if reply.referral().and_then(ticket_reason).is_some() => {
            html.push_str(&duty_html(s));
            if let Some(t) = &answered.ticket {
                html.push_str(&ticket_html(t));
                ticket = Some(json!({"number": t.number(), "url": ticket_link(t)}));
            }
        }
        _ => {}
    }
    let mut feedback = None;
    if let (Body::Answer(_) | Body::FollowUp { .. } | Body::Superseded { .. } | Body::Parts(_), Some(qid)) =
        (&reply.body, answered.question_id)
    {
        feedback = s.desk.question_key(qid).await;
    }
    // Answered from the conversation's topic: the page offers 不是这个？ (the same turn as typing it).
    let not_this = matches!(reply.body, Body::FollowUp { .. });
    json!({"decision": reply.decision, "html": html, "choices": choices, "ticket": ticket, "ref": feedback, "not_this": not_this})
}

#[derive(Deserialize)]
pub(super) struct PickBody {
    id: String,
}

/// `POST /chat/pick`: one of the choices offered to this conversation.
pub(super) async fn chat_pick(
    State(s): State<Shared>,
    jar: CookieJar,
    Admitted(body): Admitted<PickBody>,
) -> Result<Response, WebError> {
    let gone = || WebError::json(StatusCode::NOT_FOUND, "这一条已经更新或下线了，请重新提问。");
    let Some(chat) = conversation(&jar) else {
        return Err(gone());
    };
    match s.desk.choose(&Chat::new(Channel::Web, chat), &body.id, true).await {
        Ok(answered) => Ok(Json(chat_json(&s, &answered).await).into_response()),
        Err(Unchosen::Gone) => Err(gone()),
        Err(Unchosen::Unavailable) => Err(WebError::unavailable("暂时无法处理，请稍后再试。")),
    }
}

#[derive(Deserialize)]
pub(super) struct FeedbackBody {
    /// The question's key, as `/chat/ask` or `/chat/pick` gave it.
    #[serde(rename = "ref")]
    key: String,
    helpful: bool,
}

/// `POST /chat/feedback`: 有帮助 / 没帮助 on an answer given to this conversation. Another
/// conversation's question, a made-up key and no conversation at all all look like an unknown
/// question, record nothing and open no ticket.
pub(super) async fn chat_feedback(
    State(s): State<Shared>,
    jar: CookieJar,
    Admitted(body): Admitted<FeedbackBody>,
) -> Result<Response, WebError> {
    let unknown = || WebError::json(StatusCode::NOT_FOUND, "找不到这个问题。");
    let Some(chat) = conversation(&jar).filter(|_| is_token(&body.key)) else {
        return Err(unknown());
    };
    let chat = Chat::new(Channel::Web, chat);
    let html = match s.desk.feedback(&chat, QuestionRef::Key(&body.key), body.helpful).await {
        FeedbackOutcome::Sorry(ticket) => sorry_html(&s, ticket.as_deref()),
        FeedbackOutcome::Thanks => html! { p { "感谢您的反馈！" } }.into_string(),
        FeedbackOutcome::AlreadyRecorded => html! { p { "已经收到您的反馈了，谢谢。" } }.into_string(),
        FeedbackOutcome::Unknown => return Err(unknown()),
        FeedbackOutcome::Failed => return Err(WebError::unavailable("暂时无法记录，请稍后再试。")),
    };
    Ok(Json(json!({ "html": html })).into_response())
}

/// The reply to 没帮助: the hotline, office hours, and the ticket when one was opened.
fn sorry_html(s: &Shared, ticket: Option<&Ticket>) -> String {
    let hotline = crate::reply::hotline_lines(&s.assistant().config().office);
    let mut html = html! { p { "抱歉没能帮上忙。您可以联系人工：" br; (lines(&hotline)) } }.into_string();
    html.push_str(&duty_html(s));
    html.push_str(&ticket.map(ticket_html).unwrap_or_default());
    html
}
