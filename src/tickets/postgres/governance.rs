//! Provenance of logged answers (`review why`), the questions a reindex replays, and the audit
//! trail of knowledge changes.

use chrono::Utc;

use super::{PgStore, cutoff};
use crate::tickets::{EntryVersion, KnowledgeChange, OperatorAnswer, Provenance, Told};

/// The prefix of a chosen entry in the log (`[选择] <title>`): not a question to replay.
const CHOSEN: &str = "[选择]";

fn ids(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl PgStore {
    pub(super) fn told(&self, id: i64) -> anyhow::Result<Option<Told>> {
        let mut conn = self.conn()?;
        let Some(r) = conn.query_opt(
            "SELECT id, at, channel, chat, question, decision, entry, generation, reply, sources
             FROM questions WHERE id = $1",
            &[&id],
        )?
        else {
            return Ok(None);
        };
        let generation: Option<String> = r.try_get(7)?;
        let reply: Option<String> = r.try_get(8)?;
        let sources: Option<String> = r.try_get(9)?;
        let provenance = generation.map(|generation| Provenance {
            generation,
            reply: reply.unwrap_or_default(),
            entries: sources
                .and_then(|s| serde_json::from_str::<Vec<EntryVersion>>(&s).ok())
                .unwrap_or_default(),
        });
        let operator_answers = conn
            .query(
                "SELECT id, answer, COALESCE(answered_by, ''), answered_at, relayed_at FROM tickets
                 WHERE question_id = $1 AND answer IS NOT NULL ORDER BY id",
                &[&id],
            )?
            .iter()
            .map(|a| {
                Ok(OperatorAnswer {
                    ticket: a.try_get(0)?,
                    answer: a.try_get(1)?,
                    by: a.try_get(2)?,
                    answered_at: a.try_get(3)?,
                    relayed_at: a.try_get(4)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(Told {
            id: r.try_get(0)?,
            at: r.try_get(1)?,
            channel: r.try_get(2)?,
            chat: r.try_get(3)?,
            question: r.try_get(4)?,
            decision: r.try_get(5)?,
            entry: r.try_get(6)?,
            provenance,
            operator_answers,
        }))
    }

    pub(super) fn distinct_questions(&self, days: u32, limit: usize) -> anyhow::Result<Vec<String>> {
        let rows = self.conn()?.query(
            "SELECT question, COUNT(*) AS n FROM questions WHERE at >= $1 AND substr(question, 1, 4) <> $2
             GROUP BY question ORDER BY n DESC, question LIMIT $3",
            &[&cutoff(days), &CHOSEN, &(limit as i64)],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(super) fn add_change(&self, c: &KnowledgeChange) -> anyhow::Result<i64> {
        let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        Ok(self
            .conn()?
            .query_one(
                "INSERT INTO knowledge_changes (at, who, action, fingerprint_before, fingerprint_after, added, changed,
                 removed, outside, gate, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                &[
                    &Utc::now(),
                    &c.who,
                    &c.action,
                    &c.fingerprint_before,
                    &c.fingerprint_after,
                    &json(&c.added),
                    &json(&c.changed),
                    &json(&c.removed),
                    &json(&c.outside),
                    &c.gate,
                    &c.detail,
                ],
            )?
            .get(0))
    }

    pub(super) fn list_changes(&self, entry: Option<&str>, limit: usize) -> anyhow::Result<Vec<KnowledgeChange>> {
        let rows = self.conn()?.query(
            "SELECT id, at, who, action, fingerprint_before, fingerprint_after, added, changed, removed, outside,
             gate, detail FROM knowledge_changes ORDER BY id DESC",
            &[],
        )?;
        // Filtered here, on the parsed lists: an id is matched exactly, never as part of another.
        let mut out = Vec::new();
        for r in &rows {
            let change = KnowledgeChange {
                id: r.try_get(0)?,
                at: Some(r.try_get(1)?),
                who: r.try_get(2)?,
                action: r.try_get(3)?,
                fingerprint_before: r.try_get(4)?,
                fingerprint_after: r.try_get(5)?,
                added: ids(r.try_get(6)?),
                changed: ids(r.try_get(7)?),
                removed: ids(r.try_get(8)?),
                outside: ids(r.try_get(9)?),
                gate: r.try_get(10)?,
                detail: r.try_get(11)?,
            };
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
