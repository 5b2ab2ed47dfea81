//! How the desk tells people things it cannot say in a reply: a small interface the fronts that can
//! reach people on their own implement (Telegram does). A ticket opened on any channel is announced
//! through it; operators' answers and "your question became a ticket" reach a person through it.

use std::future::Future;
use std::pin::Pin;

use super::Channel;
use crate::tickets::Ticket;

/// A boxed future, so that the interface can be used as `dyn Notifier`.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

/// What the desk tells a person in their own chat.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    /// An operator answered their ticket.
    Answer(&'a Ticket),
    /// Their question (choices nobody picked) was registered as this ticket.
    Registered(&'a Ticket),
}

/// Whoever can reach operators and people outside a reply.
pub trait Notifier: Send + Sync {
    /// Tells the operators about a new ticket. Returns the notice's message id when replies to
    /// it answer the ticket.
    fn announce<'a>(&'a self, ticket: &'a Ticket) -> Pending<'a, Option<i64>>;
    /// Reminds the operators of an open ticket past its working hours. Returns whether anyone was
    /// reminded (a ticket is re-announced once, so nothing is marked when nobody heard).
    fn remind<'a>(&'a self, ticket: &'a Ticket, open_hours: f64) -> Pending<'a, bool>;
    /// Whether [`remind`](Self::remind) reaches any operator. When it does not, the desk leaves
    /// overdue tickets unclaimed (with several processes, claiming one marks it announced).
    fn reminds(&self) -> bool {
        true
    }
    /// Whether [`tell`](Self::tell) reaches the chats of `channel`.
    fn reaches(&self, channel: Channel) -> bool;
    /// Tells the person who asked `notice`'s ticket something, in their chat.
    fn tell<'a>(&'a self, notice: Notice<'a>) -> Pending<'a, ()>;
}

/// No one to tell (no Telegram configured): tickets wait in the console and the CLI, and a web
/// person reads their answer on the ticket page.
pub struct Silent;

impl Notifier for Silent {
    fn announce<'a>(&'a self, _: &'a Ticket) -> Pending<'a, Option<i64>> {
        Box::pin(async { Ok(None) })
    }

    fn remind<'a>(&'a self, _: &'a Ticket, _: f64) -> Pending<'a, bool> {
        Box::pin(async { Ok(false) })
    }

    fn reminds(&self) -> bool {
        false
    }

    fn reaches(&self, _: Channel) -> bool {
        false
    }

    fn tell<'a>(&'a self, _: Notice<'a>) -> Pending<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}
