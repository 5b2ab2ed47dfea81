//! The [`TicketStore`] implementation: questions, tickets, choices offered, feedback.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::rows::{TICKET_COLUMNS, guesses, row_question, row_stale_clarify, row_ticket};
use super::{INSERT_QUESTION, QuestionRow, SqliteStore, insert_row, now, stamp};
use crate::conversation::Conversation;

use crate::ratelimit::Rate;
use crate::tickets::OperatorSession;
use crate::tickets::spool::append_spool;
use crate::tickets::{
    CloseReason, Feedback, Guess, Logged, LoggedQuestion, NewTicket, QuestionRecord, QuestionRef, StaleClarify, Stats,
    Ticket, TicketError, TicketState, TicketStore, mask, random_key,
};

/// How long keeping a conversation may wait for a locked database.
const CONVERSATION_BUDGET: Duration = Duration::from_millis(200);
/// The `settings` row naming the index generation last published.
const LIVE_GENERATION: &str = "live_generation";

impl SqliteStore {
    pub(super) fn tickets_where(&self, clause: &str, params: impl rusqlite::Params) -> anyhow::Result<Vec<Ticket>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!("SELECT {TICKET_COLUMNS} FROM tickets {clause}"))?;
        let rows = stmt.query_map(params, row_ticket)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn get_ticket(&self, id: i64) -> Result<Ticket, TicketError> {
        self.ticket(id)?.ok_or(TicketError::NoSuchTicket(id))
    }
}

impl TicketStore for SqliteStore {
    fn record_question(&self, q: &QuestionRecord) -> anyhow::Result<Logged> {
        let started = Instant::now();
        let row = QuestionRow::new(q);
        let stored = self.write_with_retry(self.options.log_budget, |conn| {
            insert_row(&row, conn, INSERT_QUESTION)?;
            Ok(conn.last_insert_rowid())
        });
        let db_error = match stored {
            Ok(id) => return Ok(Logged::Stored(id)),
            Err(e) => e,
        };
        let Some(spool) = &self.spool else {
            return Err(db_error.context("the question log could not be written and an in-memory store has no spool"));
        };
        match append_spool(spool, &row) {
            Ok(()) => {
                tracing::error!(
                    channel = %row.channel,
                    chat = %row.chat,
                    uid = %row.uid,
                    waited_ms = started.elapsed().as_millis() as u64,
                    spool = %spool.display(),
                    error = %format!("{db_error:#}"),
                    "the question log could not be written: the question is kept in the spool and will be replayed"
                );
                Ok(Logged::Spooled)
            }
            Err(spool_error) => Err(db_error.context(format!(
                "the question log could not be written, and neither could the spool: {spool_error:#}"
            ))),
        }
    }

    fn replay_spool(&self) -> anyhow::Result<usize> {
        SqliteStore::replay_spool(self)
    }

