//! The hall's touchscreen kiosk, under `/kiosk`: tap first, type if you like.
//!
//! Screens (server-rendered, no script needed to use them; one small script for the idle reset):
//! home (tiles from `[kiosk] tiles`, the entries most asked this week, the search box), a tile's
//! entries as large buttons, an entry with its sections as tabs (`?s=<n>` links) and related entries
//! as buttons, the answer to a typed question (with its choices, or the hand-off with a ticket's QR
//! code), and 找人工 (hotline, on duty now or back at, a note left for an operator with the QR code of
//! its ticket page). 结束 and the idle reset forget the conversation and start a new one.
//!
//! Every answer goes through the desk: a tapped entry is a chosen entry (`Desk::choose`, logged as
//! `[选择] <title>`), a typed question a question (`Desk::ask`, follow-ups included), 找人工 a request
//! for a person (`Desk::request_human`). The conversation is the browser's `cb_chat` cookie, as for
//! the web chat. Taps and questions are forms posted here, rate-limited per address like the chat.

mod assets;
mod panels;
mod qr;
mod views;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::conversation::{conversation, conversation_or_new, new_conversation};
use super::{ClientIp, Shared, WebError, WebState};
use crate::config::Tile;
use crate::desk::cases::ticket_reason;
use crate::desk::{Channel, Chat, Popular, Unchosen};
use crate::knowledge::Entry;
use crate::markup;
use crate::ratelimit::Rate;
use crate::reply::Body;
use crate::tickets::Ticket;
use views::{AnswerView, EntryView, Item, Screen, TicketShown, TileView};

/// The kiosk's routes (merged into the web app).
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/kiosk", get(home))
        .route("/kiosk/c/{key}", get(category))
        .route("/kiosk/e/{id}", get(entry))
        .route("/kiosk/open", post(open))
        .route("/kiosk/ask", post(ask))
        .route("/kiosk/person", get(person).post(leave_note))
        .route("/kiosk/end", post(end))
        .route(
            "/static/kiosk.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], assets::STYLE) }),
        )
        .route(
            "/static/kiosk.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    assets::SCRIPT,
                )
            }),
        )
}

/// The "most asked" row as last counted: the home screen shows it on every visit and after every
/// idle reset, so it is counted at most once per [`POPULAR_FRESH`].
#[derive(Default)]
pub(super) struct PopularRow(Mutex<Option<(Instant, Vec<Popular>)>>);

const POPULAR_FRESH: Duration = Duration::from_secs(60);

impl PopularRow {
    async fn get(&self, s: &WebState) -> Vec<Popular> {
        let k = &s.assistant().config().kiosk;
        if k.popular == 0 {
            return Vec::new();
        }
        if let Some((at, row)) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && at.elapsed() < POPULAR_FRESH
        {
            return row.clone();
        }
        let row = s.desk.popular(k.popular_days, k.popular).await;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), row.clone()));
        row
    }
}

/// A kiosk form, admitted within the address's rate limit (checked before the body is read).
struct KioskForm<T>(T);

impl<T: DeserializeOwned + Send> FromRequest<Shared> for KioskForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, s: &Shared) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(&mut parts, s).await;
        if let Rate::Limited(_) = s.admit(ip).await {
            return Err(WebError::Kiosk(
                StatusCode::TOO_MANY_REQUESTS,
                "操作太频繁了，请稍等一分钟再试。",
            ));
        }
        match Form::<T>::from_request(Request::from_parts(parts, body), s).await {
            Ok(Form(form)) => Ok(Self(form)),
            Err(_) => Err(WebError::Kiosk(
                StatusCode::BAD_REQUEST,
                "没有读懂这次操作，请返回首页再试。",
            )),
        }
    }
}

fn screen(s: &WebState) -> Screen<'_> {
    let c = s.assistant().config();
    Screen {
        office_name: c.office.get("office_name").map_or("", String::as_str),
        idle_seconds: c.web.kiosk_idle_seconds,
    }
}

