//! The console's insight pages: statistics with charts per day (and the numbers as CSV), knowledge
//! gaps and what an operator does from one, helpfulness per entry, entry drafts. Each handler is a
//! desk call; pages need an operator session, forms its CSRF token. A gap is named in forms by its
//! key and period only: the server finds the gap again and takes its questions from the log, never
//! from the browser. A draft is named by an entry id, checked before it becomes a path.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;

use super::insight_views as views;
use super::views::{outcome, problem};
use crate::insight::{MAX_DAYS, trends};
use crate::knowledge::{Kind, entry::is_valid_id};
use crate::web::extract::{CsrfForm, Operator};
use crate::web::{Shared, WebError};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/ops/stats", get(stats))
        .route("/ops/stats.csv", get(stats_csv))
        .route("/ops/gaps", get(gaps))
        .route("/ops/gaps/add", post(gap_add))
        .route("/ops/gaps/draft", post(gap_draft))
        .route("/ops/helpfulness", get(helpfulness))
        .route("/ops/drafts", get(drafts))
        .route("/ops/drafts/{id}", get(draft))
        .route("/ops/drafts/{id}/save", post(draft_save))
        .route("/ops/drafts/{id}/publish", post(draft_publish))
}

/// `?days=N&channel=…`: the period (default 30 days, at most a year) and, on the statistics page,
/// the channel shown.
#[derive(Deserialize)]
struct Period {
    /// A string, so that `?days=abc` shows the default period rather than a bare 400.
    days: Option<String>,
    channel: Option<String>,
}

impl Period {
    fn days(&self) -> u32 {
        form_days(self.days.as_deref().unwrap_or_default())
    }
}

const UNAVAILABLE: &str = "暂时无法统计，请稍后再试。";

async fn stats(State(s): State<Shared>, who: Operator, Query(p): Query<Period>) -> Result<Markup, WebError> {
    let days = p.days();
    let st = s.desk.store("count the figures", move |st| st.stats(days)).await;
    let (Some(st), Some(rows)) = (st, s.desk.trends(days).await) else {
        return Err(WebError::Forbidden(UNAVAILABLE));
    };
    let mut channels: Vec<String> = Vec::new();
    for d in &rows {
        if !channels.contains(&d.channel) {
            channels.push(d.channel.clone());
        }
    }
    // Only a channel the rows have; anything else shows all of them.
    let channel = p
        .channel
        .filter(|c| channels.contains(c))
        .unwrap_or_else(|| trends::ALL.to_string());
    Ok(views::stats(&who, &st, &rows, &channels, &channel))
}

async fn stats_csv(State(s): State<Shared>, _who: Operator, Query(p): Query<Period>) -> Result<Response, WebError> {
    let days = p.days();
    let csv = s.desk.trends(days).await.and_then(|rows| trends::csv(&rows).ok());
    let Some(csv) = csv else {
        return Err(WebError::Forbidden(UNAVAILABLE));
    };
    let name = format!("attachment; filename=\"customs-bot-stats-{days}d.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv,
    )
        .into_response())
}

async fn gaps(State(s): State<Shared>, who: Operator, Query(p): Query<Period>) -> Result<Markup, WebError> {
    let days = p.days();
    let Some(gaps) = s.desk.gaps(days).await else {
        return Err(WebError::Forbidden(UNAVAILABLE));
    };
    Ok(views::gaps(&who, days, &gaps, s.assistant().config().office_clock()))
}

#[derive(Deserialize)]
struct GapAdd {
    key: String,
    /// A string: numbers do not survive the CSRF wrapper's `flatten`.
    days: String,
    entry: String,
    /// Set by the confirm step when the operator accepts the regression gate's diff.
    #[serde(default)]
    accept: String,
}

async fn gap_add(State(s): State<Shared>, CsrfForm { who, form: f }: CsrfForm<GapAdd>) -> Markup {
    let days = form_days(&f.days);
    let back = format!("/ops/gaps?days={days}");
    if !is_valid_id(f.entry.trim()) {
        return outcome(
            &who,
            "加入已有条目",
            "请填写已有条目的 id（如 proc-late-declaration-fee）。",
            true,
            &back,
        );
    }
    match s
        .desk
        .gap_to_entry(
            days,
            &f.key,
            &f.entry,
            format!("web:{}", who.name),
            !f.accept.is_empty(),
        )
        .await
    {
        Ok(done) if !done.index.outcome.published() => {
            let again = [
                ("key", f.key.as_str()),
                ("days", f.days.as_str()),
                ("entry", f.entry.as_str()),
            ];
            super::governance::refused(&who, "加入已有条目", &done.index, "/ops/gaps/add", &again, &back)
        }
        Ok(done) => {
            let message = format!(
                "已把 {} 个新问法加入条目 {}（{}），索引已重建并生效。请在版本库中检查并提交这个改动。",
                done.added,
                done.entry,
                done.path.display()
            );
            outcome(&who, "加入已有条目", &message, false, &back)
        }
        Err(e) => outcome(&who, "加入已有条目", &format!("{e:#}"), true, &back),
    }
}

