//! The console's knowledge governance: the reindex button through the regression gate with its
//! confirm step (the same diff `reindex` prints; accepting sends back the knowledge fingerprint
//! shown, so a diff is only accepted for the knowledge it was made from), a promotion's gate
//! result, the audit trail (`/ops/history`) and what a person was told (`/ops/why/{id}`).

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::views::{console, csrf_field};
use crate::desk::why::Why;
use crate::desk::{Mode, Outcome, Promoted, ReindexError, Reindexed};
use crate::duty::OfficeClock;
use crate::tickets::{KnowledgeChange, ticket_number};
use crate::web::extract::{CsrfForm, Operator};
use crate::web::{Shared, WebError};

#[derive(Deserialize)]
pub(super) struct ReindexForm {
    /// Set by the confirm step: the fingerprint of the knowledge whose refused diff the operator
    /// accepts.
    #[serde(default)]
    accept: String,
}

/// The reindex button and its confirm step.
pub(super) async fn reindex(State(s): State<Shared>, CsrfForm { who, form }: CsrfForm<ReindexForm>) -> Markup {
    let accept = form.accept.trim();
    let mode = if accept.is_empty() {
        Mode::Gated
    } else {
        Mode::Accept(Some(accept.to_string()))
    };
    match s.desk.reindex(format!("web:{}", who.name), mode).await {
        Ok(done) => reindexed(&who, &done),
        Err(ReindexError::Invalid { problems, .. }) => console(
            "重建索引",
            &who,
            html! {
                p { "知识库有问题，未重建（原索引继续服务）：" }
                p.problems { (problems.join("\n")) }
            },
        ),
        Err(ReindexError::Other(e)) => console("重建索引", &who, html! { p.problems { (format!("{e:#}")) } }),
    }
}

/// The gate's report: the entries changed, the labelled sets' figures and the questions that change.
fn report(done: &Reindexed) -> Markup {
    html! {
        @for w in &done.warnings { p.problems { (w) } }
        pre.gate { (done.lines().join("\n")) }
    }
}

fn reindexed(who: &Operator, done: &Reindexed) -> Markup {
    let body = html! {
        @match done.outcome {
            Outcome::Switched => p { "已重建索引：" (done.report.entries) " 个条目，已生效。" },
            Outcome::Accepted => p { "已接受并发布：" (done.report.entries) " 个条目，已生效（变更记录中记为由 " (who.name) " 接受）。" },
            Outcome::Refused | Outcome::DryRun => p.problems { "回归检查未通过，新索引没有生效（原索引继续服务）。请查看下面的变化：" },
        }
        (report(done))
        @if done.outcome == Outcome::Refused {
            form method="post" action="/ops/reindex" {
                (csrf_field(who))
                input type="hidden" name="accept" value=(done.fingerprint);
                p { button { "我已核对以上变化，接受并发布" } }
            }
        }
        p { a href="/ops/history" { "知识变更记录" } " · " a href="/ops" { "返回工单" } }
    };
    console("重建索引", who, body)
}

/// A promotion's result: published, or refused by the gate with the form to accept it.
pub(super) fn promoted(who: &Operator, id: i64, done: &Promoted, again: &[(&str, &str)]) -> Markup {
    let published = done.index.outcome.published();
    let body = html! {
        @if published {
            p {
                "已把工单 " (ticket_number(id)) " 转为条目 " b { (done.entry) } "（" (done.path.display().to_string()) "），索引已重建并生效。"
                "请在版本库中检查并提交这个改动。"
            }
        } @else {
            p.problems { "回归检查未通过：改动已撤销，工单保持未处理。请查看下面的变化：" }
        }
        (report(&done.index))
        @if !published {
            form method="post" action={ "/ops/ticket/" (id) "/promote" } {
                (csrf_field(who))
                @for (name, value) in again { input type="hidden" name=(name) value=(value); }
                input type="hidden" name="accept" value="yes";
                p { button { "我已核对以上变化，仍然转为知识并发布" } }
            }
        }
        p { a href={ "/ops/ticket/" (id) } { "返回工单" } }
    };
    console("转为知识", who, body)
}