/// The current entries under a tile, by title.
fn entries_of(entries: &[Entry], tile: &Tile) -> Vec<Item> {
    let today = crate::app::today();
    let mut out: Vec<Item> = entries
        .iter()
        .filter(|e| tile.holds(e.kind, &e.id) && e.is_current(today))
        .map(|e| (e.id.clone(), e.title.clone()))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// The current entries among `ids` (an entry's related ones), in the order given.
fn current(entries: &[Entry], ids: &[String]) -> Vec<Item> {
    let today = crate::app::today();
    ids.iter()
        .filter_map(|id| entries.iter().find(|e| &e.id == id).filter(|e| e.is_current(today)))
        .map(|e| (e.id.clone(), e.title.clone()))
        .collect()
}

async fn home(State(s): State<Shared>, jar: CookieJar) -> Response {
    let (_, jar) = conversation_or_new(&s, jar);
    let k = &s.assistant().config().kiosk;
    let index = s.assistant().index();
    let tiles: Vec<TileView<'_>> = k
        .tiles
        .iter()
        .map(|t| TileView {
            key: &t.key,
            title: &t.title,
            count: entries_of(index.entries(), t).len(),
        })
        .collect();
    let popular = s.popular.get(&s).await;
    (jar, views::home(&screen(&s), &tiles, &popular)).into_response()
}

async fn category(State(s): State<Shared>, Path(key): Path<String>) -> Result<maud::Markup, WebError> {
    let Some(tile) = s.assistant().config().kiosk.tile(&key) else {
        return Err(WebError::Kiosk(StatusCode::NOT_FOUND, "没有这个类别。"));
    };
    let items = entries_of(s.assistant().index().entries(), tile);
    Ok(views::category(&screen(&s), &tile.title, &items))
}

#[derive(Deserialize)]
struct PanelQuery {
    s: Option<String>,
}

async fn entry(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<PanelQuery>,
) -> Result<maud::Markup, WebError> {
    let gone = || WebError::Kiosk(StatusCode::NOT_FOUND, "没有这一条，或它已经下线。");
    let index = s.assistant().index();
    let Some(e) = index.find(&id).filter(|e| e.is_current(crate::app::today())) else {
        return Err(gone());
    };
    let panels = panels::panels(e);
    let selected = match q.s.as_deref() {
        None => 0,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|&n| n < panels.len())
            .ok_or(WebError::Kiosk(StatusCode::NOT_FOUND, "这一条没有这一栏。"))?,
    };
    let config = s.assistant().config();
    let blocks = markup::parse(&markup::fill(&panels[selected].text, &config.office));
    let back = config
        .kiosk
        .tiles
        .iter()
        .find(|t| t.holds(e.kind, &e.id))
        .map(|t| (t.key.as_str(), t.title.as_str()));
    let view = EntryView {
        id: &e.id,
        title: &e.title,
        tabs: panels.iter().map(|p| p.label.as_str()).collect(),
        selected,
        panel_html: markup::to_web_html(&blocks),
        updated: e.updated.to_string(),
        related: current(index.entries(), &e.related),
        back,
    };
    Ok(views::entry(&screen(&s), &view))
}

#[derive(Deserialize)]
struct OpenForm {
    id: String,
}

/// A tapped entry: a chosen entry through the desk (logged), then its page.
async fn open(
    State(s): State<Shared>,
    jar: CookieJar,
    KioskForm(f): KioskForm<OpenForm>,
) -> Result<Response, WebError> {
    if !crate::knowledge::entry::is_valid_id(&f.id) {
        return Err(WebError::Kiosk(StatusCode::NOT_FOUND, "没有这一条，或它已经下线。"));
    }
    let (chat, jar) = conversation_or_new(&s, jar);
    match s.desk.choose(&Chat::new(Channel::Web, chat), &f.id, false).await {
        Ok(_) => Ok((jar, Redirect::to(&format!("/kiosk/e/{}", f.id))).into_response()),
        Err(Unchosen::Gone) => Err(WebError::Kiosk(StatusCode::NOT_FOUND, "没有这一条，或它已经下线。")),
        Err(Unchosen::Unavailable) => Err(WebError::Kiosk(
            StatusCode::SERVICE_UNAVAILABLE,
            "暂时无法处理，请稍后再试。",
        )),
    }
}

#[derive(Deserialize)]
struct AskForm {
    q: String,
}

