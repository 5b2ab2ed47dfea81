//! The operators' console at `/ops`: login (argon2 hashes from `bot.toml [web] operators`,
//! attempts rate-limited per IP), a session cookie (HttpOnly, SameSite=Strict, random 256-bit
//! token, server-side sessions), CSRF tokens on every form, the ticket queue (overdue first), a
//! ticket page to answer / close / promote, the stats, and a reindex button that reports
//! validation problems.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{ClientIp, Shared, office_minute, page};
use crate::desk::{PromoteTarget, ReindexError};
use crate::knowledge::Kind;
use crate::markup::escape_html as esc;
use crate::ratelimit::Rate;
use crate::tickets::{CloseReason, Ticket, TicketState, random_key, ticket_number};

const COOKIE: &str = "cb_session";
const SESSION_HOURS: u64 = 8;

/// A logged-in operator.
#[derive(Clone)]
struct Session {
    name: String,
    csrf: String,
    expires: Instant,
}

/// Server-side sessions by token.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    fn get(&self, token: &str) -> Option<Session> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        map.get(token).cloned()
    }

    fn create(&self, name: &str) -> (String, Session) {
        let token = format!("{}{}", random_key(), random_key());
        let session = Session {
            name: name.to_string(),
            csrf: random_key(),
            expires: Instant::now() + Duration::from_secs(SESSION_HOURS * 3600),
        };
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), session.clone());
        (token, session)
    }

    fn remove(&self, token: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(token);
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/ops", get(queue))
        .route("/ops/login", get(login_page).post(login))
        .route("/ops/logout", post(logout))
        .route("/ops/ticket/{id}", get(ticket))
        .route("/ops/ticket/{id}/answer", post(answer))
        .route("/ops/ticket/{id}/close", post(close))
        .route("/ops/ticket/{id}/promote", post(promote))
        .route("/ops/stats", get(stats))
        .route("/ops/reindex", post(reindex))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn session(s: &Shared, headers: &HeaderMap) -> Option<(String, Session)> {
    let token = cookie_token(headers)?;
    s.sessions.get(&token).map(|sess| (token, sess))
}

fn to_login() -> Response {
    Redirect::to("/ops/login").into_response()
}

fn console(title: &str, who: &Session, body: &str) -> Html<String> {
    Html(page(
        title,
        &format!(
            "<header><h1>{}</h1><nav><a href=\"/ops\">工单</a> <a href=\"/ops/stats\">统计</a> {} \
             <form method=\"post\" action=\"/ops/logout\" style=\"display:inline\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>退出</button></form></nav></header>\
             <main class=\"ops\">{body}</main>",
            esc(title),
            esc(&who.name),
            esc(&who.csrf)
        ),
        false,
    ))
}

fn forbidden(message: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(page(
            "拒绝",
            &format!("<main><p>{}</p><p><a href=\"/ops\">返回</a></p></main>", esc(message)),
            false,
        )),
    )
        .into_response()
}

fn overdue(s: &Shared, t: &Ticket) -> bool {
    s.desk.cases().is_overdue(t, chrono::Utc::now())
}

async fn login_page() -> Html<String> {
    login_form("")
}

