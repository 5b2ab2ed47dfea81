//! The answer-body Markdown subset and its three renderings: plain text, Telegram HTML, web HTML.
//!
//! Knowledge entries write their answers in a deliberately small subset — paragraphs, `-` and `1.`
//! lists, `**bold**`, `[links](https://…)` and `{{placeholders}}` for local details. Anything else
//! is shown literally as text. Every piece of text is escaped by the HTML renderers, and links are
//! kept only for http(s) URLs, so an entry (or a placeholder value) can never inject markup.
//!
//! This module is pure: no I/O, no configuration types. Callers pass the placeholder values.

use std::collections::BTreeMap;

/// A run of inline text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Bold(Vec<Inline>),
    Link { text: String, url: String },
}

/// A block of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    /// `start` is the number of the first item of an ordered list, as the author wrote it.
    List {
        ordered: bool,
        start: u32,
        items: Vec<Vec<Inline>>,
    },
}

/// A `{{name}}` placeholder found in a text, with its 0-based line within that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    pub line: usize,
}

/// Every `{{name}}` in `text`, in order.
pub fn placeholders(text: &str) -> Vec<Placeholder> {
    let mut out = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            match after.find("}}") {
                Some(end) => {
                    out.push(Placeholder {
                        name: after[..end].trim().to_string(),
                        line: line_no,
                    });
                    rest = &after[end + 2..];
                }
                None => break,
            }
        }
    }
    out
}

/// Replaces every `{{name}}` whose name is in `values`; unknown ones are left as written
/// (validation reports them before an entry is ever indexed).
pub fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Removes every `{{name}}` (used before indexing, so placeholder names are not search terms).
pub fn strip_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("}}") {
            Some(end) => {
                out.push(' ');
                rest = &rest[start + 2 + end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses the Markdown subset into blocks.
pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut list: Option<(bool, u32, Vec<String>)> = None;

    fn flush_para(para: &mut Vec<&str>, blocks: &mut Vec<Block>) {
        if !para.is_empty() {
            let joined = para.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n");
            blocks.push(Block::Paragraph(parse_inline(&joined)));
            para.clear();
        }
    }
    fn flush_list(list: &mut Option<(bool, u32, Vec<String>)>, blocks: &mut Vec<Block>) {
        if let Some((ordered, start, items)) = list.take() {
            blocks.push(Block::List {
                ordered,
                start,
                items: items.iter().map(|i| parse_inline(i)).collect(),
            });
        }
    }

    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush_para(&mut para, &mut blocks);
            flush_list(&mut list, &mut blocks);
            continue;
        }
        if let Some((ordered, number, item)) = list_item(trimmed) {
            flush_para(&mut para, &mut blocks);
            match &mut list {
                Some((o, _, items)) if *o == ordered => items.push(item.to_string()),
                _ => {
                    flush_list(&mut list, &mut blocks);
                    list = Some((ordered, number, vec![item.to_string()]));
                }
            }
        } else if let (Some((_, _, items)), true) = (&mut list, line.starts_with("  ")) {
            // An indented line continues the previous list item.
            if let Some(last) = items.last_mut() {
                last.push('\n');
                last.push_str(trimmed);
            }
        } else {
            flush_list(&mut list, &mut blocks);
            para.push(line);
        }
    }
    flush_para(&mut para, &mut blocks);
    flush_list(&mut list, &mut blocks);
    blocks
}

/// A list item line: (ordered, its number, its text).
fn list_item(line: &str) -> Option<(bool, u32, &str)> {
    if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((false, 1, rest.trim()));
    }
    let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && digits <= 3 {
        let rest = &line[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix("、")) {
            return Some((true, line[..digits].parse().unwrap_or(1), rest.trim()));
        }
    }
    None
}

fn parse_inline(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("**")
            && let Some(end) = after.find("**")
            && end > 0
        {
            push_text(&mut out, &mut buf);
            out.push(Inline::Bold(parse_inline(&after[..end])));
            rest = &after[end + 2..];
            continue;
        }
        if rest.starts_with('[')
            && let Some((text, url, len)) = link(rest)
        {
            push_text(&mut out, &mut buf);
            out.push(Inline::Link {
                text: text.to_string(),
                url: url.to_string(),
            });
            rest = &rest[len..];
            continue;
        }
        let c = rest.chars().next().expect("rest is not empty");
        buf.push(c);
        rest = &rest[c.len_utf8()..];
    }
    push_text(&mut out, &mut buf);
    out
}

