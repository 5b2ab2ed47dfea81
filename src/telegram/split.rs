//! Splitting Telegram HTML into messages that fit Telegram's limit.
//!
//! Telegram counts a message's length in UTF-16 code units *after* entity parsing; counting the
//! HTML source is a safe over-estimate. Pieces are cut at paragraph boundaries, then at line
//! boundaries, and never inside a tag: the renderers (`markup`, `reply`) only put inline tags
//! inside one line, so a line boundary is always outside every tag. A single line longer than the
//! limit (which no shipped entry has) loses its markup and is cut between characters, never inside
//! an HTML entity such as `&amp;`.

/// Telegram's limit for one message, in UTF-16 code units.
pub const MESSAGE_LIMIT: usize = 4096;

/// Length as Telegram counts it.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Splits `html` into pieces of at most `limit` UTF-16 units each.
pub fn split_html(html: &str, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for para in html.split("\n\n") {
        for unit in fit(para, limit) {
            let sep = if current.is_empty() { 0 } else { 2 };
            if utf16_len(&current) + sep + utf16_len(&unit) > limit && !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push_str("\n\n");
            }
            current.push_str(&unit);
        }
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    pieces
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
}
