//! What the assistant says: the structured reply to one question and its renderings.
//!
//! A [`Reply`] is produced once by `app::Assistant::ask` and rendered by each front end: plain text
//! (CLI, `reply` in the JSON object), Telegram HTML. Every dynamic piece is escaped by the HTML
//! renderer; local details come from the `[office]` placeholders. No I/O here.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::answer::{Decision, Smalltalk, Specific};
use crate::conversation::Aspect;
use crate::knowledge::{Entry, Kind};
use crate::markup;

/// The entry a reply answers with (`entry` in the JSON object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryRef {
    pub id: String,
    pub kind: Kind,
    pub title: String,
}

/// A ranked distinct entry considered for the question (`candidates` in the JSON object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: String,
    pub title: String,
    /// The entry's confidence-style score in 0–1 (coverage and normalised score combined).
    pub score: f32,
}

/// Why a question was handed to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffReason {
    /// Nothing in the knowledge base fits well enough.
    NotSure,
    /// The person asked for a human.
    Asked,
    /// The message was too long to search.
    TooLong,
    /// The question had no content words left (only 怎么/请问 …).
    Vague,
    /// Something failed inside; the person is never told what.
    Internal,
    /// The person's own case or one specific fact: only a person can answer; the best-matching
    /// entry (if any) is named as the general rule.
    Specific(Specific),
}

/// What the reply says, by decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Answer(Box<Entry>),
    Clarify(Vec<Candidate>),
    Handoff(HandoffReason),
    /// Another authority's matter: the term that shows it and where to go instead.
    Redirect {
        term: String,
        to: String,
    },
    Smalltalk(Smalltalk),
    /// A follow-up about one aspect of the conversation's topic: the entry's section for it (the
    /// whole entry when it has none), with the assumption said.
    FollowUp {
        entry: Box<Entry>,
        aspect: Aspect,
        section: Option<String>,
    },
    /// A message with several questions: one reply per distinct matter, the main one first.
    Parts(Vec<Reply>),
    /// The question found a rule no longer in force (`old`, past its `expires`): answered with
    /// the entry that supersedes it, saying when the old rule ended.
    Superseded {
        old: Box<Entry>,
        entry: Box<Entry>,
    },
}

/// The reply to one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub question: String,
    pub decision: Decision,
    pub entry: Option<EntryRef>,
    pub candidates: Vec<Candidate>,
    pub confidence: f32,
    pub body: Body,
}

/// The JSON object of `ask --json` and the web API.
#[derive(Debug, Serialize)]
pub struct ReplyJson<'a> {
    #[serde(flatten)]
    pub decided: DecisionJson<'a>,
    pub reply: String,
    /// True when the reply hands all or part of the question to a person.
    pub refer: bool,
    /// For a message answered in several parts: one object per part.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<DecisionJson<'a>>,
}

/// What was decided for a question (or one part of a message): the fields every reply object has.
#[derive(Debug, Serialize)]
pub struct DecisionJson<'a> {
    pub question: &'a str,
    pub decision: Decision,
    pub entry: Option<&'a EntryRef>,
    pub candidates: &'a [Candidate],
    pub confidence: f32,
}

impl Reply {
    /// One entry given in full, at full confidence: a chosen entry, or the topic of a follow-up.
    pub fn whole_entry(entry: Entry) -> Reply {
        Reply {
            question: entry.title.clone(),
            decision: Decision::Answer,
            entry: Some(EntryRef {
                id: entry.id.clone(),
                kind: entry.kind,
                title: entry.title.clone(),
            }),
            candidates: vec![Candidate {
                id: entry.id.clone(),
                title: entry.title.clone(),
                score: 1.0,
            }],
            confidence: 1.0,
            body: Body::Answer(Box::new(entry)),
        }
    }

