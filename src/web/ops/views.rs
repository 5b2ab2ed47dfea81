//! The console's pages (maud: every dynamic piece escaped). Handlers load, views render; nothing
//! here touches the store.

use maud::{Markup, html};

use crate::duty::OfficeClock;
use crate::knowledge::Kind;
use crate::tickets::{Stats, Ticket};
use crate::web::extract::Operator;
use crate::web::pages::page;

/// A console page: the header with the operator's name and the logout form, then `body`.
pub fn console(title: &str, who: &Operator, body: Markup) -> Markup {
    let frame = html! {
        header {
            h1 { (title) }
            nav {
                a href="/ops" { "工单" } " " a href="/ops/stats" { "统计" } " " a href="/ops/gaps" { "知识缺口" } " "
                a href="/ops/helpfulness" { "条目反馈" } " " a href="/ops/drafts" { "草稿" } " "
                a href="/ops/history" { "知识变更" } " " (who.name) " "
                form.inline method="post" action="/ops/logout" {
                    (csrf_field(who)) button { "退出" }
                }
            }
        }
        main.ops { (body) }
    };
    page(title, false, frame)
}

pub(super) fn csrf_field(who: &Operator) -> Markup {
    html! { input type="hidden" name="csrf" value=(who.csrf); }
}

/// A console page that reports one thing (a failure as a problem) and links back.
pub fn outcome(who: &Operator, title: &str, message: &str, problem: bool, back: &str) -> Markup {
    let body = html! {
        @if problem { p.problems { (message) } } @else { p { (message) } }
        p { a href=(back) { "返回" } }
    };
    console(title, who, body)
}

pub fn login_form(message: &str) -> Markup {
    let body = html! {
        header { h1 { "值班人员登录" } }
        main.ops {
            p.problems { (message) }
            form method="post" action="/ops/login" {
                p { label { "用户名" br; input name="name" autocomplete="username" required; } }
                p { label { "密码" br; input name="password" type="password" autocomplete="current-password" required; } }
                p { button type="submit" { "登录" } }
            }
        }
    };
    page("值班人员登录", false, body)
}

fn tickets_table(ts: &[Ticket], overdue: &dyn Fn(&Ticket) -> bool, clock: OfficeClock) -> Markup {
    html! {
        @if ts.is_empty() {
            p { "无。" }
        } @else {
            table {
                tr { th { "工单" } th {} th { "登记时间" } th { "原因" } th { "问题" } }
                @for t in ts {
                    tr {
                        td { a href={ "/ops/ticket/" (t.id) } { (t.number()) } }
                        td { @if overdue(t) { span.overdue { "逾期" } } }
                        td { (clock.format_minute(t.opened_at)) }
                        td { (t.reason.label()) }
                        td { (t.question) }
                    }
                }
            }
        }
    }
}

/// The queue: open tickets (overdue first, as given) and answered ones waiting to be relayed.
pub fn queue(
    who: &Operator,
    open: &[Ticket],
    answered: &[Ticket],
    overdue: &dyn Fn(&Ticket) -> bool,
    clock: OfficeClock,
) -> Markup {
    let body = html! {
        h2 { "待处理（" (open.len()) "，逾期的在前）" }
        (tickets_table(open, overdue, clock))
        h2 { "已答复、待转达（" (answered.len()) "）" }
        (tickets_table(answered, overdue, clock))
        h2 { "知识库" }
        form method="post" action="/ops/reindex" { (csrf_field(who)) button { "校验并重建索引" } }
    };
    console("工单", who, body)
}

