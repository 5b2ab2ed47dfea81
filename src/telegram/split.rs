//! Splitting Telegram HTML into messages that fit Telegram's limit.
//!
//! Telegram counts a message's length in UTF-16 code units *after* entity parsing; counting the
//! HTML source is a safe over-estimate. Pieces are cut at paragraph boundaries, then at line
//! boundaries, and never inside a tag: the renderers (`markup`, `reply`) only put inline tags
//! inside one line, so a line boundary is always outside every tag. A single line longer than the
//! limit (which no shipped entry has) loses its markup and is cut between characters, never inside
//! an HTML entity such as `&amp;`.
//!
//! [`check_html`] states what Telegram accepts in `parse_mode = HTML`; the tests and the fuzz
//! targets (`fuzz/`) hold every rendering and every split piece to it.

/// Telegram's limit for one message, in UTF-16 code units.
pub const MESSAGE_LIMIT: usize = 4096;

/// Length as Telegram counts it.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Splits `html` into pieces of at most `limit` UTF-16 units each. A piece that would show nothing
/// but whitespace is left out: Telegram refuses an empty message.
pub fn split_html(html: &str, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for para in html.split("\n\n") {
        for unit in fit(para, limit) {
            let sep = if current.is_empty() { 0 } else { 2 };
            if utf16_len(&current) + sep + utf16_len(&unit) > limit && !current.is_empty() {
                let piece = std::mem::take(&mut current);
                if !blank(&piece) {
                    pieces.push(piece);
                }
            }
            if !current.is_empty() {
                current.push_str("\n\n");
            }
            current.push_str(&unit);
        }
    }
    if !blank(&current) {
        pieces.push(current);
    }
    pieces
}

/// True when `html` shows nothing but whitespace (tags left out, entities read).
fn blank(html: &str) -> bool {
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        let (shown, len) = match c {
            '<' => (None, rest.find('>').map_or(rest.len(), |i| i + 1)),
            '&' => match rest.find(';').filter(|&i| i <= 10) {
                Some(i) => (entity(&rest[1..i]).or(Some('&')), i + 1),
                None => (Some('&'), 1),
            },
            c => (Some(c), c.len_utf8()),
        };
        if shown.is_some_and(|c| !c.is_whitespace()) {
            return false;
        }
        rest = &rest[len..];
    }
    true
}