    pub fn to_json(&self, office: &BTreeMap<String, String>) -> ReplyJson<'_> {
        ReplyJson {
            decided: self.decided(),
            reply: self.plain(office),
            refer: self.referral().is_some(),
            parts: match &self.body {
                Body::Parts(parts) => parts.iter().map(Reply::decided).collect(),
                _ => Vec::new(),
            },
        }
    }

    fn decided(&self) -> DecisionJson<'_> {
        DecisionJson {
            question: &self.question,
            decision: self.decision,
            entry: self.entry.as_ref(),
            candidates: &self.candidates,
            confidence: (self.confidence * 1000.0).round() / 1000.0,
        }
    }

    /// Why (all or part of) the question goes to a person, if it does: a hand-off, or a part of a
    /// message only a person can answer. Another authority's matter is not a referral to us.
    pub fn referral(&self) -> Option<HandoffReason> {
        match &self.body {
            Body::Handoff(why) => Some(*why),
            Body::Parts(parts) => parts.iter().find_map(Reply::referral),
            _ => None,
        }
    }

    /// The entries the reply gives (the answer, a follow-up's topic, the rule in force and the one
    /// it replaced, each part's), in order.
    pub fn entries_used(&self) -> Vec<&Entry> {
        match &self.body {
            Body::Answer(e) | Body::FollowUp { entry: e, .. } => vec![e.as_ref()],
            Body::Superseded { old, entry } => vec![entry.as_ref(), old.as_ref()],
            Body::Parts(parts) => parts.iter().flat_map(Reply::entries_used).collect(),
            _ => Vec::new(),
        }
    }

    /// The reply as plain text.
    pub fn plain(&self, office: &BTreeMap<String, String>) -> String {
        render(self, office, &Plain)
    }

    /// The reply as a fragment of a web page: answers with headings and lists, everything escaped.
    pub fn web_html(&self, office: &BTreeMap<String, String>) -> String {
        match &self.body {
            Body::Answer(e) => entry_web_html(e, office),
            Body::Superseded { old, entry } => format!(
                "<p class=\"superseded\">{}</p>\n{}",
                markup::escape_html(&superseded_lead(old)),
                entry_web_html(entry, office)
            ),
            Body::Parts(parts) => {
                let mut out = format!("<p>{}</p>", markup::escape_html(&parts_lead(parts.len())));
                for p in parts {
                    if let Some(q) = named_question(p) {
                        out.push_str(&format!("<p>「{}」</p>", markup::escape_html(q)));
                    }
                    out.push_str(&p.web_html(office));
                }
                out
            }
            _ => {
                let text = markup::escape_html(&self.plain(office));
                format!("<p>{}</p>", text.replace("\n\n", "</p><p>").replace('\n', "<br>"))
            }
        }
    }

    /// The reply as Telegram HTML (parse_mode = HTML).
    pub fn telegram_html(&self, office: &BTreeMap<String, String>) -> String {
        render(self, office, &Html)
    }
}

trait Style {
    fn bold(&self, s: &str) -> String;
    fn text(&self, s: &str) -> String;
    fn body(&self, blocks: &[markup::Block]) -> String;
}
struct Plain;
struct Html;
impl Style for Plain {
    fn bold(&self, s: &str) -> String {
        format!("【{s}】")
    }
    fn text(&self, s: &str) -> String {
        s.to_string()
    }
    fn body(&self, blocks: &[markup::Block]) -> String {
        markup::to_plain(blocks)
    }
}
impl Style for Html {
    fn bold(&self, s: &str) -> String {
        format!("<b>{}</b>", markup::escape_html(s))
    }
    fn text(&self, s: &str) -> String {
        markup::escape_html(s)
    }
    fn body(&self, blocks: &[markup::Block]) -> String {
        markup::to_telegram_html(blocks)
    }
}

fn office<'a>(o: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    o.get(key).map(String::as_str).unwrap_or("")
}

/// The hotline lines every hand-off carries.
pub fn hotline_lines(o: &BTreeMap<String, String>) -> String {
    format!(
        "• 海关服务热线：{}\n• 业务咨询：{}",
        office(o, "hotline"),
        office(o, "consult_phone")
    )
}

/// One line on whether people are at the hotline now (or when they are back); without `[duty]`,
/// the office hours as published.
pub fn duty_line(duty: Option<&crate::duty::Schedule>, o: &BTreeMap<String, String>) -> String {
    let now = chrono::Utc::now();
    match duty {
        Some(s) => crate::duty::status(duty, now).describe(s.clock().local(now).naive_local()),
        None => format!(
            "人工服务时间：{}。",
            o.get("office_hours").map_or("以海关公布为准", String::as_str)
        ),
    }
}

/// Whether the body has its own 法律依据 section (a paragraph starting with the bold label), in which
/// case the `legal_basis` line is not repeated under it.
fn states_its_basis(e: &Entry) -> bool {
    e.body.lines().any(|l| l.trim_start().starts_with("**法律依据**"))
}