#[derive(Deserialize)]
struct GapDraft {
    key: String,
    days: String,
    id: String,
    kind: String,
}

/// The period a gap form names (the default when it is not a number).
fn form_days(days: &str) -> u32 {
    days.trim().parse::<u32>().unwrap_or(30).clamp(1, MAX_DAYS)
}

async fn gap_draft(State(s): State<Shared>, CsrfForm { who, form: f }: CsrfForm<GapDraft>) -> Response {
    let days = form_days(&f.days);
    let back = format!("/ops/gaps?days={days}");
    let Some(kind) = Kind::parse(&f.kind) else {
        return outcome(&who, "起草新条目", "未知的条目类别。", true, &back).into_response();
    };
    let id = f.id.trim();
    if !is_valid_id(id) {
        return outcome(
            &who,
            "起草新条目",
            "新条目 id 只能用小写字母、数字和 -（如 faq-parcel-return）。",
            true,
            &back,
        )
        .into_response();
    }
    match s.desk.gap_draft(days, &f.key, id, kind).await {
        Ok(_) => Redirect::to(&format!("/ops/drafts/{id}")).into_response(),
        Err(e) => outcome(&who, "起草新条目", &format!("{e:#}"), true, &back).into_response(),
    }
}

async fn helpfulness(State(s): State<Shared>, who: Operator, Query(p): Query<Period>) -> Result<Markup, WebError> {
    let days = p.days();
    let Some(rows) = s.desk.helpfulness(days).await else {
        return Err(WebError::Forbidden(UNAVAILABLE));
    };
    let index = s.assistant().index();
    let title = |id: &str| index.find(id).map_or_else(|| id.to_string(), |e| e.title.clone());
    Ok(views::helpfulness(&who, days, &rows, &title))
}

async fn drafts(State(s): State<Shared>, who: Operator) -> Markup {
    views::drafts(&who, &s.desk.drafts())
}

/// A draft id from the path: a valid entry id of an existing draft, or 404.
fn draft_id(s: &Shared, id: &str) -> Result<(), WebError> {
    if is_valid_id(id) && s.desk.drafts().iter().any(|d| d == id) {
        Ok(())
    } else {
        Err(WebError::NotFound("没有这个草稿。"))
    }
}

async fn draft(State(s): State<Shared>, who: Operator, Path(id): Path<String>) -> Result<Markup, WebError> {
    draft_id(&s, &id)?;
    match s.desk.draft(&id).await {
        Ok((text, problems)) => Ok(views::draft(&who, &id, &text, &problems, None)),
        Err(e) => Ok(problem(&who, "草稿", &format!("{e:#}"))),
    }
}

#[derive(Deserialize)]
struct DraftText {
    text: String,
}

async fn draft_save(
    State(s): State<Shared>,
    Path(id): Path<String>,
    CsrfForm { who, form: f }: CsrfForm<DraftText>,
) -> Result<Markup, WebError> {
    draft_id(&s, &id)?;
    if let Err(e) = s.desk.save_draft(&id, f.text).await {
        return Ok(problem(&who, "草稿", &format!("{e:#}")));
    }
    match s.desk.draft(&id).await {
        Ok((text, problems)) => Ok(views::draft(&who, &id, &text, &problems, Some("已保存。"))),
        Err(e) => Ok(problem(&who, "草稿", &format!("{e:#}"))),
    }
}

async fn draft_publish(
    State(s): State<Shared>,
    Path(id): Path<String>,
    CsrfForm { who, form }: CsrfForm<Confirm>,
) -> Result<Markup, WebError> {
    draft_id(&s, &id)?;
    let back = format!("/ops/drafts/{id}");
    let accept = !form.accept.is_empty();
    Ok(
        match s.desk.publish_draft(&id, format!("web:{}", who.name), accept).await {
            Ok(done) if !done.index.outcome.published() => super::governance::refused(
                &who,
                "发布草稿",
                &done.index,
                &format!("/ops/drafts/{id}/publish"),
                &[],
                &back,
            ),
            Ok(done) => {
                let message = format!(
                    "已发布条目 {}（{}），索引已重建并生效（{} 个条目）。请在版本库中检查并提交这个改动。",
                    done.id,
                    done.path.display(),
                    done.index.report.entries
                );
                outcome(&who, "发布草稿", &message, false, "/ops/drafts")
            }
            Err(e) => outcome(&who, "发布草稿", &format!("{e:#}"), true, &back),
        },
    )
}

/// A form that only carries the confirm step's acceptance.
#[derive(Deserialize)]
struct Confirm {
    #[serde(default)]
    accept: String,
}
