//! The chat page's requests and `POST /api/ask`: questions, picks and feedback.

use std::time::{Duration, Instant};

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
use super::{CHANNEL, ClientIp, Shared, WebError};
use crate::reply::{Body, HandoffReason, Reply};
use crate::tickets::{Feedback, NewTicket, QuestionRef, Ticket, TicketReason, TicketStore};

#[derive(Deserialize)]
pub(super) struct AskBody {
    question: String,
}

async fn answer(s: &Shared, question: String) -> (Reply, Duration) {
    let a = s.assistant.clone();
    let started = Instant::now();
    let reply = tokio::task::spawn_blocking(move || a.ask(&question))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "answering panicked");
            s.assistant.ask("")
        });
    (reply, started.elapsed())
}

/// Keeps the question before its reply goes out (in the database, or in the spool while the
/// database is locked or full): the reply and the question's id. When it could not be kept at
/// all, the hand-off with the hotline replaces the reply, so nobody is answered as if it had been.
async fn keep_or_hand_off(s: &Shared, chat: &str, reply: Reply, latency: Duration) -> (Reply, Option<i64>) {
    let record = crate::app::question_record(CHANNEL, chat, &reply.question, &reply, latency);
    let store = s.store.clone();
    match tokio::task::spawn_blocking(move || store.record_question(&record)).await {
        Ok(Ok(logged)) => (reply, logged.id()),
        other => {
            tracing::error!(
                chat,
                question = ?crate::tickets::mask(&reply.question),
                result = ?other.map(|r| r.map_err(|e| format!("{e:#}"))),
                "a web question could not be kept (neither the database nor the spool took it): handing off"
            );
            (crate::app::unrecorded_reply(&reply.question), None)
        }
    }
}

/// `POST /api/ask`: the same JSON object as `customs-bot ask --json`, for the portal to embed.
pub(super) async fn api_ask(
    State(s): State<Shared>,
    ClientIp(ip): ClientIp,
    Admitted(body): Admitted<AskBody>,
) -> Response {
    let (reply, latency) = answer(&s, body.question).await;
    let (reply, _) = keep_or_hand_off(&s, &format!("api:{ip}"), reply, latency).await;
    tracing::info!(
        channel = "api",
        decision = reply.decision.as_str(),
        entry = reply.entry.as_ref().map_or("-", |e| e.id.as_str()),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "question"
    );
    Json(reply.to_json(&s.assistant.config().office)).into_response()
}

async fn open_ticket(
    s: &Shared,
    chat: &str,
    question: &str,
    reason: TicketReason,
    guesses: String,
    qid: Option<i64>,
) -> Option<Ticket> {
    let (chat, question) = (chat.to_string(), question.to_string());
    store_call(s, "open a web ticket", move |st| {
        st.open_ticket(&NewTicket {
            channel: CHANNEL,
            chat: &chat,
            question: &question,
            reason,
            guesses,
            question_id: qid,
        })
    })
    .await
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
    let c = s.assistant.config();
    let line = crate::reply::duty_line(c.duty.as_ref(), &c.office);
    html! { p { (line) } }.into_string()
}

/// `POST /chat/ask`: what the chat page shows.
pub(super) async fn chat_ask(State(s): State<Shared>, jar: CookieJar, Admitted(body): Admitted<AskBody>) -> Response {
    let (chat, jar) = conversation_or_new(&s, jar);
    let (reply, latency) = answer(&s, body.question).await;
    let (reply, qid) = keep_or_hand_off(&s, &chat, reply, latency).await;
    tracing::info!(
        channel = CHANNEL,
        decision = reply.decision.as_str(),
        entry = reply.entry.as_ref().map_or("-", |e| e.id.as_str()),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "question"
    );
    (jar, Json(chat_json(&s, &chat, &reply, qid).await)).into_response()
}

/// Runs a store call on a blocking thread; an error (or a panic) is logged once as `what`.
async fn store_call<T: Send + 'static>(
    s: &Shared,
    what: &'static str,
    f: impl FnOnce(&dyn TicketStore) -> anyhow::Result<T> + Send + 'static,
) -> Option<T> {
    let store = s.store.clone();
    match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::error!(error = ?format!("{e:#}"), "could not {what}");
            None
        }
        Err(e) => {
            tracing::error!(error = ?e.to_string(), "could not {what}");
            None
        }
    }
}