/// An entry as a fragment of a web page.
pub fn entry_web_html(e: &Entry, o: &BTreeMap<String, String>) -> String {
    let blocks = markup::parse(&markup::fill(&e.body, o));
    let mut out = format!(
        "<h2>{}</h2>\n{}",
        markup::escape_html(&e.title),
        markup::to_web_html(&blocks)
    );
    if !e.legal_basis.is_empty() && !states_its_basis(e) {
        out.push_str(&format!(
            "<p class=\"basis\">法律依据：{}</p>\n",
            markup::escape_html(&e.legal_basis.join("；"))
        ));
    }
    out.push_str(&format!("<p class=\"updated\">本条更新于 {}</p>\n", e.updated));
    if let Some(line) = authority_line(e) {
        out.push_str(&format!("<p class=\"authority\">{}</p>\n", markup::escape_html(line)));
    }
    out
}

/// The last line of a rule's answer: where the authoritative text is. Said once: not when the
/// entry states no rule (a service or faq entry), nor when its last paragraph already says it.
fn authority_line(e: &Entry) -> Option<&'static str> {
    const SAID: &str = "以海关总署公布为准";
    let rule = matches!(e.kind, Kind::Policy | Kind::Procedure | Kind::Permit) && !e.legal_basis.is_empty();
    let last = e.body.trim_end().rsplit("\n\n").next().unwrap_or_default();
    (rule && !last.contains(SAID)).then_some("正式文本见上述依据文件，以海关总署公布为准。")
}

/// What an answer in place of a rule no longer in force says first.
fn superseded_lead(old: &Entry) -> String {
    match old.ended_on() {
        Some(day) => format!("原规定「{}」自{}起停止执行，现行规定：", old.title, chinese_date(day)),
        None => format!("原规定「{}」已停止执行，现行规定：", old.title),
    }
}

