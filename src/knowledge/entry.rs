//! One knowledge entry: parsing a Markdown file with TOML front matter into an [`Entry`].
//!
//! Parsing works on `&str` and never touches the disk; `knowledge::load` reads files and hands
//! their text here. Every problem is collected (not just the first), each with the line it is on
//! and how to fix it. Cross-entry checks (duplicate ids, dangling `related`, placeholders) live in
//! `knowledge::mod`, which sees the whole folder.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Problem;

/// What an entry is about. Also the folder staff keep it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Service,
    Policy,
    Procedure,
    Permit,
    Faq,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Procedure, Kind::Permit, Kind::Policy, Kind::Service, Kind::Faq];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::Policy => "policy",
            Kind::Procedure => "procedure",
            Kind::Permit => "permit",
            Kind::Faq => "faq",
        }
    }

    /// The name people see.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Service => "服务渠道",
            Kind::Policy => "政策与权利",
            Kind::Procedure => "办事程序",
            Kind::Permit => "行政许可",
            Kind::Faq => "常见问题",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A validated knowledge entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub kind: Kind,
    pub title: String,
    pub questions: Vec<String>,
    pub keywords: Vec<String>,
    pub legal_basis: Vec<String>,
    pub updated: NaiveDate,
    pub effective: Option<NaiveDate>,
    pub expires: Option<NaiveDate>,
    pub related: Vec<String>,
    /// The entries this one replaces (dated rules): when one of them has expired, a question that
    /// finds it is answered with this entry and told that the old rule ended.
    #[serde(default)]
    pub supersedes: Vec<String>,
    /// Where the facts were read (announcement numbers, statute articles, official pages): for
    /// staff and reviewers, never shown to people.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The answer, Markdown subset with `{{placeholders}}` unfilled.
    pub body: String,
    /// Where the entry came from, relative to the knowledge folder (for messages).
    pub source: String,
}

impl Entry {
    /// True when the entry may be answered on `today`: in force and not expired.
    pub fn is_current(&self, today: NaiveDate) -> bool {
        self.effective.is_none_or(|d| d <= today) && self.expires.is_none_or(|d| d >= today)
    }

    /// The body's section under one of `headings` (the first found, in the order given): the
    /// paragraph that starts with the bold label (`**办理时限**：…`) and what follows it up to the
    /// next paragraph that starts with any bold label. None when the entry has no such section.
    pub fn section(&self, headings: &[&str]) -> Option<String> {
        let paragraphs: Vec<&str> = self.body.split("\n\n").collect();
        for h in headings {
            let Some(start) = paragraphs.iter().position(|p| section_label(p) == Some(*h)) else {
                continue;
            };
            let end = paragraphs[start + 1..]
                .iter()
                .position(|p| section_label(p).is_some())
                .map_or(paragraphs.len(), |n| start + 1 + n);
            return Some(paragraphs[start..end].join("\n\n").trim().to_string());
        }
        None
    }

    /// The words people ask a section of this entry with that its heading does not say (a time
    /// limit is asked as 多久, 几天): the index finds the entry by them as by its keywords.
    pub fn asked_words(&self) -> Vec<&'static str> {
        ASKED_AS
            .iter()
            .filter(|(canonical, _)| self.section(section_headings(canonical)).is_some())
            .map(|&(_, word)| word)
            .collect()
    }
}

/// The word a section is asked with, beside its heading, by canonical heading. Only the time limit:
/// its headings (时限, 期限) are how staff write and never how anyone asks (多久; the lexicon makes
/// 几天 and 多长时间 the same word). The other sections' headings (所需材料, 收费) are the words
/// people use; adding 材料 or 收费 changed nothing on the dev sets.
const ASKED_AS: &[(&str, &str)] = &[("办理时限", "多久")];