/// A change the regression gate refused (and that was undone): the diff, and a form that posts the
/// same request to `action` again with `again`'s fields and the operator's acceptance.
pub(super) fn refused(
    who: &Operator,
    title: &str,
    done: &Reindexed,
    action: &str,
    again: &[(&str, &str)],
    back: &str,
) -> Markup {
    let body = html! {
        p.problems { "回归检查未通过：改动已撤销，原索引继续服务。请查看下面的变化：" }
        (report(done))
        form method="post" action=(action) {
            (csrf_field(who))
            @for (name, value) in again { input type="hidden" name=(*name) value=(*value); }
            input type="hidden" name="accept" value="yes";
            p { button { "我已核对以上变化，仍然发布" } }
        }
        p { a href=(back) { "返回" } }
    };
    console(title, who, body)
}

#[derive(Deserialize)]
pub(super) struct HistoryQuery {
    #[serde(default)]
    entry: String,
}

/// The audit trail, newest first; `?entry=ID` for one entry's changes.
pub(super) async fn history(
    State(s): State<Shared>,
    who: Operator,
    Query(q): Query<HistoryQuery>,
) -> Result<Markup, WebError> {
    let entry = Some(q.entry.trim().to_string()).filter(|e| !e.is_empty());
    let filter = entry.clone();
    let Some(changes) = s
        .desk
        .store("read the knowledge changes", move |st| {
            st.changes(filter.as_deref(), 200)
        })
        .await
    else {
        return Err(WebError::Forbidden("暂时无法读取知识变更记录。"));
    };
    let clock = s.assistant().config().office_clock();
    Ok(history_page(&who, entry.as_deref(), &changes, clock))
}

fn history_page(who: &Operator, entry: Option<&str>, changes: &[KnowledgeChange], clock: OfficeClock) -> Markup {
    let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
    let body = html! {
        form method="get" action="/ops/history" {
            label { "只看条目 " input name="entry" value=(entry.unwrap_or("")) placeholder="proc-…"; } " " button { "筛选" }
        }
        @if changes.is_empty() { p { "没有记录。" } }
        @for c in changes {
            section.change {
                h2 {
                    "#" (c.id) " " (c.at.map_or("?".to_string(), |at| clock.format_minute(at))) " "
                    (c.action) " — " (c.who) " — 回归检查：" (c.gate)
                }
                p { "新增：" (list(&c.added)) "；修改：" (list(&c.changed)) "；删除：" (list(&c.removed)) }
                @if !c.outside.is_empty() { p.problems { "未经 customs-bot、直接改动文件的条目：" (c.outside.join(", ")) } }
                details { summary { "检查报告" } pre.gate { (c.detail) } }
            }
        }
    };
    console("知识变更记录", who, body)
}

/// What a person was told for logged question `id`.
pub(super) async fn why(State(s): State<Shared>, who: Operator, Path(id): Path<i64>) -> Result<Markup, WebError> {
    let cases = s.desk.cases().clone();
    let found = tokio::task::spawn_blocking(move || crate::desk::why::why(&cases, id))
        .await
        .ok()
        .and_then(Result::ok);
    let Some(Some(w)) = found else {
        return Err(WebError::NotFound("没有这条提问记录。"));
    };
    let clock = s.assistant().config().office_clock();
    Ok(why_page(&who, &w, clock))
}

fn why_page(who: &Operator, w: &Why, clock: OfficeClock) -> Markup {
    let t = &w.told;
    let body = html! {
        p { b { "问题：" } (t.question) }
        p { b { "渠道：" } (t.channel) " " (t.chat) " · " (clock.format_minute(t.at)) }
        p { b { "决定：" } (t.decision) @if let Some(e) = &t.entry { "（" (e) "）" } }
        @match &t.provenance {
            None => p { "这条记录早于答复留存，没有保存当时的答复。" },
            Some(p) => {
                p { b { "索引版本：" } (p.generation) }
                h2 { "当时的答复" }
                pre.reply { (p.reply) }
                h2 { "所用条目" }
                ul {
                    @for (v, since) in &w.entries {
                        li { (v.id) "（" (v.updated) " 版，内容 " (v.hash) "）— " (since.label()) }
                    }
                }
            }
        }
        @if !t.operator_answers.is_empty() {
            h2 { "人工答复" }
            ul {
                @for a in &t.operator_answers {
                    li {
                        (ticket_number(a.ticket)) " " (a.by) " "
                        (a.answered_at.map_or("?".to_string(), |at| clock.format_minute(at))) "：" (a.answer)
                    }
                }
            }
        }
    };
    console(&format!("提问 {}：当时答复了什么", t.id), who, body)
}