/// The ticket as shown at the kiosk: its number and the QR code of its private page.
fn shown(s: &WebState, headers: &HeaderMap, t: &Ticket) -> TicketShown {
    TicketShown {
        number: t.number(),
        qr: qr::ticket_url(s.assistant().config(), headers, t).and_then(|url| qr::svg(&url)),
    }
}

fn duty(s: &WebState) -> String {
    let c = s.assistant().config();
    crate::reply::duty_line(c.duty.as_ref(), &c.office)
}

/// A typed question (or a follow-up): through the desk, in this browser's conversation.
async fn ask(
    State(s): State<Shared>,
    headers: HeaderMap,
    jar: CookieJar,
    KioskForm(f): KioskForm<AskForm>,
) -> Response {
    let question = f.q.trim();
    if question.is_empty() {
        return Redirect::to("/kiosk").into_response();
    }
    let (chat, jar) = conversation_or_new(&s, jar);
    let answered = s.desk.ask(&Chat::new(Channel::Web, chat), question).await;
    let reply = &answered.reply;
    let config = s.assistant().config();
    let index = s.assistant().index();
    let (choices, entry) = match &reply.body {
        Body::Clarify(c) => (c.iter().map(|c| (c.id.clone(), c.title.clone())).collect(), None),
        Body::Answer(e) | Body::Superseded { entry: e, .. } => (Vec::new(), Some(e.as_ref())),
        Body::FollowUp { entry, .. } => (Vec::new(), Some(entry.as_ref())),
        _ => (Vec::new(), None),
    };
    let referred = reply.referral().and_then(ticket_reason).is_some();
    let view = AnswerView {
        question,
        reply_html: reply.web_html(&config.office),
        choices,
        entry: entry.map(|e| e.id.as_str()),
        related: entry.map(|e| current(index.entries(), &e.related)).unwrap_or_default(),
        duty: referred.then(|| duty(&s)),
        ticket: answered.ticket.as_ref().map(|t| shown(&s, &headers, t)),
    };
    (jar, views::answer(&screen(&s), &view)).into_response()
}

/// 找人工: the hotline and who is on duty, and a note for an operator, started from what this
/// conversation last asked.
async fn person(State(s): State<Shared>, jar: CookieJar) -> Response {
    let (chat, jar) = conversation_or_new(&s, jar);
    let prefill = s
        .desk
        .last_asked(&Chat::new(Channel::Web, chat))
        .await
        .unwrap_or_default();
    let hotline = crate::reply::hotline_lines(&s.assistant().config().office);
    (jar, views::person(&screen(&s), &duty(&s), &hotline, &prefill, None)).into_response()
}

/// The note left for an operator: a ticket through the desk, and its QR code.
async fn leave_note(
    State(s): State<Shared>,
    headers: HeaderMap,
    jar: CookieJar,
    KioskForm(f): KioskForm<AskForm>,
) -> Response {
    let note = f.q.trim();
    let hotline = crate::reply::hotline_lines(&s.assistant().config().office);
    let refuse = |status: StatusCode, why: &str| {
        (status, views::person(&screen(&s), &duty(&s), &hotline, note, Some(why))).into_response()
    };
    let limit = s.assistant().config().answer.max_question_chars;
    if note.is_empty() {
        return refuse(StatusCode::OK, "请先写下您的问题，或直接拨打上面的电话。");
    }
    if note.chars().count() > limit {
        return refuse(StatusCode::OK, "问题太长了，请写得简短一些。");
    }
    let (chat, jar) = conversation_or_new(&s, jar);
    match s.desk.request_human(&Chat::new(Channel::Web, chat), note).await {
        Some(t) => {
            let page = views::person_done(&screen(&s), &duty(&s), &hotline, &shown(&s, &headers, &t));
            (jar, page).into_response()
        }
        None => refuse(StatusCode::SERVICE_UNAVAILABLE, "暂时无法登记，请直接拨打上面的电话。"),
    }
}

/// 结束 (and the idle reset): the conversation is forgotten, the browser gets a new one, home.
async fn end(State(s): State<Shared>, jar: CookieJar) -> Response {
    if let Some(chat) = conversation(&jar) {
        s.desk.forget(&Chat::new(Channel::Web, chat)).await;
    }
    let (_, jar) = new_conversation(&s, jar);
    (jar, Redirect::to("/kiosk")).into_response()
}