/// The section headings of the entry format (`docs/knowledge-format.md`), one group per aspect with
/// its canonical heading first: a body paragraph that
/// starts with one in bold (`**办理时限**：…`) begins that section, which runs to the next paragraph
/// that starts with a bold label (a section or not). A
/// follow-up about an aspect shows its section; `check` refuses a heading used twice in one entry.
pub const SECTIONS: &[&[&str]] = &[
    &["办理条件", "申请条件", "条件", "适用范围", "适用条件"],
    &["所需材料", "申请材料", "材料", "提交材料", "随附单证"],
    &["办理时限", "时限", "期限", "审批时限", "申报时限"],
    &["收费", "收费标准", "费用", "是否收费"],
    &["办理渠道", "办理地点", "在哪办", "办理方式", "渠道", "网上办理"],
    &["有效期", "有效期限", "延续", "续展"],
    &["法律责任", "后果", "处罚", "违规后果"],
    &["法律依据", "依据"],
    &["办理流程", "流程", "办理步骤", "步骤", "怎么办"],
    &["变更和撤销", "变更", "修改", "更正", "撤销"],
];

/// The headings of the section whose canonical heading (its first) is `canonical`; empty for none.
pub fn section_headings(canonical: &str) -> &'static [&'static str] {
    SECTIONS.iter().find(|g| g[0] == canonical).copied().unwrap_or(&[])
}

/// Whether `label` is one of the section headings.
pub fn is_section_heading(label: &str) -> bool {
    SECTIONS.iter().any(|g| g.contains(&label))
}

/// The bold label a paragraph starts with (`**办理时限**：…` → 办理时限), if any.
pub fn section_label(paragraph: &str) -> Option<&str> {
    let rest = paragraph.trim_start().strip_prefix("**")?;
    let (label, after) = rest.split_once("**")?;
    (after.starts_with('：') || after.starts_with(':')).then_some(label.trim())
}

/// Longest id: ids travel in Telegram callback data, which is limited to 64 bytes.
pub const MAX_ID_LEN: usize = 48;

/// Whether `id` uses only the characters an entry id may have: a-z, 0-9 and `-`, not starting
/// with `-` (so an id is always a plain file name: no `/`, `.`, or `..`).
fn id_chars_valid(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `id` is a valid entry id (characters and length), as `check` requires.
pub fn is_valid_id(id: &str) -> bool {
    id_chars_valid(id) && id.len() <= MAX_ID_LEN
}

/// The fields an entry's front matter may have.
const FIELDS: [&str; 12] = [
    "id",
    "kind",
    "title",
    "questions",
    "keywords",
    "legal_basis",
    "updated",
    "effective",
    "expires",
    "related",
    "supersedes",
    "sources",
];

/// Where each piece of a parsed entry is, for messages from the folder-level checks.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    pub id: usize,
    pub questions: usize,
    pub related: usize,
    pub supersedes: usize,
    /// Line number of the first body line (1-based).
    pub body: usize,
}

