//! `/gaps` for operators: the knowledge gaps of the last days (see `crate::insight::gaps`), the
//! most asked first, as Telegram HTML split to Telegram's message limit by `send_html`.

use teloxide::prelude::*;

use super::{Context, HandlerResult, TgBot, html, send_html};
use crate::insight::{Gap, MAX_DAYS};

/// Gaps listed, and questions shown per gap.
const TOP: usize = 10;
const SHOWN: usize = 3;
const DEFAULT_DAYS: u32 = 30;

pub(super) async fn list_gaps(bot: &TgBot, ctx: &Context, chat: ChatId, args: &str) -> HandlerResult {
    let days = match args.trim() {
        "" => DEFAULT_DAYS,
        d => match d.parse::<u32>() {
            Ok(n) if (1..=MAX_DAYS).contains(&n) => n,
            _ => {
                let usage = format!("用法：/gaps 或 /gaps 天数（1–{MAX_DAYS}），例如 /gaps 7");
                return send_html(bot, chat, html(&usage), None).await;
            }
        },
    };
    let text = match ctx.desk.gaps(days).await {
        Some(gaps) => gaps_text(&gaps, days),
        None => html("暂时无法统计，请稍后再试。"),
    };
    send_html(bot, chat, text, None).await
}

/// The gaps as Telegram HTML, every piece from the log escaped.
pub(super) fn gaps_text(gaps: &[Gap], days: u32) -> String {
    if gaps.is_empty() {
        return html(&format!("最近 {days} 天没有知识缺口。"));
    }
    let mut out = format!(
        "最近 {days} 天的知识缺口（{} 个，前 {} 个，提问人数多的在前）：",
        gaps.len(),
        gaps.len().min(TOP)
    );
    for (n, g) in gaps.iter().take(TOP).enumerate() {
        out.push_str(&format!(
            "\n\n<b>{}. {}</b>\n{} 人，本周 {}，上周 {}",
            n + 1,
            html(&g.words.join(" ")),
            g.people,
            g.this_week,
            g.last_week
        ));
        for q in g.questions.iter().take(SHOWN) {
            out.push_str(&format!("\n· {}（{}）", html(&q.question), q.why.label()));
        }
        if g.questions.len() > SHOWN {
            out.push_str(&format!("\n· …… 另有 {} 个问题", g.questions.len() - SHOWN));
        }
        if let Some((x, _)) = g.guesses.first() {
            out.push_str(&format!("\n猜的条目：{}", html(x.label())));
        }
        if !g.answers.is_empty() {
            out.push_str(&format!("\n已有答复 {} 条", g.answers.len()));
        }
    }
    out.push_str("\n\n在控制台 /ops/gaps 可把问法加入条目，或用答复起草新条目。");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::{GapQuestion, Why};

    #[test]
    fn long_gap_lists_are_escaped_and_split_within_telegrams_limit() {
        let gaps: Vec<Gap> = (0..10)
            .map(|i| Gap {
                key: format!("g{i}"),
                words: vec!["<b>跨境</b>".into(), "退货".into()],
                people: 10 - i,
                this_week: 1,
                last_week: 0,
                questions: (0..5)
                    .map(|j| GapQuestion {
                        id: j,
                        at: chrono::Utc::now(),
                        channel: "web".into(),
                        chat: "web:x".into(),
                        question: format!("{}<script>{j}", "很长的问题".repeat(100)),
                        why: Why::HandedOff,
                        ticket: None,
                    })
                    .collect(),
                guesses: Vec::new(),
                answers: Vec::new(),
            })
            .collect();
        let text = gaps_text(&gaps, 7);
        assert!(!text.contains("<script>") && !text.contains("<b><b>"), "escaped");
        assert!(text.contains("&lt;script&gt;"));
        let pieces = super::super::split::split_html(&text, 4096);
        assert!(pieces.len() > 1);
        for p in &pieces {
            assert!(super::super::split::utf16_len(p) <= 4096);
            super::super::split::check_html(p).unwrap();
        }
    }
}
