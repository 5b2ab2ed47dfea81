//! The domain lexicon beside the entries: jieba user dictionary, synonym groups, query stopwords.
//!
//! Parses the three plain-text files in `knowledge/lexicon/` from `&str`, reporting bad lines with
//! their line numbers. The text module turns the parsed lexicon into an analyzer.

use serde::{Deserialize, Serialize};

use super::Problem;

pub const USER_DICT: &str = "lexicon/userdict.txt";
pub const SYNONYMS: &str = "lexicon/synonyms.txt";
pub const STOPWORDS: &str = "lexicon/stopwords.txt";
pub const REDIRECTS: &str = "lexicon/redirects.txt";

/// The parsed lexicon. `user_dict` keeps jieba's line format, cleaned of comments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lexicon {
    pub user_dict: String,
    pub synonyms: Vec<Vec<String>>,
    pub stopwords: Vec<String>,
    /// Matters of other authorities: (terms, where to go instead).
    #[serde(default)]
    pub redirects: Vec<(Vec<String>, String)>,
}

fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Parses a jieba user dictionary: `词语 [频率] [词性]` per line.
pub fn parse_user_dict(source: &str, text: &str, problems: &mut Vec<Problem>) -> String {
    let mut out = Vec::new();
    for (line, l) in content_lines(text) {
        let parts: Vec<&str> = l.split_whitespace().collect();
        let ok = match parts.as_slice() {
            [_] => true,
            [_, freq] | [_, freq, _] => freq.parse::<u32>().is_ok(),
            _ => false,
        };
        if ok {
            out.push(parts.join(" "));
        } else {
            problems.push(Problem::error(
                source,
                line,
                format!("`{l}` is not a dictionary line"),
                "write `词语`, `词语 频率` or `词语 频率 词性`, e.g. `滞报金 2000 n` (the frequency is a whole number)",
            ));
        }
    }
    out.join("\n")
}

/// The lines of a synonyms file as (line number, terms): terms separated by spaces (or 、 ， ,).
pub fn synonym_lines(text: &str) -> impl Iterator<Item = (usize, Vec<String>)> + '_ {
    content_lines(text).map(|(line, l)| {
        let terms = l
            .split(|c: char| c.is_whitespace() || matches!(c, '、' | '，' | ','))
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        (line, terms)
    })
}

/// Parses synonym groups: one group per line, terms separated by spaces (or 、 ， ,).
pub fn parse_synonyms(source: &str, text: &str, problems: &mut Vec<Problem>) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (line, terms) in synonym_lines(text) {
        let l = terms.join(" ");
        if terms.len() < 2 {
            problems.push(Problem::error(
                source,
                line,
                format!("the synonym group `{l}` has only one term"),
                "list at least two interchangeable terms on the line, separated by spaces",
            ));
            continue;
        }
        for t in &terms {
            let key = crate::text::normalize(t);
            if let Some(prev) = seen.insert(key, line)
                && prev != line
            {
                problems.push(Problem::error(
                    source,
                    line,
                    format!("`{t}` is already in the synonym group on line {prev}"),
                    "keep each term in one group only: merge the two lines or remove one",
                ));
            }
        }
        groups.push(terms);
    }
    groups
}

/// Parses redirects: `词语 词语 … = 去处` per line, for matters that belong to other authorities.
pub fn parse_redirects(source: &str, text: &str, problems: &mut Vec<Problem>) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    for (line, l) in content_lines(text) {
        let Some((terms, to)) = l.split_once('=') else {
            problems.push(Problem::error(
                source,
                line,
                format!("`{l}` has no `=`"),
                "write the terms, then `=`, then where to go instead, e.g. `出口退税 退税率 = 税务部门`",
            ));
            continue;
        };
        let terms: Vec<String> = terms.split_whitespace().map(str::to_string).collect();
        let to = to.trim().to_string();
        if terms.is_empty() || to.is_empty() {
            problems.push(Problem::error(
                source,
                line,
                format!("`{l}` needs terms before `=` and a destination after it"),
                "e.g. `护照 签证 = 公安机关出入境管理部门`",
            ));
            continue;
        }
        out.push((terms, to));
    }
    out
}

/// Parses stopwords: one per line.
pub fn parse_stopwords(text: &str) -> Vec<String> {
    content_lines(text)
        .flat_map(|(_, l)| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_dict_lines() {
        let mut p = Vec::new();
        let d = parse_user_dict("u.txt", "# c\n滞报金 2000 n\n预裁定\n单一窗口 many\n", &mut p);
        assert_eq!(d, "滞报金 2000 n\n预裁定");
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].to_string(),
            "u.txt:4: `单一窗口 many` is not a dictionary line — write `词语`, `词语 频率` or `词语 频率 词性`, e.g. `滞报金 2000 n` (the frequency is a whole number)"
        );
    }

    #[test]
    fn redirect_lines() {
        let mut p = Vec::new();
        let r = parse_redirects("r.txt", "# c\n出口退税 退税率 = 税务部门\n护照\n", &mut p);
        assert_eq!(
            r,
            vec![(
                vec!["出口退税".to_string(), "退税率".to_string()],
                "税务部门".to_string()
            )]
        );
        assert_eq!(
            p[0].to_string(),
            "r.txt:3: `护照` has no `=` — write the terms, then `=`, then where to go instead, e.g. `出口退税 退税率 = 税务部门`"
        );
    }

    #[test]
    fn synonym_groups() {
        let mut p = Vec::new();
        let g = parse_synonyms("s.txt", "知识产权 知产\n查验、查货\n孤单\n知产 知识产权保护\n", &mut p);
        assert_eq!(g.len(), 3);
        assert_eq!(g[1], vec!["查验", "查货"]);
        let m: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            m,
            vec![
                "s.txt:3: the synonym group `孤单` has only one term — list at least two interchangeable terms on the line, separated by spaces",
                "s.txt:4: `知产` is already in the synonym group on line 1 — keep each term in one group only: merge the two lines or remove one",
            ]
        );
    }
}
