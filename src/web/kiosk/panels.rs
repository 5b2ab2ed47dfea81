//! An entry cut into the panels the kiosk shows as tabs: what comes before its first section
//! (概要), then each section under the label the entry gives it, then its legal basis when the body
//! does not state it. A section is what the entry format says it is (docs/knowledge-format.md,
//! "Sections"): a paragraph that starts with a bold label and what follows up to the next one — the
//! headings of `knowledge::entry::SECTIONS` (所需材料, 办理时限 …) and the entry's own labels (隔离检疫,
//! 注意事项 …) alike, so every paragraph of the body is in exactly one panel.

use crate::knowledge::Entry;
use crate::knowledge::entry::{SECTIONS, section_label};

/// One tab: its label and its Markdown (placeholders unfilled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    pub label: String,
    pub text: String,
}

/// The label of what comes before the first section.
const INTRO: &str = "概要";

/// The entry's panels, in the order of its body; never empty.
pub fn panels(e: &Entry) -> Vec<Panel> {
    let mut out: Vec<Panel> = Vec::new();
    let mut current = Panel {
        label: INTRO.into(),
        text: String::new(),
    };
    for paragraph in e.body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(label) = section_label(paragraph) {
            if !current.text.is_empty() {
                out.push(current);
            }
            current = Panel {
                label: label.to_string(),
                text: String::new(),
            };
        }
        if !current.text.is_empty() {
            current.text.push_str("\n\n");
        }
        current.text.push_str(paragraph);
    }
    if !current.text.is_empty() || out.is_empty() {
        out.push(current);
    }
    let basis_group = SECTIONS.iter().find(|g| g[0] == "法律依据").copied().unwrap_or(&[]);
    let states_basis = out.iter().any(|p| basis_group.contains(&p.label.as_str()));
    if !e.legal_basis.is_empty() && !states_basis {
        out.push(Panel {
            label: "法律依据".into(),
            text: e
                .legal_basis
                .iter()
                .map(|b| format!("- {b}"))
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: &str, basis: &[&str]) -> Entry {
        Entry {
            id: "proc-x".into(),
            kind: crate::knowledge::Kind::Procedure,
            title: "测试".into(),
            questions: vec![],
            keywords: vec![],
            legal_basis: basis.iter().map(|b| b.to_string()).collect(),
            updated: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            effective: None,
            expires: None,
            related: vec![],
            supersedes: vec![],
            sources: vec![],
            body: body.into(),
            source: "procedure/proc-x.md".into(),
        }
    }

    fn labels(p: &[Panel]) -> Vec<&str> {
        p.iter().map(|p| p.label.as_str()).collect()
    }

    #[test]
    fn sections_become_panels_in_body_order_and_nothing_is_lost() {
        let body =
            "先看这里。\n\n**申请材料**：\n- 申请表；\n- 合同。\n\n**注意**：原件备查。\n\n**办理时限**：20个工作日。";
        let p = panels(&entry(body, &["《海关法》"]));
        assert_eq!(labels(&p), ["概要", "申请材料", "注意", "办理时限", "法律依据"]);
        assert_eq!(p[1].text, "**申请材料**：\n- 申请表；\n- 合同。");
        assert_eq!(p[4].text, "- 《海关法》");
        let joined: Vec<&str> = p[..4].iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined.join("\n\n"), body, "every paragraph once, in order");
    }

    #[test]
    fn an_entry_without_sections_is_one_panel_and_a_stated_basis_is_not_repeated() {
        let p = panels(&entry("只有一段。", &[]));
        assert_eq!(labels(&p), ["概要"]);
        let p = panels(&entry(
            "**所需材料**：申请表。\n\n**依据**：《海关法》。",
            &["《海关法》"],
        ));
        assert_eq!(labels(&p), ["所需材料", "依据"], "no empty 概要, no second basis");
        let p = panels(&entry("", &[]));
        assert_eq!(p.len(), 1, "never empty");
    }
}
