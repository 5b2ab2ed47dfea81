//! The ticket rules, once: when a hand-off opens a ticket and why, what the assistant's guesses
//! are, when an open ticket is overdue, and operators' actions (answer, close). Synchronous, so the
//! `review` CLI uses it as it is; [`super::Desk`] runs it on blocking threads for the fronts.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::reply::{Candidate, HandoffReason};
use crate::tickets::{CloseReason, Guess, Ticket, TicketError, TicketReason, TicketState, TicketStore};

/// The ticket store with the office's rules.
#[derive(Clone)]
pub struct Cases {
    config: Arc<Config>,
    store: Arc<dyn TicketStore>,
}

/// The ticket a hand-off opens, if any: a person is needed when the assistant was not sure, when
/// the person asked, when the question is about their own case or one specific fact, and when
/// something failed inside. A message too long to search or with no
/// content words gets advice on how to ask instead (nothing for an operator to answer).
pub fn ticket_reason(handoff: HandoffReason) -> Option<TicketReason> {
    match handoff {
        HandoffReason::NotSure => Some(TicketReason::Handoff),
        HandoffReason::Asked => Some(TicketReason::Asked),
        HandoffReason::Internal => Some(TicketReason::Internal),
        HandoffReason::Specific(_) => Some(TicketReason::Specific),
        HandoffReason::TooLong | HandoffReason::Vague => None,
    }
}

/// The assistant's guesses as a ticket keeps them (the same on every channel).
pub fn guesses(candidates: &[Candidate]) -> Vec<Guess> {
    candidates
        .iter()
        .map(|c| Guess {
            id: c.id.clone(),
            title: c.title.clone(),
        })
        .collect()
}

impl Cases {
    pub fn new(config: Arc<Config>, store: Arc<dyn TicketStore>) -> Self {
        Self { config, store }
    }

    pub fn store(&self) -> &Arc<dyn TicketStore> {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Working hours (by `[duty]`, or plain hours without it) `t` has been open at `now`.
    pub fn open_hours(&self, t: &Ticket, now: DateTime<Utc>) -> f64 {
        crate::duty::working_hours_between(self.config.duty.as_ref(), t.opened_at, now)
    }

    /// An open ticket past `[operators] overdue_hours` working hours.
    pub fn is_overdue(&self, t: &Ticket, now: DateTime<Utc>) -> bool {
        t.state == TicketState::Open && self.open_hours(t, now) >= self.config.operators.overdue_hours
    }

    /// Whether a ticket still waiting for an answer at `at` was overdue then (the same rule as
    /// [`is_overdue`](Self::is_overdue), at another instant: for trends).
    pub fn overdue_at(&self, t: &Ticket, at: DateTime<Utc>) -> bool {
        crate::duty::working_hours_between(self.config.duty.as_ref(), t.opened_at, at)
            >= self.config.operators.overdue_hours
    }

    /// Tickets in `state` (all without one), oldest first.
    pub fn list(&self, state: Option<TicketState>) -> anyhow::Result<Vec<Ticket>> {
        self.store.tickets(state)
    }

    /// The operators' queue: open tickets, overdue ones first, then oldest first.
    pub fn queue(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Ticket>> {
        let mut open = self.store.tickets(Some(TicketState::Open))?;
        open.sort_by_key(|t| !self.is_overdue(t, now));
        Ok(open)
    }

    pub fn ticket(&self, id: i64) -> Result<Ticket, TicketError> {
        self.store.ticket(id)?.ok_or(TicketError::NoSuchTicket(id))
    }

    /// Records an operator's answer; it reaches the person by the relay (Telegram) or the ticket
    /// page (web). `by` is who answered (`telegram:<user id>`, `web:<name>`, `cli:<name>`).
    pub fn answer(&self, id: i64, text: &str, by: &str) -> Result<Ticket, TicketError> {
        let t = self.store.answer_ticket(id, text, by)?;
        tracing::info!(ticket = %t.number(), by = ?by, "ticket answered");
        Ok(t)
    }

    /// Closes a ticket without an answer being relayed (duplicate, out of scope, answered elsewhere).
    pub fn close(&self, id: i64, reason: CloseReason) -> Result<Ticket, TicketError> {
        let t = self.store.close_ticket(id, reason, None)?;
        tracing::info!(ticket = %t.number(), reason = reason.as_str(), "ticket closed");
        Ok(t)
    }
}
