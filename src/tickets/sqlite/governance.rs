//! Provenance of logged answers (`review why`), the questions a reindex replays, and the audit
//! trail of knowledge changes.

use rusqlite::{OptionalExtension, params};

use super::rows::{optional_time, time};
use super::{SqliteStore, cutoff, now};
use crate::tickets::{EntryVersion, KnowledgeChange, OperatorAnswer, Provenance, Told};

/// The prefix of a chosen entry in the log (`[选择] <title>`): not a question to replay.
const CHOSEN: &str = "[选择]";

fn ids(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl SqliteStore {
    pub(super) fn told(&self, id: i64) -> anyhow::Result<Option<Told>> {
        let conn = self.conn()?;
        let told = conn
            .query_row(
                "SELECT id, at, channel, chat, question, decision, entry, generation, reply, sources
                 FROM questions WHERE id = ?1",
                [id],
                |r| {
                    let generation: Option<String> = r.get(7)?;
                    let reply: Option<String> = r.get(8)?;
                    let sources: Option<String> = r.get(9)?;
                    let provenance = generation.map(|generation| Provenance {
                        generation,
                        reply: reply.unwrap_or_default(),
                        entries: sources
                            .and_then(|s| serde_json::from_str::<Vec<EntryVersion>>(&s).ok())
                            .unwrap_or_default(),
                    });
                    Ok(Told {
                        id: r.get(0)?,
                        at: time(r, 1)?,
                        channel: r.get(2)?,
                        chat: r.get(3)?,
                        question: r.get(4)?,
                        decision: r.get(5)?,
                        entry: r.get(6)?,
                        provenance,
                        operator_answers: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut told) = told else { return Ok(None) };
        let mut stmt = conn.prepare(
            "SELECT id, answer, COALESCE(answered_by, ''), answered_at, relayed_at FROM tickets
             WHERE question_id = ?1 AND answer IS NOT NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(OperatorAnswer {
                ticket: r.get(0)?,
                answer: r.get(1)?,
                by: r.get(2)?,
                answered_at: optional_time(r, 3)?,
                relayed_at: optional_time(r, 4)?,
            })
        })?;
        told.operator_answers = rows.collect::<Result<Vec<_>, _>>()?;
        Ok(Some(told))
    }

    pub(super) fn distinct_questions(&self, days: u32, limit: usize) -> anyhow::Result<Vec<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT question, COUNT(*) AS n FROM questions WHERE at >= ?1 AND substr(question, 1, 4) <> ?2
             GROUP BY question ORDER BY n DESC, question LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![cutoff(days), CHOSEN, limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    }

    pub(super) fn add_change(&self, c: &KnowledgeChange) -> anyhow::Result<i64> {
        let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO knowledge_changes (at, who, action, fingerprint_before, fingerprint_after, added, changed,
             removed, outside, gate, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                now(),
                c.who,
                c.action,
                c.fingerprint_before,
                c.fingerprint_after,
                json(&c.added),
                json(&c.changed),
                json(&c.removed),
                json(&c.outside),
                c.gate,
                c.detail
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    pub(super) fn list_changes(&self, entry: Option<&str>, limit: usize) -> anyhow::Result<Vec<KnowledgeChange>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT id, at, who, action, fingerprint_before, fingerprint_after, added, changed, removed, outside,
             gate, detail FROM knowledge_changes ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(KnowledgeChange {
                id: r.get(0)?,
                at: Some(time(r, 1)?),
                who: r.get(2)?,
                action: r.get(3)?,
                fingerprint_before: r.get(4)?,
                fingerprint_after: r.get(5)?,
                added: ids(&r.get::<_, String>(6)?),
                changed: ids(&r.get::<_, String>(7)?),
                removed: ids(&r.get::<_, String>(8)?),
                outside: ids(&r.get::<_, String>(9)?),
                gate: r.get(10)?,
                detail: r.get(11)?,
            })
        })?;
        // Filtered here, on the parsed lists: an id is matched exactly, never as part of another.
        let mut out = Vec::new();
        for change in rows {
            let change = change?;
            if entry.is_none_or(|id| change.touches(id)) {
                out.push(change);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}
