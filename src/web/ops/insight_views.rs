//! The console's insight pages (maud: every dynamic piece escaped): statistics with charts,
//! knowledge gaps with their actions, helpfulness per entry, entry drafts. Handlers load, views
//! render; nothing here touches the store.

use maud::{Markup, html};

use super::charts::{Series, Style, chart};
use super::views::{console, csrf_field};
use crate::duty::OfficeClock;
use crate::insight::{Day, EntryHelpfulness, Gap};
use crate::knowledge::{Kind, Problem};
use crate::tickets::{Stats, ticket_number};
use crate::web::extract::Operator;

/// How many of a gap's questions show before "more".
const SHOWN: usize = 6;

/// The periods offered.
const PERIODS: [u32; 4] = [7, 14, 30, 90];

fn period_picker(action: &str, days: u32, extra: Markup) -> Markup {
    html! {
        form.period method="get" action=(action) {
            label { "时段 "
                select name="days" {
                    @for d in PERIODS { option value=(d) selected[d == days] { "最近 " (d) " 天" } }
                }
            }
            " " (extra) " " button { "查看" }
        }
    }
}

fn pct(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// The statistics page: the period's figures, charts per day for one channel, the numbers as a
/// table and a CSV link.
pub fn stats(who: &Operator, st: &Stats, days: &[Day], channels: &[String], channel: &str) -> Markup {
    let rows: Vec<&Day> = days.iter().filter(|d| d.channel == channel).collect();
    let labels: Vec<String> = rows.iter().map(|d| d.date.format("%m-%d").to_string()).collect();
    let col = |f: fn(&Day) -> usize| rows.iter().map(|d| Some(f(d) as f64)).collect::<Vec<_>>();
    let picker = html! {
        label { "渠道 "
            select name="channel" {
                @for c in channels { option value=(c) selected[c == channel] { (channel_label(c)) } }
            }
        }
    };
    let body = html! {
        (super::views::stats_summary(st))
        h2 { "每日趋势" }
        (period_picker("/ops/stats", st.days, picker))
        p { a href={ "/ops/stats.csv?days=" (st.days) } download { "下载 CSV（每日、各渠道）" } }
        (chart(&format!("每日提问（{}）", channel_label(channel)), &labels, &[
            Series { name: "回答", color: "#2e7d32", values: col(|d| d.answered) },
            Series { name: "给出选项", color: "#1565c0", values: col(|d| d.clarified) },
            Series { name: "转人工", color: "#ef6c00", values: col(|d| d.handed_off) },
            Series { name: "转具体个案", color: "#6a1b9a", values: col(|d| d.referred) },
            Series { name: "寒暄", color: "#9aa5b1", values: col(|d| d.smalltalk) },
        ], Style::Stacked))
        (chart("工单", &labels, &[
            Series { name: "新开", color: "#c62828", values: col(|d| d.tickets_opened) },
            Series { name: "关闭", color: "#2e7d32", values: col(|d| d.tickets_closed) },
            Series { name: "逾期", color: "#ef6c00", values: col(|d| d.overdue) },
        ], Style::Lines))
        (chart("答复用时中位数（分钟）", &labels, &[
            Series { name: "中位数", color: "#0b4f8a", values: rows.iter().map(|d| d.median_minutes_to_answer).collect() },
        ], Style::Lines))
        table.numbers {
            tr { th { "日期" } th { "提问" } th { "回答" } th { "选项" } th { "转人工" } th { "转个案" }
                 th { "新开工单" } th { "关闭" } th { "答复中位数" } th { "逾期" } }
            @for d in rows.iter().rev() {
                tr {
                    td { (d.date) } td { (d.questions) } td { (d.answered) } td { (d.clarified) } td { (d.handed_off) }
                    td { (d.referred) } td { (d.tickets_opened) } td { (d.tickets_closed) }
                    td { (d.median_minutes_to_answer.map_or("-".to_string(), |m| format!("{m:.0} 分钟"))) }
                    td { (d.overdue) }
                }
            }
        }
    };
    console("统计", who, body)
}

fn channel_label(c: &str) -> &str {
    match c {
        crate::insight::trends::ALL => "全部渠道",
        "telegram" => "Telegram",
        "web" => "网页",
        "api" => "接口",
        other => other,
    }
}

fn trend(g: &Gap) -> &'static str {
    match g.this_week.cmp(&g.last_week) {
        std::cmp::Ordering::Greater => "↑",
        std::cmp::Ordering::Less => "↓",
        std::cmp::Ordering::Equal => "→",
    }
}

/// The knowledge gaps, most people first, each with its questions, guesses, operators' answers
/// and the two actions.
pub fn gaps(who: &Operator, days: u32, gaps: &[Gap], clock: OfficeClock) -> Markup {
    let body = html! {
        p { "转人工、转具体个案、被标为“没帮助”或给出选项后未选的问题，按内容词（与回答时相同的分词和同义词）归并，按提问人数排序。" }
        (period_picker("/ops/gaps", days, html! {}))
        @if gaps.is_empty() { p { "这段时间没有知识缺口。" } }
        @for (n, g) in gaps.iter().enumerate() {
            section.gap id=(g.key) {
                h2 { (n + 1) ". " (g.words.join(" ")) }
                p {
                    b { (g.people) } " 人提问，共 " (g.questions.len()) " 次；本周 " (g.this_week) " 人，上周 "
                    (g.last_week) " 人 " span.trend { (trend(g)) }
                }
                (gap_questions(g, clock))
                @if !g.guesses.is_empty() {
                    p { b { "机器人猜的条目：" }
                        @for (i, (x, k)) in g.guesses.iter().enumerate() {
                            @if i > 0 { "，" }
                            a href={ "/entry/" (x.id) } { (x.label()) } " ×" (k)
                        }
                    }
                }
                @if !g.answers.is_empty() {
                    p { b { "值班人员已给的答复：" } }
                    ul { @for a in &g.answers { li { (crate::web::pages::lines(a)) } } }
                }
                (gap_forms(who, days, g))
            }
        }
    };
    console("知识缺口", who, body)
}

