//! The kiosk's screens, written with maud (every dynamic piece escaped) inside the web front's page
//! frame (`pages::page`, kiosk flavour). The only pieces embedded as they are: an entry's or a
//! reply's HTML rendered and escaped by `markup` / `reply`, and the QR code's SVG drawn by `qr`.

use maud::{Markup, PreEscaped, html};

use super::super::pages::{lines, page};
use crate::desk::Popular;

/// What every screen shows around its content.
pub struct Screen<'a> {
    pub office_name: &'a str,
    pub idle_seconds: u32,
}

/// An entry to tap: its id and title.
pub type Item = (String, String);

/// A home tile: its key, title and how many entries it holds.
pub struct TileView<'a> {
    pub key: &'a str,
    pub title: &'a str,
    pub count: usize,
}

/// The frame: home, the office's name, 找人工, 结束 (which the idle reset also presses), the
/// search box, then the screen's content.
pub fn frame(s: &Screen<'_>, title: &str, with_search: bool, body: Markup) -> Markup {
    let content = html! {
        div #kiosk data-idle=(s.idle_seconds) {
            div.k-bar {
                a href="/kiosk" { "首页" }
                h1 { (s.office_name) "业务查询" }
                a.k-person href="/kiosk/person" { "找人工" }
                form #k-end method="post" action="/kiosk/end" {
                    button.k-end type="submit" { "结束" }
                }
            }
            @if with_search {
                form.k-ask method="post" action="/kiosk/ask" autocomplete="off" {
                    label.sr for="k-q" { "输入问题" }
                    input #k-q name="q" maxlength="300" placeholder="也可以输入问题，例如：宠物入境要什么手续" required;
                    button type="submit" { "提问" }
                }
            }
            main.k-main { (body) }
        }
        script src="/static/kiosk.js" {}
    };
    page(title, true, content)
}

/// A button that opens an entry (a chosen entry, through the desk).
pub fn entry_button(id: &str, title: &str) -> Markup {
    html! {
        form method="post" action="/kiosk/open" {
            input type="hidden" name="id" value=(id);
            button type="submit" { (title) }
        }
    }
}

fn entry_list(items: &[Item]) -> Markup {
    html! {
        ul.k-list {
            @for (id, title) in items { li { (entry_button(id, title)) } }
        }
    }
}

pub fn home(s: &Screen<'_>, tiles: &[TileView<'_>], popular: &[Popular]) -> Markup {
    let body = html! {
        h2 { "请选择要办理或了解的事项" }
        nav.k-tiles aria-label="事项类别" {
            @for t in tiles {
                a.k-tile href={ "/kiosk/c/" (t.key) } { (t.title) small { (t.count) " 项" } }
            }
        }
        @if !popular.is_empty() {
            section.k-popular {
                h2 { "本周大家常问" }
                ul.k-list {
                    @for p in popular { li { (entry_button(&p.id, &p.title)) } }
                }
            }
        }
    };
    frame(s, &format!("{}业务查询", s.office_name), true, body)
}

pub fn category(s: &Screen<'_>, title: &str, items: &[Item]) -> Markup {
    let body = html! {
        h2 { (title) }
        @if items.is_empty() {
            p { "这一类暂时没有条目。可以输入问题，或点「找人工」。" }
        } @else {
            (entry_list(items))
        }
        p { a.k-btn href="/kiosk" { "返回首页" } }
    };
    frame(s, title, true, body)
}

/// One entry: its panels as tabs (links with the panel's number), the chosen panel, related entries.
pub struct EntryView<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub tabs: Vec<&'a str>,
    pub selected: usize,
    /// The selected panel, rendered and escaped by `markup`.
    pub panel_html: String,
    pub updated: String,
    pub related: Vec<Item>,
    /// The tile to go back to: its key and title.
    pub back: Option<(&'a str, &'a str)>,
}