/// `[text](url)` at the start of `s` with an http(s) URL: (text, url, bytes consumed).
fn link(s: &str) -> Option<(&str, &str, usize)> {
    let close = s.find("](")?;
    let text = &s[1..close];
    if text.contains('[') || text.contains('\n') {
        return None;
    }
    let after = &s[close + 2..];
    let end = after.find(')')?;
    let url = after[..end].trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    ok.then_some((text, url, close + 2 + end + 1))
}

fn push_text(out: &mut Vec<Inline>, buf: &mut String) {
    if !buf.is_empty() {
        out.push(Inline::Text(std::mem::take(buf)));
    }
}

/// Escapes the three characters Telegram's HTML mode (and HTML text content) treats specially,
/// plus the double quote for attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Plain text: bold marks dropped, links as `text（url）`, lists with `•` or numbers.
pub fn to_plain(blocks: &[Block]) -> String {
    render(blocks, &Plain)
}

/// Telegram HTML (parse_mode = HTML): `<b>`, `<a href>`, everything else escaped; lists as lines.
pub fn to_telegram_html(blocks: &[Block]) -> String {
    render(blocks, &TelegramHtml)
}

/// Web HTML: `<p>`, `<ul>`/`<ol>`, `<strong>`, `<a rel="noopener">`, everything else escaped.
pub fn to_web_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Paragraph(inl) => {
                out.push_str("<p>");
                out.push_str(&inline_html(inl, "strong").replace('\n', "<br>"));
                out.push_str("</p>\n");
            }
            Block::List { ordered, start, items } => {
                let tag = if *ordered { "ol" } else { "ul" };
                if *ordered && *start != 1 {
                    out.push_str(&format!("<ol start=\"{start}\">"));
                } else {
                    out.push_str(&format!("<{tag}>"));
                }
                for item in items {
                    out.push_str("<li>");
                    out.push_str(&inline_html(item, "strong").replace('\n', "<br>"));
                    out.push_str("</li>");
                }
                out.push_str(&format!("</{tag}>\n"));
            }
        }
    }
    out
}

trait Style {
    fn inline(&self, inl: &[Inline]) -> String;
}
struct Plain;
struct TelegramHtml;

impl Style for Plain {
    fn inline(&self, inl: &[Inline]) -> String {
        inl.iter()
            .map(|i| match i {
                Inline::Text(t) => t.clone(),
                Inline::Bold(b) => self.inline(b),
                Inline::Link { text, url } if text == url => url.clone(),
                Inline::Link { text, url } => format!("{text}（{url}）"),
            })
            .collect()
    }
}

impl Style for TelegramHtml {
    fn inline(&self, inl: &[Inline]) -> String {
        inline_html(inl, "b")
    }
}

