//! `customs-bot review why <question-id>`: exactly what a person was told — the reply as sent,
//! the index generation and the entry versions it came from, whether each entry has changed since,
//! and operators' answers relayed for the question (with who wrote them).

use std::io::Write;

use crate::desk::Cases;
use crate::desk::why::why;

/// Prints what logged question `id` was told; an error when there is no such question.
pub fn run(cases: &Cases, id: i64, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let Some(w) = why(cases, id)? else {
        anyhow::bail!("there is no logged question {id}");
    };
    let clock = cases.config().office_clock();
    if json {
        let mut v = serde_json::to_value(&w)?;
        v["at"] = clock.rfc3339(w.told.at).into();
        writeln!(out, "{v}")?;
        return Ok(());
    }
    let t = &w.told;
    writeln!(
        out,
        "问题 {}（{} 会话 {}，{}）：{}",
        t.id,
        t.channel,
        t.chat,
        clock.format_minute(t.at),
        t.question
    )?;
    writeln!(
        out,
        "决定：{}{}",
        t.decision,
        t.entry.as_ref().map_or(String::new(), |e| format!("（{e}）"))
    )?;
    match &t.provenance {
        None => writeln!(out, "（这条记录早于答复留存，没有保存当时的答复）")?,
        Some(p) => {
            writeln!(out, "索引版本：{}", p.generation)?;
            writeln!(out, "当时的答复：")?;
            for line in p.reply.lines() {
                writeln!(out, "  {line}")?;
            }
            for (v, since) in &w.entries {
                writeln!(
                    out,
                    "所用条目：{}（{} 版，内容 {}）— {}",
                    v.id,
                    v.updated,
                    v.hash,
                    since.label()
                )?;
            }
        }
    }
    for a in &t.operator_answers {
        writeln!(
            out,
            "人工答复 {}（{}，{}）：{}",
            crate::tickets::ticket_number(a.ticket),
            a.by,
            a.answered_at.map_or("?".into(), |at| clock.format_minute(at)),
            a.answer
        )?;
    }
    Ok(())
}