/// What happened to a ticket, times in the office's time.
fn history(t: &Ticket, clock: OfficeClock) -> Markup {
    let at = |t| clock.format_minute(t);
    html! {
        li { (at(t.opened_at)) " 登记（" (t.reason.label()) "）" }
        @if let (Some(a), Some(when)) = (&t.answer, t.answered_at) {
            li { (at(when)) " " (t.answered_by.as_deref().unwrap_or("")) " 答复：" (a) }
        }
        @if let Some(r) = t.relayed_at { li { (at(r)) " 已转达用户" } }
        @if let Some(c) = t.closed_at {
            li {
                (at(c)) " 关闭（" (t.close_reason.map_or("", |r| r.label())) "）"
                @if let Some(p) = &t.promoted_to { "，转为条目 " (p) }
            }
        }
    }
}

/// One ticket: what was asked, its history, and the forms to answer, close or promote it.
pub fn ticket(who: &Operator, t: &Ticket, overdue: bool, clock: OfficeClock) -> Markup {
    let guesses = t.guess_titles();
    let guesses = if guesses.is_empty() {
        "无".to_string()
    } else {
        guesses.join(" / ")
    };
    let body = html! {
        p { b { "问题：" } (t.question) }
        p { b { "渠道：" } (t.channel) " " (t.chat) }
        p { b { "状态：" } (t.state.label()) @if overdue { " " span.overdue { "逾期" } } }
        p { b { "机器人的猜测：" } (guesses) }
        @if let Some(q) = t.question_id { p { a href={ "/ops/why/" (q) } { "当时答复了什么（提问 " (q) "）" } } }
        h2 { "经过" }
        ul { (history(t, clock)) }
        (ticket_forms(who, t))
    };
    console(&format!("工单 {}", t.number()), who, body)
}

fn ticket_forms(who: &Operator, t: &Ticket) -> Markup {
    let action = |what: &str| format!("/ops/ticket/{}/{what}", t.id);
    html! {
        h2 { "答复" }
        form method="post" action=(action("answer")) {
            (csrf_field(who))
            textarea name="answer" rows="5" required { (t.answer.as_deref().unwrap_or("")) }
            p { button { "答复并转达" } }
        }
        h2 { "关闭" }
        form method="post" action=(action("close")) {
            (csrf_field(who))
            select name="reason" {
                option value="duplicate" { "重复" }
                option value="out_of_scope" { "非海关业务" }
                option value="relayed" { "已答复" }
            }
            " " button { "关闭工单" }
        }
        h2 { "转为知识" }
        form method="post" action=(action("promote")) {
            (csrf_field(who))
            p { label { "加入已有条目的问法（条目 id）" br; input name="to" placeholder="proc-late-declaration-fee"; } }
            p { label { "或用答复新建条目（新 id）" br; input name="new" placeholder="faq-..."; } }
            p { select name="kind" { @for k in Kind::ALL { option value=(k.as_str()) { (k.label()) } } } }
            p { button { "转为知识并重建索引" } }
        }
    }
}

/// The period's figures (the statistics page's head).
pub fn stats_summary(st: &Stats) -> Markup {
    let list = |items: &[(String, i64)]| {
        html! { @for (k, n) in items { tr { td { (n) } td { (k) } } } }
    };
    let median = st
        .median_minutes_to_answer
        .map_or("-".to_string(), |m| format!("{m:.0} 分钟"));
    html! {
        p {
            "最近 " (st.days) " 天：提问 " (st.questions) "，回答 " (st.answered) "，给出选项 " (st.clarified)
            "，转人工 " (st.handed_off) "，寒暄 " (st.smalltalk) "；反馈有帮助 " (st.helpful)
            "，没帮助 " (st.not_helpful) "。"
        }
        p { "工单：新开 " (st.tickets_opened) "，仍未处理 " (st.tickets_open) "，答复用时中位数 " (median) "。" }
        h2 { "最常用的条目" }
        table { (list(&st.top_entries)) }
        h2 { "最常见的未答问题" }
        table { (list(&st.top_unanswered)) }
    }
}

/// A console page with one problem and nothing else.
pub fn problem(who: &Operator, title: &str, message: &str) -> Markup {
    console(title, who, html! { p.problems { (message) } })
}
