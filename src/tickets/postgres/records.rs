//! The [`TicketStore`] implementation: questions, tickets, choices offered, feedback.

use std::time::{Duration, Instant};

use super::coordination::LIVE_GENERATION;
use super::rows::{TICKET_COLUMNS, guesses, row_question, row_stale_clarify, row_ticket};
use super::{INSERT_QUESTION, PgStore, QuestionRow, params_of, row_time};
use crate::conversation::Conversation;
use crate::ratelimit::Rate;
use crate::tickets::spool::append_spool;
use crate::tickets::{
    CloseReason, Feedback, Guess, InboxUpdate, KnowledgeChange, Logged, LoggedQuestion, NewTicket, OperatorSession,
    QuestionRecord, QuestionRef, StaleClarify, Stats, Ticket, TicketError, TicketState, TicketStore, Told, mask,
    random_key,
};
use chrono::{DateTime, Utc};

/// How long keeping a conversation may take before the next turn starts afresh instead.
const CONVERSATION_BUDGET: Duration = Duration::from_millis(200);

impl PgStore {
    pub(super) fn tickets_where(
        &self,
        clause: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> anyhow::Result<Vec<Ticket>> {
        let rows = self
            .conn()?
            .query(&format!("SELECT {TICKET_COLUMNS} FROM tickets {clause}"), params)?;
        rows.iter().map(row_ticket).collect()
    }

    fn get_ticket(&self, id: i64) -> Result<Ticket, TicketError> {
        self.ticket(id)?.ok_or(TicketError::NoSuchTicket(id))
    }

    fn execute(&self, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> anyhow::Result<u64> {
        Ok(self.conn()?.execute(sql, params)?)
    }
}

impl TicketStore for PgStore {
    fn record_question(&self, q: &QuestionRecord) -> anyhow::Result<Logged> {
        let started = Instant::now();
        let row = QuestionRow::new(q);
        let at = row_time(&row);
        let stored = self.within(self.options.log_budget, |tx| {
            Ok(tx.query_one(INSERT_QUESTION, &params_of(&row, &at))?.get::<_, i64>(0))
        });
        let db_error = match stored {
            Ok(id) => return Ok(Logged::Stored(id)),
            Err(e) => e,
        };
        let Some(spool) = &self.spool else {
            return Err(db_error.context("the question log could not be written and this store has no spool"));
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
        PgStore::replay_spool(self)
    }

    fn open_ticket(&self, t: &NewTicket<'_>) -> anyhow::Result<Ticket> {
        // On the reply's path, like the question: bounded by the same budget.
        let guesses = serde_json::to_string(t.guesses)?;
        let row = self.within(self.options.log_budget, |tx| {
            tx.query_one(
                &format!(
                    "INSERT INTO tickets (opened_at, channel, chat, question, reason, guesses, question_id, access_key)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {TICKET_COLUMNS}"
                ),
                &[
                    &Utc::now(),
                    &t.channel,
                    &t.chat,
                    &mask(t.question),
                    &t.reason.as_str(),
                    &guesses,
                    &t.question_id,
                    &random_key(),
                ],
            )
        })?;
        row_ticket(&row)
    }

    fn ticket(&self, id: i64) -> anyhow::Result<Option<Ticket>> {
        Ok(self.tickets_where("WHERE id = $1", &[&id])?.pop())
    }

    fn tickets(&self, state: Option<TicketState>) -> anyhow::Result<Vec<Ticket>> {
        match state {
            Some(s) => self.tickets_where("WHERE state = $1 ORDER BY opened_at, id", &[&s.as_str()]),
            None => self.tickets_where("ORDER BY opened_at, id", &[]),
        }
    }

    fn answer_ticket(&self, id: i64, answer: &str, by: &str) -> Result<Ticket, TicketError> {
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(TicketError::EmptyAnswer);
        }
        // One statement: a ticket closed meanwhile by another process is not reopened.
        let updated = self
            .conn()?
            .query_opt(
                &format!(
                    "UPDATE tickets SET state = 'answered', answer = $2, answered_by = $3, answered_at = $4,
                     relayed_at = NULL, relay_lease_until = NULL WHERE id = $1 AND state <> 'closed'
                     RETURNING {TICKET_COLUMNS}"
                ),
                &[&id, &mask(answer), &by, &Utc::now()],
            )
            .map_err(anyhow::Error::from)?;
        match updated {
            Some(row) => Ok(row_ticket(&row)?),
            None => {
                self.get_ticket(id)?;
                Err(TicketError::AlreadyClosed(id))
            }
        }
    }

    fn pending_relays(&self, channel: &str) -> anyhow::Result<Vec<Ticket>> {
        self.tickets_where(
            "WHERE state = 'answered' AND relayed_at IS NULL AND channel = $1 ORDER BY answered_at, id",
            &[&channel],
        )
    }

    fn mark_relayed(&self, id: i64) -> anyhow::Result<()> {
        self.execute(
            "UPDATE tickets SET relayed_at = $2, state = 'closed', closed_at = $2, close_reason = 'relayed' WHERE id = $1",
            &[&id, &Utc::now()],
        )?;
        Ok(())
    }

    fn close_ticket(&self, id: i64, reason: CloseReason, promoted_to: Option<&str>) -> Result<Ticket, TicketError> {
        let row = self
            .conn()?
            .query_opt(
                &format!(
                    "UPDATE tickets SET state = 'closed', closed_at = $2, close_reason = $3,
                     promoted_to = COALESCE($4, promoted_to) WHERE id = $1 RETURNING {TICKET_COLUMNS}"
                ),
                &[&id, &Utc::now(), &reason.as_str(), &promoted_to],
            )
            .map_err(anyhow::Error::from)?;
        match row {
            Some(row) => Ok(row_ticket(&row)?),
            None => Err(TicketError::NoSuchTicket(id)),
        }
    }

    fn set_notice(&self, id: i64, message_id: i64) -> anyhow::Result<()> {
        self.execute(
            "UPDATE tickets SET notice_message_id = $2 WHERE id = $1",
            &[&id, &message_id],
        )?;
        Ok(())
    }

    fn ticket_by_notice(&self, message_id: i64) -> anyhow::Result<Option<Ticket>> {
        Ok(self
            .tickets_where("WHERE notice_message_id = $1 ORDER BY id DESC LIMIT 1", &[&message_id])?
            .pop())
    }

    fn overdue_unannounced(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>> {
        self.tickets_where(
            "WHERE state = 'open' AND NOT overdue_announced AND opened_at < $1 ORDER BY opened_at",
            &[&cutoff],
        )
    }

    fn mark_overdue_announced(&self, id: i64) -> anyhow::Result<()> {
        self.execute("UPDATE tickets SET overdue_announced = TRUE WHERE id = $1", &[&id])?;
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
        Ok(self
            .conn()?
            .query_one(
                "INSERT INTO clarifies (at, channel, chat, question, candidates, question_id)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&Utc::now(), &channel, &chat, &mask(question), &candidates, &question_id],
            )?
            .get(0))
    }

    fn clarify_picked(&self, channel: &str, chat: &str) -> anyhow::Result<()> {
        self.execute(
            "UPDATE clarifies SET picked = TRUE WHERE channel = $1 AND chat = $2 AND NOT picked",
            &[&channel, &chat],
        )?;
        Ok(())
    }

    fn clarify_offered(&self, channel: &str, chat: &str, entry: &str) -> anyhow::Result<bool> {
        let rows = self.conn()?.query(
            "SELECT candidates FROM clarifies WHERE channel = $1 AND chat = $2",
            &[&channel, &chat],
        )?;
        Ok(rows.iter().any(|r| guesses(r.get(0)).iter().any(|c| c.id == entry)))
    }

    fn stale_clarifies(&self, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<StaleClarify>> {
        let rows = self.conn()?.query(
            "SELECT id, channel, chat, question, candidates, question_id FROM clarifies
             WHERE NOT picked AND ticket_id IS NULL AND at < $1 ORDER BY at",
            &[&cutoff],
        )?;
        rows.iter().map(row_stale_clarify).collect()
    }

    fn link_clarify(&self, clarify_id: i64, ticket_id: i64) -> anyhow::Result<()> {
        self.execute(
            "UPDATE clarifies SET ticket_id = $2, lease_until = NULL WHERE id = $1",
            &[&clarify_id, &ticket_id],
        )?;
        Ok(())
    }

    fn recent_questions(&self, limit: usize) -> anyhow::Result<Vec<QuestionRecord>> {
        let rows = self.conn()?.query(
            "SELECT channel, chat, question, decision, entry, confidence, latency_ms FROM questions
             ORDER BY id DESC LIMIT $1",
            &[&(limit as i64)],
        )?;
        rows.iter().map(|r| row_question(r, 0)).collect()
    }

    fn question_key(&self, question_id: i64) -> anyhow::Result<String> {
        // One statement: two callers at once get the same key.
        self.conn()?
            .query_opt(
                "UPDATE questions SET ref_key = COALESCE(ref_key, $2) WHERE id = $1 RETURNING ref_key",
                &[&question_id, &random_key()],
            )?
            .map(|r| r.get(0))
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
        let mut tx = conn.transaction()?;
        let columns = "id, channel, chat, question, decision, entry, confidence, latency_ms";
        let found = match question {
            QuestionRef::Id(id) => tx.query_opt(
                &format!("SELECT {columns} FROM questions WHERE id = $1 AND channel = $2 AND chat = $3"),
                &[&id, &channel, &chat],
            )?,
            QuestionRef::Key(key) => tx.query_opt(
                &format!("SELECT {columns} FROM questions WHERE ref_key = $1 AND channel = $2 AND chat = $3"),
                &[&key, &channel, &chat],
            )?,
        };
        let Some(found) = found else {
            return Ok(Feedback::Unknown);
        };
        let question_id: i64 = found.try_get(0)?;
        let question = row_question(&found, 1)?;
        let inserted = tx.execute(
            "INSERT INTO feedback (at, question_id, helpful) VALUES ($1, $2, $3) ON CONFLICT (question_id) DO NOTHING",
            &[&Utc::now(), &question_id, &helpful],
        )?;
        tx.commit()?;
        if inserted == 0 {
            return Ok(Feedback::AlreadyRecorded);
        }
        Ok(Feedback::Recorded(question_id, (!helpful).then_some(question)))
    }

    fn stats(&self, days: u32) -> anyhow::Result<Stats> {
        self.figures(days)
    }

    fn question_log(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<LoggedQuestion>> {
        self.log_since(since)
    }

    fn tickets_since(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>> {
        self.tickets_where(
            "WHERE opened_at >= $1 OR closed_at IS NULL OR closed_at >= $1 ORDER BY opened_at, id",
            &[&since],
        )
    }

    fn conversation(&self, channel: &str, chat: &str, since: DateTime<Utc>) -> anyhow::Result<Option<Conversation>> {
        let state: Option<String> = self
            .conn()?
            .query_opt(
                "SELECT state FROM conversations WHERE channel = $1 AND chat = $2 AND updated_at >= $3",
                &[&channel, &chat, &since],
            )?
            .map(|r| r.get(0));
        // A state this version cannot read is a conversation that starts afresh, not an error.
        Ok(state.and_then(|s| serde_json::from_str(&s).ok()))
    }

    fn save_conversation(&self, channel: &str, chat: &str, conversation: &Conversation) -> anyhow::Result<()> {
        let mut kept = conversation.clone();
        kept.last_question = kept.last_question.as_deref().map(mask);
        let state = serde_json::to_string(&kept)?;
        // Within a short budget: when the database is slow the next turn starts afresh rather than
        // the reply waiting.
        self.within(CONVERSATION_BUDGET, |tx| {
            tx.execute(
                "INSERT INTO conversations (channel, chat, state, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (channel, chat) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                &[&channel, &chat, &state, &Utc::now()],
            )
        })?;
        Ok(())
    }

    fn forget_conversation(&self, channel: &str, chat: &str) -> anyhow::Result<()> {
        self.execute(
            "DELETE FROM conversations WHERE channel = $1 AND chat = $2",
            &[&channel, &chat],
        )?;
        Ok(())
    }

    fn popular_entries(&self, since: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<(String, u64)>> {
        self.popular(since, limit)
    }

    fn purge(&self, days: u32) -> anyhow::Result<usize> {
        self.remove_older_than(days)
    }

    fn question_told(&self, id: i64) -> anyhow::Result<Option<Told>> {
        self.told(id)
    }

    fn asked_questions(&self, days: u32, limit: usize) -> anyhow::Result<Vec<String>> {
        self.distinct_questions(days, limit)
    }

    fn record_change(&self, change: &KnowledgeChange) -> anyhow::Result<i64> {
        self.add_change(change)
    }

    fn changes(&self, entry: Option<&str>, limit: usize) -> anyhow::Result<Vec<KnowledgeChange>> {
        self.list_changes(entry, limit)
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

    fn inbox_put(&self, update: &InboxUpdate) -> anyhow::Result<bool> {
        self.put_update(update)
    }

    fn inbox_claim(&self, owner: &str, lease: Duration) -> anyhow::Result<Option<InboxUpdate>> {
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