fn gap_questions(g: &Gap, clock: OfficeClock) -> Markup {
    let row = |q: &crate::insight::GapQuestion| {
        html! {
            li {
                (clock.format_minute(q.at)) " " (q.channel) " " span.why { (q.why.label()) } " "
                @if let Some(t) = q.ticket { a href={ "/ops/ticket/" (t) } { (ticket_number(t)) } " " }
                (q.question)
            }
        }
    };
    html! {
        ul { @for q in g.questions.iter().take(SHOWN) { (row(q)) } }
        @if g.questions.len() > SHOWN {
            details { summary { "另有 " (g.questions.len() - SHOWN) " 个问题" }
                ul { @for q in g.questions.iter().skip(SHOWN) { (row(q)) } }
            }
        }
    }
}

fn gap_forms(who: &Operator, days: u32, g: &Gap) -> Markup {
    html! {
        form method="post" action="/ops/gaps/add" {
            (csrf_field(who))
            input type="hidden" name="key" value=(g.key);
            input type="hidden" name="days" value=(days);
            label { "把这些问法加入已有条目（条目 id）" br;
                input name="entry" required placeholder=(g.guesses.first().map_or("proc-…", |(x, _)| x.id.as_str())); }
            button { "加入并重建索引" }
        }
        form method="post" action="/ops/gaps/draft" {
            (csrf_field(who))
            input type="hidden" name="key" value=(g.key);
            input type="hidden" name="days" value=(days);
            label { "或用值班人员的答复起草新条目（新 id）" br; input name="id" required placeholder="faq-…"; }
            select name="kind" { @for k in Kind::ALL { option value=(k.as_str()) selected[k == Kind::Faq] { (k.label()) } } }
            button disabled[g.answers.is_empty()] { "起草新条目" }
            @if g.answers.is_empty() { " " small { "（先答复其中一个工单）" } }
        }
    }
}

/// Helpfulness per entry, least helpful first.
pub fn helpfulness(who: &Operator, days: u32, rows: &[EntryHelpfulness], title: &dyn Fn(&str) -> String) -> Markup {
    let body = html! {
        p { "每个条目被用来回答的次数、用户的反馈，以及回答后紧接着（同一会话、空闲时限内）的追问或转人工。"
            "“不满意”= 标为没帮助或随后转人工的回答；最不满意的在前。" }
        (period_picker("/ops/helpfulness", days, html! {}))
        @if rows.is_empty() { p { "这段时间没有回答。" } }
        @for e in rows {
            section.entry-help {
                h2 { a href={ "/entry/" (e.entry) } { (title(&e.entry)) } " " small { (e.entry) } }
                p {
                    "回答 " b { (e.answered) } " 次；有帮助 " (e.helpful) "，没帮助 " (e.not_helpful)
                    "；随后追问 " (e.followed_up) "，随后转人工 " (e.handed_off_after)
                    "；不满意 " b { (pct(e.unsatisfied_share())) } "，追问 " (pct(e.follow_up_share()))
                }
                details { summary { "引到这里的问题" }
                    ul { @for q in &e.questions {
                        li { (q.question) " ×" (q.times) @if q.unsatisfied > 0 { " " span.why { "不满意 " (q.unsatisfied) } } }
                    } }
                }
            }
        }
    };
    console("条目反馈", who, body)
}

/// The drafts waiting to be published.
pub fn drafts(who: &Operator, ids: &[String]) -> Markup {
    let body = html! {
        p { "草稿在知识库的 drafts/ 文件夹，不会被回答；编辑、校验通过后发布，才进入索引。" }
        @if ids.is_empty() { p { "没有草稿。" } }
        ul { @for id in ids { li { a href={ "/ops/drafts/" (id) } { (id) } } } }
    };
    console("草稿", who, body)
}

/// One draft: its text to edit, its problems, save and publish.
pub fn draft(who: &Operator, id: &str, text: &str, problems: &[Problem], note: Option<&str>) -> Markup {
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let body = html! {
        @if let Some(n) = note { p { (n) } }
        @if problems.is_empty() {
            p { "校验通过（与已发布的条目一起检查）。补全关键词、法律依据后即可发布。" }
        } @else {
            p.problems { @for p in problems { (p.to_string()) br; } }
        }
        form method="post" action={ "/ops/drafts/" (id) "/save" } {
            (csrf_field(who))
            textarea name="text" rows="20" required { (text) }
            p { button { "保存并校验" } }
        }
        form method="post" action={ "/ops/drafts/" (id) "/publish" } {
            (csrf_field(who))
            button disabled[errors > 0] { "发布并重建索引" }
        }
    };
    console(&format!("草稿 {id}"), who, body)
}