    fn open_ticket(&self, t: &NewTicket<'_>) -> anyhow::Result<Ticket> {
        // On the reply's path, like the question: bounded by the same budget.
        let guesses = serde_json::to_string(t.guesses)?;
        let id = self.write_with_retry(self.options.log_budget, |conn| {
            conn.execute(
                "INSERT INTO tickets (opened_at, channel, chat, question, reason, guesses, question_id, access_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    now(),
                    t.channel,
                    t.chat,
                    mask(t.question),
                    t.reason.as_str(),
                    guesses,
                    t.question_id,
                    random_key()
                ],
            )?;
            Ok(conn.last_insert_rowid())
        })?;
        Ok(self.get_ticket(id)?)
    }

    fn ticket(&self, id: i64) -> anyhow::Result<Option<Ticket>> {
        Ok(self.tickets_where("WHERE id = ?1", [id])?.pop())
    }

    fn tickets(&self, state: Option<TicketState>) -> anyhow::Result<Vec<Ticket>> {
        match state {
            Some(s) => self.tickets_where("WHERE state = ?1 ORDER BY opened_at, id", [s.as_str()]),
            None => self.tickets_where("ORDER BY opened_at, id", []),
        }
    }

    fn answer_ticket(&self, id: i64, answer: &str, by: &str) -> Result<Ticket, TicketError> {
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(TicketError::EmptyAnswer);
        }
        if self.get_ticket(id)?.state == TicketState::Closed {
            return Err(TicketError::AlreadyClosed(id));
        }
        self.conn()?.execute(
            "UPDATE tickets SET state = 'answered', answer = ?2, answered_by = ?3, answered_at = ?4, relayed_at = NULL,
             relay_lease_until = NULL WHERE id = ?1",
            params![id, mask(answer), by, now()],
        )
        .map_err(anyhow::Error::from)?;
        self.get_ticket(id)
    }

    fn pending_relays(&self, channel: &str) -> anyhow::Result<Vec<Ticket>> {
        self.tickets_where(
            "WHERE state = 'answered' AND relayed_at IS NULL AND channel = ?1 ORDER BY answered_at, id",
            [channel],
        )
    }

    fn mark_relayed(&self, id: i64) -> anyhow::Result<()> {
        let at = now();
        self.conn()?.execute(
            "UPDATE tickets SET relayed_at = ?2, state = 'closed', closed_at = ?2, close_reason = 'relayed' WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    fn close_ticket(&self, id: i64, reason: CloseReason, promoted_to: Option<&str>) -> Result<Ticket, TicketError> {
        self.get_ticket(id)?;
        self.conn()?
            .execute(
                "UPDATE tickets SET state = 'closed', closed_at = ?2, close_reason = ?3,
                 promoted_to = COALESCE(?4, promoted_to) WHERE id = ?1",
                params![id, now(), reason.as_str(), promoted_to],
            )
            .map_err(anyhow::Error::from)?;
        self.get_ticket(id)
    }

    fn set_notice(&self, id: i64, message_id: i64) -> anyhow::Result<()> {
        self.conn()?.execute(
            "UPDATE tickets SET notice_message_id = ?2 WHERE id = ?1",
            params![id, message_id],
        )?;
        Ok(())
    }

    fn ticket_by_notice(&self, message_id: i64) -> anyhow::Result<Option<Ticket>> {
        Ok(self
            .tickets_where("WHERE notice_message_id = ?1 ORDER BY id DESC LIMIT 1", [message_id])?
            .pop())
    }

    fn overdue_unannounced(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>> {
        self.tickets_where(
            "WHERE state = 'open' AND overdue_announced = 0 AND opened_at < ?1 ORDER BY opened_at",
            [stamp(cutoff)],
        )
    }

    fn mark_overdue_announced(&self, id: i64) -> anyhow::Result<()> {
        self.conn()?
            .execute("UPDATE tickets SET overdue_announced = 1 WHERE id = ?1", [id])?;
        Ok(())
    }

    fn log_clarify(
        &self,
        channel: &str,
        chat: &str,
        question: &str,
        candidates: &[Guess],
        question_id: Option<i64>,
    ) -> anyhow::Result<i64> {
        let candidates = serde_json::to_string(candidates)?;
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO clarifies (at, channel, chat, question, candidates, question_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![now(), channel, chat, mask(question), candidates, question_id],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn clarify_picked(&self, channel: &str, chat: &str) -> anyhow::Result<()> {
        self.conn()?.execute(
            "UPDATE clarifies SET picked = 1 WHERE channel = ?1 AND chat = ?2 AND picked = 0",
            params![channel, chat],
        )?;
        Ok(())
    }

    fn clarify_offered(&self, channel: &str, chat: &str, entry: &str) -> anyhow::Result<bool> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT candidates FROM clarifies WHERE channel = ?1 AND chat = ?2")?;
        let rows = stmt.query_map(params![channel, chat], |r| r.get::<_, String>(0))?;
        for candidates in rows {
            if guesses(&candidates?).iter().any(|c| c.id == entry) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn stale_clarifies(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<StaleClarify>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT id, channel, chat, question, candidates, question_id FROM clarifies
             WHERE picked = 0 AND ticket_id IS NULL AND at < ?1 ORDER BY at",
        )?;
        let rows = stmt.query_map([stamp(cutoff)], row_stale_clarify)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn link_clarify(&self, clarify_id: i64, ticket_id: i64) -> anyhow::Result<()> {
        self.conn()?.execute(
            "UPDATE clarifies SET ticket_id = ?2, lease_until = NULL WHERE id = ?1",
            params![clarify_id, ticket_id],
        )?;
        Ok(())
    }

    fn recent_questions(&self, limit: usize) -> anyhow::Result<Vec<QuestionRecord>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT channel, chat, question, decision, entry, confidence, latency_ms FROM questions
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| row_question(r, 0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn stats(&self, days: u32) -> anyhow::Result<Stats> {
        self.figures(days)
    }

    fn question_log(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<LoggedQuestion>> {
        self.log_since(since)
    }

    fn tickets_since(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>> {
        self.tickets_where(
            "WHERE opened_at >= ?1 OR closed_at IS NULL OR closed_at >= ?1 ORDER BY opened_at, id",
            [stamp(since)],
        )
    }

    fn question_key(&self, question_id: i64) -> anyhow::Result<String> {
        let conn = self.conn()?;
        conn.execute(
            "UPDATE questions SET ref_key = ?2 WHERE id = ?1 AND ref_key IS NULL",
            params![question_id, random_key()],
        )?;
        conn.query_row("SELECT ref_key FROM questions WHERE id = ?1", [question_id], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| anyhow::anyhow!("there is no question {question_id}"))
    }

    fn feedback(
        &self,
        question: QuestionRef<'_>,
        channel: &str,
        chat: &str,
        helpful: bool,
    ) -> anyhow::Result<Feedback> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let (clause, key): (&str, &dyn rusqlite::ToSql) = match &question {
            QuestionRef::Id(id) => ("id = ?1", id),
            QuestionRef::Key(k) => ("ref_key = ?1", k),
        };
        let found = tx
            .query_row(
                &format!(
                    "SELECT id, channel, chat, question, decision, entry, confidence, latency_ms FROM questions
                     WHERE {clause} AND channel = ?2 AND chat = ?3"
                ),
                params![key, channel, chat],
                |r| Ok((r.get::<_, i64>(0)?, row_question(r, 1)?)),
            )
            .optional()?;
        let Some((question_id, question)) = found else {
            return Ok(Feedback::Unknown);
        };
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO feedback (at, question_id, helpful) VALUES (?1, ?2, ?3)",
            params![now(), question_id, helpful],
        )?;
        tx.commit()?;
        if inserted == 0 {
            return Ok(Feedback::AlreadyRecorded);
        }
        Ok(Feedback::Recorded(question_id, (!helpful).then_some(question)))
    }

    fn purge(&self, days: u32) -> anyhow::Result<usize> {
        self.remove_older_than(days)
    }

    fn question_told(&self, id: i64) -> anyhow::Result<Option<crate::tickets::Told>> {
        self.told(id)
    }

    fn asked_questions(&self, days: u32, limit: usize) -> anyhow::Result<Vec<String>> {
        self.distinct_questions(days, limit)
    }

    fn record_change(&self, change: &crate::tickets::KnowledgeChange) -> anyhow::Result<i64> {
        self.add_change(change)
    }

    fn changes(&self, entry: Option<&str>, limit: usize) -> anyhow::Result<Vec<crate::tickets::KnowledgeChange>> {
        self.list_changes(entry, limit)
    }

    fn conversation(&self, channel: &str, chat: &str, since: DateTime<Utc>) -> anyhow::Result<Option<Conversation>> {
        let state: Option<String> = self
            .conn()?
            .query_row(
                "SELECT state FROM conversations WHERE channel = ?1 AND chat = ?2 AND updated_at >= ?3",
                params![channel, chat, stamp(since)],
                |r| r.get(0),
            )
            .optional()?;
        // A state this version cannot read is a conversation that starts afresh, not an error.
        Ok(state.and_then(|s| serde_json::from_str(&s).ok()))
    }

    fn save_conversation(&self, channel: &str, chat: &str, conversation: &Conversation) -> anyhow::Result<()> {
        let mut kept = conversation.clone();
        kept.last_question = kept.last_question.as_deref().map(mask);
        let state = serde_json::to_string(&kept)?;
        // Within a short budget: under a write-locked database the next turn starts afresh rather
        // than the reply waiting.
        self.write_with_retry(CONVERSATION_BUDGET, |conn| {
            conn.execute(
                "INSERT INTO conversations (channel, chat, state, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (channel, chat) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![channel, chat, state, now()],
            )
        })?;
        Ok(())
    }

    fn forget_conversation(&self, channel: &str, chat: &str) -> anyhow::Result<()> {
        self.conn()?.execute(
            "DELETE FROM conversations WHERE channel = ?1 AND chat = ?2",
            params![channel, chat],
        )?;
        Ok(())
    }

    fn popular_entries(&self, since: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<(String, u64)>> {
        self.popular(&stamp(since), limit)
    }

    fn claim_relays(&self, channel: &str, lease: Duration) -> anyhow::Result<Vec<Ticket>> {
        self.lease_relays(channel, lease)
    }

    fn release_relay(&self, id: i64) -> anyhow::Result<()> {
        self.end_relay_lease(id)
    }

    fn claim_overdue(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>> {
        self.take_overdue(cutoff)
    }

    fn claim_stale_clarifies(&self, cutoff: DateTime<Utc>, lease: Duration) -> anyhow::Result<Vec<StaleClarify>> {
        self.lease_stale_clarifies(cutoff, lease)
    }

    fn rate_hit(&self, scope: &str, key: &str, limit: u32, window: Duration) -> anyhow::Result<Rate> {
        self.count_hit(scope, key, limit, window)
    }

    fn create_session(&self, token: &str, session: &OperatorSession) -> anyhow::Result<()> {
        self.put_session(token, session)
    }

    fn session(&self, token: &str) -> anyhow::Result<Option<OperatorSession>> {
        self.get_session(token)
    }

    fn end_session(&self, token: &str) -> anyhow::Result<()> {
        self.delete_session(token)
    }

    fn set_live_generation(&self, generation: &str) -> anyhow::Result<()> {
        self.put_setting(LIVE_GENERATION, generation)
    }

    fn live_generation(&self) -> anyhow::Result<Option<String>> {
        self.get_setting(LIVE_GENERATION)
    }

    fn inbox_put(&self, update: &crate::tickets::InboxUpdate) -> anyhow::Result<bool> {
        self.put_update(update)
    }

    fn inbox_claim(
        &self,
        owner: &str,
        lease: std::time::Duration,
    ) -> anyhow::Result<Option<crate::tickets::InboxUpdate>> {
        self.claim_update(owner, lease)
    }

    fn inbox_done(&self, update_id: i64) -> anyhow::Result<()> {
        self.update_done(update_id)
    }

    fn inbox_renew(&self, update_id: i64, owner: &str, lease: Duration) -> anyhow::Result<bool> {
        self.renew_update(update_id, owner, lease)
    }

    fn inbox_release(&self, owner: &str) -> anyhow::Result<()> {
        self.release_updates(owner)
    }
}