pub fn entry(s: &Screen<'_>, v: &EntryView<'_>) -> Markup {
    let body = html! {
        h2 { (v.title) }
        @if v.tabs.len() > 1 {
            nav aria-label="栏目" {
                ul.k-tabs {
                    @for (i, label) in v.tabs.iter().enumerate() {
                        li {
                            @if i == v.selected {
                                a href={ "/kiosk/e/" (v.id) "?s=" (i) } aria-current="page" { (label) }
                            } @else {
                                a href={ "/kiosk/e/" (v.id) "?s=" (i) } { (label) }
                            }
                        }
                    }
                }
            }
        }
        section.k-panel { (PreEscaped(&v.panel_html)) }
        p.k-note { "本条更新于 " (v.updated) }
        (related(&v.related))
        @if let Some((key, title)) = v.back {
            p { a.k-btn href={ "/kiosk/c/" (key) } { "返回「" (title) "」" } }
        }
    };
    frame(s, v.title, true, body)
}

fn related(items: &[Item]) -> Markup {
    html! {
        @if !items.is_empty() {
            section.k-related {
                h3 { "相关事项" }
                (entry_list(items))
            }
        }
    }
}

/// A ticket taken home: its number and the QR code of its private page.
pub struct TicketShown {
    pub number: String,
    pub qr: Option<Markup>,
}

fn ticket(t: &TicketShown) -> Markup {
    html! {
        section.k-ticket-box {
            p.k-ticket { "已登记为工单 " (t.number) }
            @if let Some(qr) = &t.qr {
                div.k-qr {
                    (qr)
                    p { "用手机扫描二维码，保存打开的页面。工作人员答复后，在那里就能看到答复。" br; "点「结束」后，屏幕上不再显示这个二维码。" }
                }
            } @else {
                p { "请记下工单号，致电热线时告诉工作人员。" }
            }
        }
    }
}

/// The answer to a typed question (a question or a follow-up, through the desk).
pub struct AnswerView<'a> {
    pub question: &'a str,
    /// The reply, rendered and escaped by `reply`.
    pub reply_html: String,
    pub choices: Vec<Item>,
    /// The entry answered, to read it by its sections.
    pub entry: Option<&'a str>,
    pub related: Vec<Item>,
    /// For a hand-off to a person: who is on duty now (the reply itself gives the hotline).
    pub duty: Option<String>,
    pub ticket: Option<TicketShown>,
}

pub fn answer(s: &Screen<'_>, v: &AnswerView<'_>) -> Markup {
    let body = html! {
        p.k-note { "您的问题：" (v.question) }
        div.k-msg { (PreEscaped(&v.reply_html)) }
        @if !v.choices.is_empty() {
            h3 { "您想问的是哪一项？" }
            (entry_list(&v.choices))
        }
        @if let Some(id) = v.entry {
            p { a.k-btn href={ "/kiosk/e/" (id) } { "分栏目查看这一条" } }
        }
        (related(&v.related))
        @if let Some(duty) = &v.duty { div.k-msg { p { (duty) } } }
        @if let Some(t) = &v.ticket { (ticket(t)) }
        p.k-note { "可以接着输入追问，例如「要多久」「需要什么材料」。" }
    };
    frame(s, "咨询结果", true, body)
}

/// 找人工: the hotline, who is on duty, and a way to leave the question for an operator.
pub fn person(s: &Screen<'_>, duty: &str, hotline: &str, prefill: &str, error: Option<&str>) -> Markup {
    let body = html! {
        h2 { "找人工" }
        div.k-msg { p { (duty) } p { (lines(hotline)) } }
        h3 { "把问题留给工作人员" }
        p { "登记后屏幕上会显示二维码，用手机扫码即可在手机上查看工作人员的答复。" }
        @if let Some(e) = error { p.k-error { (e) } }
        form method="post" action="/kiosk/person" {
            label for="k-note" { "您的问题" }
            textarea.k-text #k-note name="q" maxlength="300" required { (prefill) }
            p { button.k-primary type="submit" { "登记并显示二维码" } }
        }
        p { a.k-btn href="/kiosk" { "返回首页" } }
    };
    frame(s, "找人工", false, body)
}

/// A ticket opened from 找人工.
pub fn person_done(s: &Screen<'_>, duty: &str, hotline: &str, t: &TicketShown) -> Markup {
    let body = html! {
        h2 { "找人工" }
        (ticket(t))
        div.k-msg { p { (duty) } p { (lines(hotline)) } }
        p { a.k-btn href="/kiosk" { "返回首页" } }
    };
    frame(s, "找人工", false, body)
}