fn login_form(message: &str) -> Html<String> {
    Html(page(
        "值班人员登录",
        &format!(
            "<header><h1>值班人员登录</h1></header><main class=\"ops\"><p class=\"problems\">{}</p>\
             <form method=\"post\" action=\"/ops/login\"><p><label>用户名<br><input name=\"name\" autocomplete=\"username\" required></label></p>\
             <p><label>密码<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
             <p><button type=\"submit\">登录</button></p></form></main>",
            esc(message)
        ),
        false,
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
}

/// A hash of nothing, verified when the name is unknown so both cases take the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$kuVgausCPrqhI/+LWrdk4g$8wYG0waglAaNOO7CjsFV3jbbn8Tw4ORzp2wRhqD5Thw";

async fn login(State(s): State<Shared>, ClientIp(ip): ClientIp, Form(f): Form<LoginForm>) -> Response {
    if let Rate::Limited(_) = s.logins.check(&ip) {
        tracing::warn!(%ip, "too many login attempts");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            login_form("登录尝试过多，请十分钟后再试。"),
        )
            .into_response();
    }
    let operators = s.assistant().config().web.operators.clone();
    let (name, password) = (f.name.trim().to_string(), f.password);
    let ok = tokio::task::spawn_blocking(move || {
        let hash = operators
            .iter()
            .find(|o| o.name == name)
            .map(|o| o.password_hash.clone());
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
        let verified =
            PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
        known && verified
    })
    .await
    .unwrap_or(false);
    if !ok {
        tracing::warn!(%ip, name = ?f.name, "failed login");
        return (StatusCode::UNAUTHORIZED, login_form("用户名或密码不对。")).into_response();
    }
    let (token, _) = s.sessions.create(f.name.trim());
    tracing::info!(name = ?f.name.trim(), "operator logged in");
    let secure = if s.assistant().config().web.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={token}; Path=/ops; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/ops")).into_response()
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn logout(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<CsrfOnly>) -> Response {
    if let Some((token, _)) = session(&s, &headers).filter(|(_, sess)| sess.csrf == f.csrf) {
        s.sessions.remove(&token);
    }
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; Path=/ops; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
        Redirect::to("/ops/login"),
    )
        .into_response()
}

async fn queue(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let Some((_, who)) = session(&s, &headers) else {
        return to_login();
    };
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
    let row = |t: &Ticket| {
        format!(
            "<tr><td><a href=\"/ops/ticket/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.id,
            t.number(),
            if overdue(&s, t) {
                "<span class=\"overdue\">逾期</span>"
            } else {
                ""
            },
            esc(&office_minute(&s, t.opened_at)),
            esc(t.reason.label()),
            esc(&t.question)
        )
    };
    let table = |ts: &[Ticket]| {
        if ts.is_empty() {
            "<p>无。</p>".to_string()
        } else {
            format!(
                "<table><tr><th>工单</th><th></th><th>登记时间</th><th>原因</th><th>问题</th></tr>{}</table>",
                ts.iter().map(row).collect::<String>()
            )
        }
    };
    let body = format!(
        "<h2>待处理（{}，逾期的在前）</h2>{}<h2>已答复、待转达（{}）</h2>{}\
         <h2>知识库</h2><form method=\"post\" action=\"/ops/reindex\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>校验并重建索引</button></form>",
        open.len(),
        table(&open),
        answered.len(),
        table(&answered),
        esc(&who.csrf)
    );
    console("工单", &who, &body).into_response()
}

async fn load_ticket(s: &Shared, id: i64) -> Option<Ticket> {
    s.desk.ticket(id).await.ok()
}

async fn ticket(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let Some((_, who)) = session(&s, &headers) else {
        return to_login();
    };
    let Some(t) = load_ticket(&s, id).await else {
        return super::not_found("没有这个工单。");
    };
    let csrf = esc(&who.csrf);
    let guesses = t.guess_titles();
    let mut history = format!(
        "<li>{} 登记（{}）</li>",
        esc(&office_minute(&s, t.opened_at)),
        esc(t.reason.label())
    );
    if let (Some(a), Some(at)) = (&t.answer, &t.answered_at) {
        history.push_str(&format!(
            "<li>{} {} 答复：{}</li>",
            esc(&office_minute(&s, *at)),
            esc(t.answered_by.as_deref().unwrap_or("")),
            esc(a)
        ));
    }
    if let Some(r) = &t.relayed_at {
        history.push_str(&format!("<li>{} 已转达用户</li>", esc(&office_minute(&s, *r))));
    }
    if let Some(c) = &t.closed_at {
        history.push_str(&format!(
            "<li>{} 关闭（{}）{}</li>",
            esc(&office_minute(&s, *c)),
            esc(t.close_reason.map_or("", |r| r.label())),
            t.promoted_to
                .as_deref()
                .map(|p| format!("，转为条目 {}", esc(p)))
                .unwrap_or_default()
        ));
    }
    let kinds: String = Kind::ALL
        .iter()
        .map(|k| format!("<option value=\"{}\">{}</option>", k.as_str(), k.label()))
        .collect();
    let body = format!(
        "<p><b>问题：</b>{}</p><p><b>渠道：</b>{} {}</p><p><b>状态：</b>{}{}</p><p><b>机器人的猜测：</b>{}</p><h2>经过</h2><ul>{history}</ul>\
         <h2>答复</h2><form method=\"post\" action=\"/ops/ticket/{id}/answer\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <textarea name=\"answer\" rows=\"5\" required>{}</textarea><p><button>答复并转达</button></p></form>\
         <h2>关闭</h2><form method=\"post\" action=\"/ops/ticket/{id}/close\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <select name=\"reason\"><option value=\"duplicate\">重复</option><option value=\"out_of_scope\">非海关业务</option><option value=\"relayed\">已答复</option></select> <button>关闭工单</button></form>\
         <h2>转为知识</h2><form method=\"post\" action=\"/ops/ticket/{id}/promote\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <p><label>加入已有条目的问法（条目 id）<br><input name=\"to\" placeholder=\"proc-late-declaration-fee\"></label></p>\
         <p><label>或用答复新建条目（新 id）<br><input name=\"new\" placeholder=\"faq-...\"></label></p><p><select name=\"kind\">{kinds}</select></p>\
         <p><button>转为知识并重建索引</button></p></form>",
        esc(&t.question),
        esc(&t.channel),
        esc(&t.chat),
        esc(t.state.label()),
        if overdue(&s, &t) {
            " <span class=\"overdue\">逾期</span>"
        } else {
            ""
        },
        esc(&if guesses.is_empty() {
            "无".to_string()
        } else {
            guesses.join(" / ")
        }),
        esc(t.answer.as_deref().unwrap_or("")),
    );
    console(&format!("工单 {}", t.number()), &who, &body).into_response()
}

#[derive(Deserialize)]
struct AnswerForm {
    csrf: String,
    answer: String,
}

/// Checks the session and the CSRF token of a form post.
fn authorised(s: &Shared, headers: &HeaderMap, csrf: &str) -> Result<Session, Box<Response>> {
    let Some((_, who)) = session(s, headers) else {
        return Err(Box::new(to_login()));
    };
    if who.csrf != csrf {
        tracing::warn!(name = ?who.name, "a form post without the right CSRF token");
        return Err(Box::new(forbidden("表单已过期，请刷新页面后重试。")));
    }
    Ok(who)
}

async fn answer(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<AnswerForm>,
) -> Response {
    let who = match authorised(&s, &headers, &f.csrf) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let by = format!("web:{}", who.name);
    match s.desk.answer(id, f.answer, by).await {
        Ok(_) => Redirect::to(&format!("/ops/ticket/{id}")).into_response(),
        Err(e) => console(
            "答复失败",
            &who,
            &format!(
                "<p class=\"problems\">{}</p><p><a href=\"/ops/ticket/{id}\">返回</a></p>",
                esc(&e.sentence())
            ),
        )
        .into_response(),
    }
}

#[derive(Deserialize)]
struct CloseForm {
    csrf: String,
    reason: String,
}

async fn close(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<i64>, Form(f): Form<CloseForm>) -> Response {
    if let Err(r) = authorised(&s, &headers, &f.csrf) {
        return *r;
    }
    let reason = match f.reason.as_str() {
        "duplicate" => CloseReason::Duplicate,
        "out_of_scope" => CloseReason::OutOfScope,
        "relayed" => CloseReason::Relayed,
        _ => return forbidden("未知的关闭原因。"),
    };
    let _ = s.desk.close(id, reason).await;
    Redirect::to(&format!("/ops/ticket/{id}")).into_response()
}

#[derive(Deserialize)]
struct PromoteForm {
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    kind: String,
}

async fn promote(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<PromoteForm>,
) -> Response {
    let who = match authorised(&s, &headers, &f.csrf) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let target = if !f.to.trim().is_empty() {
        PromoteTarget::To(f.to.trim().to_string())
    } else if !f.new.trim().is_empty() {
        PromoteTarget::New {
            id: f.new.trim().to_string(),
            kind: Kind::parse(&f.kind).unwrap_or(Kind::Faq),
            title: None,
        }
    } else {
        return console(
            "转为知识",
            &who,
            "<p class=\"problems\">请填写已有条目 id 或新条目 id。</p>",
        )
        .into_response();
    };
    let body = match s.desk.promote(id, target).await {
        Ok(done) => format!(
            "<p>已把工单 {} 转为条目 <b>{}</b>（{}），索引已重建并生效。请在版本库中检查并提交这个改动。</p><p><a href=\"/ops\">返回工单</a></p>",
            ticket_number(id),
            esc(&done.entry),
            esc(&done.path.display().to_string())
        ),
        Err(e) => format!(
            "<p class=\"problems\">{}</p><p><a href=\"/ops/ticket/{id}\">返回</a></p>",
            esc(&format!("{e:#}"))
        ),
    };
    console("转为知识", &who, &body).into_response()
}

async fn stats(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let Some((_, who)) = session(&s, &headers) else {
        return to_login();
    };
    let Some(st) = s.desk.store("count the figures", |st| st.stats(30)).await else {
        return forbidden("暂时无法统计。");
    };
    let list = |items: &[(String, i64)]| {
        items
            .iter()
            .map(|(k, n)| format!("<tr><td>{n}</td><td>{}</td></tr>", esc(k)))
            .collect::<String>()
    };
    let body = format!(
        "<p>最近 {} 天：提问 {}，回答 {}，给出选项 {}，转人工 {}，寒暄 {}；反馈有帮助 {}，没帮助 {}。</p>\
         <p>工单：新开 {}，仍未处理 {}，答复用时中位数 {}。</p>\
         <h2>最常用的条目</h2><table>{}</table><h2>最常见的未答问题</h2><table>{}</table>",
        st.days,
        st.questions,
        st.answered,
        st.clarified,
        st.handed_off,
        st.smalltalk,
        st.helpful,
        st.not_helpful,
        st.tickets_opened,
        st.tickets_open,
        st.median_minutes_to_answer
            .map_or("-".to_string(), |m| format!("{m:.0} 分钟")),
        list(&st.top_entries),
        list(&st.top_unanswered)
    );
    console("统计", &who, &body).into_response()
}

async fn reindex(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<CsrfOnly>) -> Response {
    let who = match authorised(&s, &headers, &f.csrf) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let body = match s.desk.reindex().await {
        Ok(done) => format!(
            "<p>已重建索引：{} 个条目，用时 {} 毫秒，已生效。</p>",
            done.report.entries,
            done.report.elapsed.as_millis()
        ),
        Err(ReindexError::Invalid { problems, .. }) => format!(
            "<p>知识库有问题，未重建（原索引继续服务）：</p><p class=\"problems\">{}</p>",
            esc(&problems.join("\n"))
        ),
        Err(ReindexError::Other(e)) => format!("<p class=\"problems\">{}</p>", esc(&format!("{e:#}"))),
    };
    console("重建索引", &who, &body).into_response()
}