async fn chat_json(s: &Shared, chat: &str, reply: &Reply, qid: Option<i64>) -> serde_json::Value {
    let office = &s.assistant.config().office;
    let mut html = reply.web_html(office);
    let mut choices = Vec::new();
    let mut ticket = None;
    match &reply.body {
        Body::Clarify(c) => {
            // Remembered per conversation: a pick counts only for an entry offered to it.
            let candidates = serde_json::to_string(c).unwrap_or_else(|_| "[]".into());
            let (chat, question) = (chat.to_string(), reply.question.clone());
            store_call(s, "record the choices offered", move |st| {
                st.log_clarify(CHANNEL, &chat, &question, &candidates, qid)
            })
            .await;
            choices = c.iter().map(|c| json!({"id": c.id, "title": c.title})).collect();
        }
        Body::Handoff(reason @ (HandoffReason::NotSure | HandoffReason::Asked | HandoffReason::Internal)) => {
            html.push_str(&duty_html(s));
            let r = match reason {
                HandoffReason::Asked => TicketReason::Asked,
                HandoffReason::Internal => TicketReason::Internal,
                _ => TicketReason::Handoff,
            };
            let guesses = serde_json::to_string(&reply.candidates).unwrap_or_else(|_| "[]".into());
            if let Some(t) = open_ticket(s, chat, &reply.question, r, guesses, qid).await {
                html.push_str(&ticket_html(&t));
                ticket = Some(json!({"number": t.number(), "url": ticket_link(&t)}));
            }
        }
        _ => {}
    }
    // Feedback names the question by its random key, never by the (sequential) row id.
    let mut feedback = None;
    if let (Body::Answer(_), Some(qid)) = (&reply.body, qid) {
        feedback = store_call(s, "give a question its key", move |st| st.question_key(qid)).await;
    }
    json!({"decision": reply.decision, "html": html, "choices": choices, "ticket": ticket, "ref": feedback})
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
    let (c, id) = (chat.clone(), body.id.clone());
    match store_call(&s, "look up the choices offered", move |st| {
        let offered = st.clarify_offered(CHANNEL, &c, &id)?;
        if offered {
            st.clarify_picked(CHANNEL, &c)?;
        }
        Ok(offered)
    })
    .await
    {
        Some(true) => {}
        Some(false) => return Err(gone()),
        None => return Err(WebError::unavailable("暂时无法处理，请稍后再试。")),
    }
    let Some(reply) = s.assistant.answer_entry(&body.id) else {
        return Err(gone());
    };
    let (reply, qid) = keep_or_hand_off(&s, &chat, reply, Duration::ZERO).await;
    Ok(Json(chat_json(&s, &chat, &reply, qid).await).into_response())
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
    let store = s.store.clone();
    let c = chat.clone();
    let outcome =
        tokio::task::spawn_blocking(move || store.feedback(QuestionRef::Key(&body.key), CHANNEL, &c, body.helpful))
            .await;
    let html = match outcome {
        Ok(Ok(Feedback::Recorded(qid, Some(q)))) => {
            let guesses = json!([{ "id": q.entry }]).to_string();
            let ticket = open_ticket(&s, &chat, &q.question, TicketReason::NotHelpful, guesses, Some(qid)).await;
            sorry_html(&s, ticket.as_ref())
        }
        Ok(Ok(Feedback::Recorded(_, None))) => html! { p { "感谢您的反馈！" } }.into_string(),
        Ok(Ok(Feedback::AlreadyRecorded)) => html! { p { "已经收到您的反馈了，谢谢。" } }.into_string(),
        Ok(Ok(Feedback::Unknown)) => return Err(unknown()),
        other => {
            tracing::error!(result = ?other.map(|r| r.map_err(|e| format!("{e:#}"))), "could not record web feedback");
            return Err(WebError::unavailable("暂时无法记录，请稍后再试。"));
        }
    };
    Ok(Json(json!({ "html": html })).into_response())
}

/// The reply to 没帮助: the hotline, office hours, and the ticket when one was opened.
fn sorry_html(s: &Shared, ticket: Option<&Ticket>) -> String {
    let hotline = crate::reply::hotline_lines(&s.assistant.config().office);
    let mut html = html! { p { "抱歉没能帮上忙。您可以联系人工：" br; (lines(&hotline)) } }.into_string();
    html.push_str(&duty_html(s));
    html.push_str(&ticket.map(ticket_html).unwrap_or_default());
    html
}