/// 2026年7月1日.
fn chinese_date(d: chrono::NaiveDate) -> String {
    use chrono::Datelike as _;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

fn entry_with(e: &Entry, o: &BTreeMap<String, String>, s: &dyn Style) -> String {
    let blocks = markup::parse(&markup::fill(&e.body, o));
    let mut out = format!("{}\n\n{}", s.bold(&e.title), s.body(&blocks));
    if !e.legal_basis.is_empty() && !states_its_basis(e) {
        out.push_str(&format!(
            "\n\n{}{}",
            s.text("法律依据："),
            s.text(&e.legal_basis.join("；"))
        ));
    }
    out.push_str(&format!("\n{}", s.text(&format!("（本条更新于 {}）", e.updated))));
    if let Some(line) = authority_line(e) {
        out.push_str(&format!("\n{}", s.text(line)));
    }
    out
}

/// The question a part of a message names before its reply: one handed to a person because
/// nothing answered it (the other parts answer the rest).
fn named_question(part: &Reply) -> Option<&str> {
    matches!(part.body, Body::Handoff(HandoffReason::NotSure)).then_some(part.question.as_str())
}

/// The line before the parts of a message answered in several parts.
fn parts_lead(n: usize) -> String {
    const COUNT: [&str; 4] = ["", "一", "两", "三"];
    format!("您的问题涉及{}点：", COUNT.get(n).copied().unwrap_or("几"))
}

fn render(r: &Reply, o: &BTreeMap<String, String>, s: &dyn Style) -> String {
    match &r.body {
        Body::Answer(e) => entry_with(e, o, s),
        Body::Superseded { old, entry } => format!("{}\n\n{}", s.text(&superseded_lead(old)), entry_with(entry, o, s)),
        Body::FollowUp { entry, aspect, section } => {
            let mut out = match section {
                Some(section) => {
                    let blocks = markup::parse(&markup::fill(section, o));
                    format!(
                        "{}{}{}\n\n{}",
                        s.text("关于"),
                        s.bold(&entry.title),
                        s.text(&format!("的{}：", aspect.label())),
                        s.body(&blocks)
                    )
                }
                None => format!(
                    "{}\n\n{}",
                    s.text(&format!("【{}】没有单独列出{}，以下是这一项的全部内容：", entry.title, aspect.label())),
                    entry_with(entry, o, s)
                ),
            };
            out.push_str(&s.text(&format!(
                "\n\n不是这一项？请直接输入您的新问题；或拨打海关服务热线 {}。",
                office(o, "hotline")
            )));
            out
        }
        Body::Parts(parts) => {
            let mut out = s.text(&parts_lead(parts.len()));
            const MARKS: [&str; 3] = ["一、", "二、", "三、"];
            for (i, p) in parts.iter().enumerate() {
                let mark = MARKS.get(i).copied().unwrap_or("");
                let asked = named_question(p).map(|q| format!("「{q}」")).unwrap_or_default();
                out.push_str(&format!("\n\n{}{}", s.text(&format!("{mark}{asked}")), render(p, o, s)));
            }
            out
        }
        Body::Clarify(choices) => {
            let mut out = if choices.len() == 1 {
                s.text("我不太确定您问的是不是这一项（是的话请回复「是」或「1」）：")
            } else {
                s.text("您的问题可能与以下几项有关，请选择：")
            };
            for (i, c) in choices.iter().enumerate() {
                out.push_str(&format!("\n{}. {}", i + 1, s.text(&c.title)));
            }
            out.push_str(&s.text(&format!(
                "\n\n都不是？可以换个说法再问，或拨打海关服务热线 {}。",
                office(o, "hotline")
            )));
            out
        }
        Body::Handoff(reason) => {
            let lead = match reason {
                HandoffReason::NotSure => "抱歉，这个问题我没有把握准确回答。为免误导您，请咨询人工：",
                HandoffReason::Asked => "好的，为您转人工。您可以联系：",
                HandoffReason::TooLong => "您的消息较长，我无法准确理解。请用一两句话说明要办的事（例如「报关单怎么修改」），或咨询人工：",
                HandoffReason::Vague => "请再具体说说您要办理的业务（例如「滞报金怎么计算」），或咨询人工：",
                HandoffReason::Internal => "抱歉，系统暂时无法回答。请稍后再试，或咨询人工：",
                HandoffReason::Specific(Specific::OwnCase) => {
                    "您问的是您自己的具体情况，需要工作人员查询核实后答复，我不能替您判断。请咨询人工："
                }
                HandoffReason::Specific(Specific::Calculation) => {
                    "具体的计算和核对需要工作人员根据实际情况办理，我不能替您给出结果。请咨询人工："
                }
                HandoffReason::Specific(Specific::Admission) => {
                    "某个国家（地区）的某种产品能否进口，要查它的准入情况（准入名单、境外生产企业注册、疫情禁令等），需要工作人员按具体产品和来源地答复。请咨询人工："
                }
                HandoffReason::Specific(Specific::CodeLookup) => {
                    "某一商品的编码（以及它适用的税率、许可证件）要按商品的具体情况确定，需要工作人员或预裁定答复。请咨询人工："
                }
            };
            let mut out = format!("{}\n{}", s.text(lead), s.text(&hotline_lines(o)));
            if let (HandoffReason::Specific(_), Some(rule)) = (reason, r.candidates.first()) {
                out.push_str(&format!(
                    "\n{}",
                    s.text(&format!("相关的一般规定可参考「{}」，您可以直接问我这一项。", rule.title))
                ));
            }
            out
        }
        Body::Redirect { to, .. } => s.text(&format!(
            "这个问题看起来属于{to}的职责，不是{}办理的事项，建议向{to}咨询。\n如果您问的是中国海关的手续，可以换个说法再问，或拨打海关服务热线 {}。",
            office(o, "office_name"),
            office(o, "hotline")
        )),
        Body::Smalltalk(kind) => {
            let name = office(o, "office_name");
            let text = match kind {
                Smalltalk::Greeting => format!(
                    "您好！我是{name}的咨询助手，可以解答通关手续、行政许可、税费、时限、办事渠道等问题。请直接输入您的问题，例如「知识产权海关保护备案怎么办」。"
                ),
                Smalltalk::Thanks => "不客气！还有其他问题可以随时问我。".to_string(),
                Smalltalk::Goodbye => "好的，再见！需要时随时来问。".to_string(),
                Smalltalk::Identity => format!(
                    "我是{name}的自动咨询助手，根据海关公开的办事指南和法律法规回答问题。我不确定的问题，会请您联系人工：海关服务热线 {}。",
                    office(o, "hotline")
                ),
                Smalltalk::OffTopic => format!(
                    "这个我帮不上忙：我是{name}的咨询助手，只回答海关业务问题（通关手续、行政许可、税费、时限、办事渠道等）。请直接输入您想问的海关问题；需要人工可拨打海关服务热线 {}。",
                    office(o, "hotline")
                ),
                Smalltalk::NoText => "请用文字描述您的问题，例如「报关单填错了怎么改」。".to_string(),
            };
            s.text(&text)
        }
    }
}

#[cfg(test)]
mod tests;