/// Parses one entry. `source` is the path shown in messages. Returns the entry when it is usable
/// (problems may still hold warnings), and every problem found.
pub fn parse(source: &str, text: &str) -> (Option<(Entry, Lines)>, Vec<Problem>) {
    let mut problems = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).replace("\r\n", "\n");
    let err = |line: usize, what: String, fix: &str| Problem::error(source, line, what, fix);

    let lines: Vec<&str> = text.split('\n').collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let Some(first) = first.filter(|&i| lines[i].trim_end() == "+++") else {
        problems.push(err(
            first.map_or(1, |i| i + 1),
            "the file does not start with front matter".into(),
            "put a line `+++` first, then the TOML fields (id, kind, title …), then `+++`, then the answer",
        ));
        return (None, problems);
    };
    let Some(close) = lines[first + 1..]
        .iter()
        .position(|l| l.trim_end() == "+++")
        .map(|i| first + 1 + i)
    else {
        problems.push(err(
            first + 1,
            "the front matter is never closed".into(),
            "add a line `+++` after the last TOML field, before the answer",
        ));
        return (None, problems);
    };
    let front_first_line = first + 2; // 1-based line of the first TOML line
    let front = lines[first + 1..close].join("\n");
    let body_lines = &lines[close + 1..];
    let body = body_lines.join("\n").trim().to_string();
    let body_line = close + 2 + body_lines.iter().take_while(|l| l.trim().is_empty()).count();

    let table: toml::Table = match toml::from_str(&front) {
        Ok(t) => t,
        Err(e) => {
            let line = e
                .span()
                .map_or(0, |s| front[..s.start.min(front.len())].matches('\n').count());
            problems.push(err(
                front_first_line + line,
                format!("the front matter is not valid TOML: {}", e.message().trim()),
                "write each field as `name = value`, strings in double quotes, lists as [\"…\", \"…\"]",
            ));
            return (None, problems);
        }
    };
    let key_line = |key: &str| -> usize {
        front
            .lines()
            .position(|l| {
                let l = l.trim_start();
                l.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('='))
            })
            .map_or(first + 1, |i| front_first_line + i)
    };

    for key in table.keys() {
        if !FIELDS.contains(&key.as_str()) {
            problems.push(err(
                key_line(key),
                format!("unknown field `{key}`"),
                &format!("remove it or fix its spelling; the fields are {}", FIELDS.join(", ")),
            ));
        }
    }

    let string = |key: &str, required: bool, problems: &mut Vec<Problem>| -> Option<String> {
        match table.get(key) {
            None if required => {
                problems.push(err(
                    first + 1,
                    format!("missing field `{key}`"),
                    &format!("add `{key} = \"…\"` between the +++ lines"),
                ));
                None
            }
            None => None,
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(toml::Value::String(_)) => {
                problems.push(err(
                    key_line(key),
                    format!("`{key}` is empty"),
                    "write a value between the quotes",
                ));
                None
            }
            Some(_) => {
                problems.push(err(
                    key_line(key),
                    format!("`{key}` must be a string"),
                    &format!("write {key} = \"…\""),
                ));
                None
            }
        }
    };
    let id = string("id", true, &mut problems);
    let kind_text = string("kind", true, &mut problems);
    let title = string("title", true, &mut problems);

    if let Some(id) = &id {
        if !id_chars_valid(id) {
            problems.push(err(
                key_line("id"),
                format!("id `{id}` may only use a-z, 0-9 and -"),
                "use lowercase letters, digits and hyphens, e.g. id = \"proc-transit\"",
            ));
        } else if id.len() > MAX_ID_LEN {
            problems.push(err(
                key_line("id"),
                format!("id `{id}` is longer than {MAX_ID_LEN} characters"),
                "shorten it (ids travel in chat buttons, which allow 64 bytes)",
            ));
        }
    }
    let kind = kind_text.as_deref().and_then(|k| {
        let kind = Kind::parse(k);
        if kind.is_none() {
            problems.push(err(
                key_line("kind"),
                format!("unknown kind `{k}`"),
                "use one of service, policy, procedure, permit, faq",
            ));
        }
        kind
    });

    let list = |key: &str, required: bool, problems: &mut Vec<Problem>| -> Option<Vec<String>> {
        match table.get(key) {
            None if required => {
                problems.push(err(
                    first + 1,
                    format!("missing field `{key}`"),
                    &format!("add `{key} = [\"…\", \"…\"]` between the +++ lines"),
                ));
                None
            }
            None => Some(Vec::new()),
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                        toml::Value::String(_) => problems.push(err(
                            key_line(key),
                            format!("`{key}` has an empty string"),
                            "remove the empty \"\" from the list",
                        )),
                        _ => {
                            problems.push(err(
                                key_line(key),
                                format!("`{key}` must be a list of strings"),
                                &format!("write {key} = [\"…\", \"…\"] between the +++ lines"),
                            ));
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Some(_) => {
                problems.push(err(
                    key_line(key),
                    format!("`{key}` must be a list of strings"),
                    &format!("write {key} = [\"…\", \"…\"] between the +++ lines"),
                ));
                None
            }
        }
    };
    let questions = list("questions", true, &mut problems);
    let keywords = list("keywords", true, &mut problems);
    let legal_basis = list("legal_basis", true, &mut problems);
    let related = list("related", false, &mut problems);
    let sources = list("sources", false, &mut problems);
    let supersedes = list("supersedes", false, &mut problems);
    if matches!(kind, Some(Kind::Policy | Kind::Procedure | Kind::Permit))
        && legal_basis.as_ref().is_some_and(|l| l.is_empty())
    {
        problems.push(err(
            key_line("legal_basis"),
            "a policy, procedure or permit entry needs its legal basis".into(),
            "name the law, regulation or announcement it rests on, e.g. legal_basis = [\"《海关法》第二十四条\"] (or make it kind = \"faq\" / \"service\" if it states no rule)",
        ));
    }
    // A section heading may appear once: a follow-up shows "the" section for its aspect.
    let mut seen: Vec<&str> = Vec::new();
    for (n, line) in body_lines.iter().enumerate() {
        // 「本知识库…」 speaks of our own sources, not of the rule: a note to staff, not to the public.
        if let Some(note) = ["待核实", "待确认", "TODO", "本知识库"]
            .into_iter()
            .find(|m| line.contains(m))
        {
            problems.push(err(
                close + 2 + n,
                format!("an internal note 「{note}」 would be shown to people"),
                "state only what a cited source supports: leave the unconfirmed fact out, or say once 「以海关总署公布为准」 with {{hotline}}",
            ));
        }
        if let Some(label) = section_label(line).filter(|l| is_section_heading(l)) {
            if seen.contains(&label) {
                problems.push(err(
                    close + 2 + n,
                    format!("the section 「{label}」 appears twice"),
                    "merge the two paragraphs under one 「**…**：」 heading (see docs/knowledge-format.md, Sections)",
                ));
            }
            seen.push(label);
        }
    }
    if questions.as_ref().is_some_and(|q| q.is_empty()) {
        problems.push(err(
            key_line("questions"),
            "`questions` is empty".into(),
            "add at least one way people ask this, e.g. questions = [\"…怎么办\"]",
        ));
    }

    let date = |key: &str, required: bool, problems: &mut Vec<Problem>| -> Option<NaiveDate> {
        let fix = format!("write a date without quotes, e.g. {key} = 2026-11-26");
        match table.get(key) {
            None if required => {
                problems.push(err(first + 1, format!("missing field `{key}`"), &fix));
                None
            }
            None => None,
            Some(toml::Value::Datetime(dt)) => match (dt.date, dt.time) {
                (Some(d), None) => NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()),
                _ => {
                    problems.push(err(
                        key_line(key),
                        format!("`{key}` must be a date without a time"),
                        &fix,
                    ));
                    None
                }
            },
            Some(toml::Value::String(s)) => match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    problems.push(err(key_line(key), format!("`{key}` is not a date: \"{s}\""), &fix));
                    None
                }
            },
            Some(_) => {
                problems.push(err(key_line(key), format!("`{key}` must be a date"), &fix));
                None
            }
        }
    };
    let updated = date("updated", true, &mut problems);
    let effective = date("effective", false, &mut problems);
    let expires = date("expires", false, &mut problems);
    if let (Some(e), Some(x)) = (effective, expires)
        && x < e
    {
        problems.push(err(
            key_line("expires"),
            format!("`expires` ({x}) is before `effective` ({e})"),
            "fix one of the two dates, or remove `expires`",
        ));
    }

    if body.is_empty() {
        problems.push(err(
            close + 1,
            "the answer is empty".into(),
            "write the answer below the closing +++ line",
        ));
    }

    if problems.iter().any(Problem::is_error) {
        return (None, problems);
    }
    let (
        Some(id),
        Some(kind),
        Some(title),
        Some(questions),
        Some(keywords),
        Some(legal_basis),
        Some(updated),
        Some(related),
    ) = (id, kind, title, questions, keywords, legal_basis, updated, related)
    else {
        return (None, problems);
    };
    let lines = Lines {
        id: key_line("id"),
        questions: key_line("questions"),
        related: key_line("related"),
        supersedes: key_line("supersedes"),
        body: body_line,
    };
    let entry = Entry {
        id,
        kind,
        title,
        questions,
        keywords,
        legal_basis,
        updated,
        effective,
        expires,
        related,
        supersedes: supersedes.unwrap_or_default(),
        sources: sources.unwrap_or_default(),
        body,
        source: source.to_string(),
    };
    (Some((entry, lines)), problems)
}

#[cfg(test)]
mod tests;