/// A paragraph as pieces that each fit: itself, or its lines regrouped, or hard-cut text.
fn fit(para: &str, limit: usize) -> Vec<String> {
    if utf16_len(para) <= limit {
        return vec![para.to_string()];
    }
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in para.split('\n') {
        let line_pieces = if utf16_len(line) <= limit {
            vec![line.to_string()]
        } else {
            hard_cut(line, limit)
        };
        for piece in line_pieces {
            if !current.is_empty() && utf16_len(&current) + 1 + utf16_len(&piece) > limit {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(&piece);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Drops the tags of an over-long line and cuts it between characters, keeping entities whole.
fn hard_cut(line: &str, limit: usize) -> Vec<String> {
    let mut text = String::with_capacity(line.len());
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let mut units = 0;
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        // An entity (&amp; &lt; &gt; &quot;) moves as one piece.
        let token_len = if c == '&' {
            rest.find(';').filter(|&i| i <= 8).map_or(1, |i| i + 1)
        } else {
            c.len_utf8()
        };
        let token = &rest[..token_len];
        let token_units = utf16_len(token);
        if units + token_units > limit {
            out.push(std::mem::take(&mut current));
            units = 0;
        }
        current.push_str(token);
        units += token_units;
        rest = &rest[token_len..];
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Tags Telegram's HTML mode knows (`a` and `span` are handled apart, for their attributes).
const TAGS: [&str; 14] = [
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "tg-spoiler",
    "code",
    "pre",
    "blockquote",
    "span",
];

/// Checks that `html` is a message Telegram accepts with `parse_mode = HTML`, and that it carries
/// no link but an http(s) one: only known tags, each closed in order, entities may nest as the Bot
/// API allows (nothing inside `code` or `pre` but `pre > code`, no link in a link, no blockquote in
/// a blockquote), every `<`, `>` and `&` outside a tag escaped, every entity one Telegram knows
/// (`&lt;` `&gt;` `&amp;` `&quot;` and numeric ones), and some visible text.
pub fn check_html(html: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    let mut visible = false;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest
                    .find('>')
                    .ok_or_else(|| format!("unclosed `<` at {:?}", head(rest)))?;
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    match open.pop() {
                        Some(top) if top == name => {}
                        Some(top) => return Err(format!("`</{name}>` closes `<{top}>`")),
                        None => return Err(format!("`</{name}>` closes nothing")),
                    }
                } else {
                    let name = open_tag(tag)?;
                    let inside_code = open.contains(&"code");
                    let inside_pre = open.last() == Some(&"pre");
                    if inside_code || (open.contains(&"pre") && !(inside_pre && name == "code")) {
                        return Err(format!("`<{name}>` inside code or pre"));
                    }
                    if open.contains(&name) && matches!(name, "a" | "blockquote") {
                        return Err(format!("`<{name}>` inside `<{name}>`"));
                    }
                    if open.contains(&"a") && matches!(name, "code" | "pre" | "blockquote") {
                        return Err(format!("`<{name}>` inside a link"));
                    }
                    open.push(name);
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest
                    .find(';')
                    .filter(|&i| i <= 10)
                    .ok_or_else(|| format!("a bare `&` at {:?}", head(rest)))?;
                let Some(c) = entity(&rest[1..end]) else {
                    return Err(format!("unknown entity `{}`", &rest[..=end]));
                };
                visible |= !c.is_whitespace();
                rest = &rest[end + 1..];
            }
            '>' => return Err(format!("a bare `>` at {:?}", head(rest))),
            c => {
                visible |= !c.is_whitespace();
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(top) = open.last() {
        return Err(format!("`<{top}>` is never closed"));
    }
    if !visible {
        return Err("no visible text (Telegram refuses an empty message)".into());
    }
    Ok(())
}

/// The name of an opening tag (the text between `<` and `>`), when Telegram accepts it as written.
fn open_tag(tag: &str) -> Result<&'static str, String> {
    if let Some(attrs) = tag.strip_prefix("a ") {
        let url = attrs
            .trim()
            .strip_prefix("href=\"")
            .and_then(|r| r.strip_suffix('"'))
            .ok_or_else(|| format!("`<{tag}>` is not `<a href=\"…\">`"))?;
        if url.contains('"') || url.contains('<') || url.split('&').skip(1).any(|r| entity_at(r).is_none()) {
            return Err(format!("`<{tag}>`: the link is not escaped"));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("`<{tag}>`: the link has spaces or control characters"));
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("`<{tag}>`: only http(s) links"));
        }
        return Ok("a");
    }
    match tag {
        "span class=\"tg-spoiler\"" => Ok("span"),
        "blockquote expandable" => Ok("blockquote"),
        "span" => Err("`<span>` needs class=\"tg-spoiler\"".into()),
        _ => TAGS
            .into_iter()
            .find(|t| *t == tag)
            .ok_or_else(|| format!("`<{tag}>` is not a tag Telegram knows")),
    }
}

/// The entity at the start of `s` (after its `&`), when it is one Telegram knows.
fn entity_at(s: &str) -> Option<char> {
    s.find(';').filter(|&i| i <= 9).and_then(|i| entity(&s[..i]))
}

/// The character an entity name (between `&` and `;`) stands for, when Telegram knows it.
fn entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) if !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()?
                }
                None if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) => num.parse().ok()?,
                _ => return None,
            };
            char::from_u32(code).filter(|&c| c != '\0')
        }
    }
}