fn inline_html(inl: &[Inline], bold_tag: &str) -> String {
    inl.iter()
        .map(|i| match i {
            Inline::Text(t) => escape_html(t),
            // Bold is closed at each line break and reopened after it, so a tag never spans lines
            // (the Telegram splitter cuts long paragraphs at line breaks).
            Inline::Bold(b) => inline_html(b, bold_tag)
                .split('\n')
                .map(|line| match line {
                    "" => String::new(),
                    line => format!("<{bold_tag}>{line}</{bold_tag}>"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Inline::Link { text, url } => {
                format!("<a href=\"{}\">{}</a>", escape_html(url), escape_html(text))
            }
        })
        .collect()
}

fn render(blocks: &[Block], style: &dyn Style) -> String {
    let mut parts = Vec::new();
    for block in blocks {
        match block {
            Block::Paragraph(inl) => parts.push(style.inline(inl)),
            Block::List { ordered, start, items } => parts.push(
                items
                    .iter()
                    .enumerate()
                    .map(|(n, item)| {
                        let mark = if *ordered {
                            format!("{}. ", *start as usize + n)
                        } else {
                            "• ".to_string()
                        };
                        format!("{mark}{}", style.inline(item))
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        }
    }
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_subset() {
        let blocks = parse(
            "**谁申请**：权利人。\n\n- 材料：申请书\n- 时限：30 个工作日\n\n1. 第一步\n2. 第二步\n\n见[单一窗口](https://www.singlewindow.cn)。",
        );
        assert_eq!(blocks.len(), 4);
        assert_eq!(
            blocks[0],
            Block::Paragraph(vec![
                Inline::Bold(vec![Inline::Text("谁申请".into())]),
                Inline::Text("：权利人。".into())
            ])
        );
        assert!(matches!(&blocks[1], Block::List { ordered: false, items, .. } if items.len() == 2));
        assert!(matches!(&blocks[2], Block::List { ordered: true, start: 1, items } if items.len() == 2));
        assert_eq!(
            blocks[3],
            Block::Paragraph(vec![
                Inline::Text("见".into()),
                Inline::Link {
                    text: "单一窗口".into(),
                    url: "https://www.singlewindow.cn".into()
                },
                Inline::Text("。".into())
            ])
        );
    }

    #[test]
    fn renders_plain_and_html() {
        let blocks = parse("**注意** a<b & c\n\n- 一\n- 二\n\n[门户](https://example.org/?a=1&b=2)");
        assert_eq!(
            to_plain(&blocks),
            "注意 a<b & c\n\n• 一\n• 二\n\n门户（https://example.org/?a=1&b=2）"
        );
        assert_eq!(
            to_telegram_html(&blocks),
            "<b>注意</b> a&lt;b &amp; c\n\n• 一\n• 二\n\n<a href=\"https://example.org/?a=1&amp;b=2\">门户</a>"
        );
        assert_eq!(
            to_web_html(&blocks),
            "<p><strong>注意</strong> a&lt;b &amp; c</p>\n<ul><li>一</li><li>二</li></ul>\n<p><a href=\"https://example.org/?a=1&amp;b=2\">门户</a></p>\n"
        );
    }

    #[test]
    fn ordered_items_keep_the_authors_numbers() {
        let blocks = parse("1. 甲\n\n2. 乙");
        assert_eq!(to_plain(&blocks), "1. 甲\n\n2. 乙");
        assert_eq!(
            to_web_html(&blocks),
            "<ol><li>甲</li></ol>\n<ol start=\"2\"><li>乙</li></ol>\n"
        );
    }

    #[test]
    fn unsupported_syntax_stays_text_and_is_escaped() {
        let blocks = parse("# 标题\n<script>alert(1)</script> [x](javascript:alert(1)) **未闭合");
        let html = to_telegram_html(&blocks);
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("href"), "{html}");
        assert!(html.contains("**未闭合"), "{html}");
    }

    #[test]
    fn bold_over_a_line_break_is_closed_on_each_line() {
        // Found by fuzzing (fuzz/regressions/markup): `<b>` opened on one line and closed on the
        // next, which the Telegram splitter then cut apart into two unbalanced messages.
        let blocks = parse("续行 **跨\n行加粗** 尾\n- 项 **a\n  b**");
        assert_eq!(
            to_telegram_html(&blocks),
            "续行 <b>跨</b>\n<b>行加粗</b> 尾\n\n• 项 <b>a</b>\n<b>b</b>"
        );
        assert_eq!(to_plain(&blocks), "续行 跨\n行加粗 尾\n\n• 项 a\nb");
        let blocks = parse("x **\ny**");
        assert_eq!(to_telegram_html(&blocks), "x \n<b>y</b>");
    }

    #[test]
    fn links_with_control_characters_stay_text() {
        let blocks = parse("[x](https://a.example/\u{0}b)");
        assert!(!to_telegram_html(&blocks).contains("href"));
    }

    #[test]
    fn placeholders_are_found_and_filled() {
        let text = "请拨打 {{hotline}}。\n地址：{{ address }}；{{unknown}}";
        let found = placeholders(text);
        assert_eq!(
            found,
            vec![
                Placeholder {
                    name: "hotline".into(),
                    line: 0
                },
                Placeholder {
                    name: "address".into(),
                    line: 1
                },
                Placeholder {
                    name: "unknown".into(),
                    line: 1
                },
            ]
        );
        let values = BTreeMap::from([
            ("hotline".to_string(), "12360".to_string()),
            ("address".to_string(), "<地址>".to_string()),
        ]);
        assert_eq!(fill(text, &values), "请拨打 12360。\n地址：<地址>；{{unknown}}");
        assert_eq!(strip_placeholders("拨打{{hotline}}咨询"), "拨打 咨询");
    }
}