fn head(s: &str) -> &str {
    let end = s.char_indices().nth(20).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split_html("<b>标题</b>\n\n正文", 4096), vec!["<b>标题</b>\n\n正文"]);
    }

    #[test]
    fn splits_on_paragraphs_within_the_limit() {
        let para = format!("<b>{}</b>", "关".repeat(30));
        let html = vec![para.clone(); 5].join("\n\n");
        let pieces = split_html(&html, 80);
        assert!(pieces.len() > 1);
        for p in &pieces {
            assert!(utf16_len(p) <= 80, "{p}");
            assert_eq!(p.matches("<b>").count(), p.matches("</b>").count(), "{p}");
        }
        assert_eq!(pieces.join("\n\n"), html);
    }

    #[test]
    fn counts_utf16_units_not_chars() {
        // Each emoji is 2 UTF-16 units.
        let html = format!("{}\n\n{}", "😀".repeat(30), "😀".repeat(30));
        let pieces = split_html(&html, 64);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| utf16_len(p) <= 64));
    }

    #[test]
    fn an_over_long_line_is_cut_outside_entities_and_tags() {
        let line = format!("<b>{}</b>", "a&amp;b".repeat(20));
        let pieces = split_html(&line, 10);
        for p in &pieces {
            assert!(utf16_len(p) <= 10, "{p}");
            assert!(!p.contains('<'), "{p}");
            assert!(!p.ends_with('&') && !p.starts_with("amp;"), "{p}");
        }
        assert_eq!(pieces.concat(), "a&amp;b".repeat(20));
    }

    #[test]
    fn a_bold_run_over_lines_splits_into_valid_pieces() {
        // Found by fuzzing (fuzz/regressions/markup): a paragraph longer than the limit was cut at a
        // line break inside `<b>…</b>`, leaving an unclosed `<b>` in one message and a stray `</b>`
        // in the next; Telegram refuses both.
        let html = crate::markup::to_telegram_html(&crate::markup::parse("**跨跨跨跨跨\n行行行行行**"));
        let pieces = split_html(&html, 16);
        assert_eq!(pieces, ["<b>跨跨跨跨跨</b>", "<b>行行行行行</b>"]);
        for p in &pieces {
            assert_eq!(check_html(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn pieces_that_show_only_whitespace_are_left_out() {
        // Found by fuzzing (fuzz/regressions/markup): a hard cut left a piece of one vertical tab,
        // which Telegram refuses as an empty message.
        let line = format!("{}\u{b}", "法".repeat(16));
        assert_eq!(split_html(&line, 16), vec!["法".repeat(16)]);
        let pieces = split_html(&format!("{}\n\n<b> </b>&#32;\n\n正文", "关".repeat(14)), 16);
        assert_eq!(pieces, vec!["关".repeat(14), "正文".to_string()]);
        assert!(split_html(" \n\n<b>\u{3000}</b>", 4096).is_empty());
    }

    #[test]
    fn check_html_accepts_what_telegram_accepts() {
        for ok in [
            "<b>标题</b>\n\n正文 a &lt; b &amp;&amp; c &gt; d &quot;x&quot; &#128512; &#x1F600;",
            "<a href=\"https://example.org/?a=1&amp;b=2\">门户</a>",
            "<b>粗<i>斜</i></b><pre><code>x</code></pre><blockquote>引</blockquote>",
            "<span class=\"tg-spoiler\">s</span><tg-spoiler>t</tg-spoiler>",
        ] {
            assert_eq!(check_html(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn check_html_names_what_telegram_refuses() {
        for (bad, why) in [
            ("a < b", "unclosed `<`"),
            ("a > b", "a bare `>`"),
            ("a & b", "a bare `&`"),
            ("&nbsp;x", "unknown entity `&nbsp;`"),
            ("&#xD800;x", "unknown entity"),
            ("<b>x", "`<b>` is never closed"),
            ("<b><i>x</b></i>", "`</b>` closes `<i>`"),
            ("x</b>", "`</b>` closes nothing"),
            ("<p>x</p>", "`<p>` is not a tag Telegram knows"),
            ("<script>x</script>", "is not a tag Telegram knows"),
            ("<a href=\"javascript:alert(1)\">x</a>", "only http(s) links"),
            ("<a href=\"https://a\" onclick=\"x\">x</a>", "the link is not escaped"),
            ("<a href='https://a'>x</a>", "is not `<a href"),
            ("<code><b>x</b></code>", "inside code or pre"),
            (
                "<a href=\"https://a\"><a href=\"https://b\">x</a></a>",
                "`<a>` inside `<a>`",
            ),
            ("<b> </b>\n", "no visible text"),
            ("&#32;\u{b}", "no visible text"),
            ("<a href=\"https://a/\u{0}\">x</a>", "control characters"),
            ("", "no visible text"),
        ] {
            let e = check_html(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
