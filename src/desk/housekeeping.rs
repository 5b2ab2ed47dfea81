//! The desk's background work while `serve` runs: relay operators' answers (woken the moment an
//! answer is stored; every 30 s for answers stored by another process, such as `review answer`),
//! remind the operators once of overdue tickets, and turn choices nobody picked into tickets. One
//! failed send never stops the rest of a pass; a failed relay is retried a minute later.
//!
//! Several processes may run this over one store (#15): each piece of work is claimed in the store
//! before it is done — a relay and a set of unpicked choices are leased (a process that dies
//! mid-way leaves them to the others when the lease runs out), an overdue ticket is marked
//! announced as it is taken — so an answer is relayed once, an overdue ticket announced once and
//! unpicked choices become one ticket, whichever process gets there first.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use tracing::Instrument as _;

use super::{Channel, Chat, Desk, Notice};
use crate::tickets::{Ticket, TicketReason, TicketState};

/// How often overdue tickets and unpicked choices are looked for.
const TIMED_EVERY: Duration = Duration::from_secs(2);
/// How often answers stored by another process are looked for.
const RELAY_POLL: Duration = Duration::from_secs(30);
/// How long a relay that failed waits before this process tries it again (another process may
/// try it at once: its connection may be fine).
const RELAY_RETRY: Duration = Duration::from_secs(60);
/// How long a claimed relay or set of unpicked choices stays this process's: longer than a send.
const LEASE: Duration = Duration::from_secs(60);

/// Runs the background work until `shutdown` resolves.
pub async fn housekeeping(desk: Arc<Desk>, shutdown: impl Future<Output = ()>) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut timed = tokio::time::interval(TIMED_EVERY);
    let mut poll = tokio::time::interval(RELAY_POLL);
    for i in [&mut timed, &mut poll] {
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    // Tickets whose relay failed, and when.
    let mut failed: HashMap<i64, Instant> = HashMap::new();
    // Overdue tickets this process claimed but could not remind the operators of yet, and when.
    let mut unreminded: Vec<(Ticket, Instant)> = Vec::new();
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = desk.relays.notified() => relay_pass(&desk, &mut failed).await,
            _ = poll.tick() => relay_pass(&desk, &mut failed).await,
            _ = timed.tick() => {
                overdue_pass(&desk, &mut unreminded).await;
                unpicked_pass(&desk).await;
            }
        }
    }
}

/// Sends every answered ticket's answer to the person, on the channels the notifier reaches: each
/// claimed (leased) first, so no other process sends it too.
async fn relay_pass(desk: &Desk, failed: &mut HashMap<i64, Instant>) {
    failed.retain(|_, at| at.elapsed() < RELAY_RETRY);
    for channel in Channel::ALL.into_iter().filter(|c| desk.notifier.reaches(*c)) {
        let Some(claimed) = desk
            .store("claim answers to relay", move |st| {
                st.claim_relays(channel.as_str(), LEASE)
            })
            .await
        else {
            continue;
        };
        for t in claimed {
            if failed.contains_key(&t.id) {
                // This process failed on it within the minute: leave it to the others for now.
                release(desk, t.id).await;
                continue;
            }
            let span = tracing::info_span!("relay", ticket = %t.number(), chat = %t.chat);
            match desk.notifier.tell(Notice::Answer(&t)).instrument(span).await {
                Ok(()) => {
                    let id = t.id;
                    if desk
                        .store("mark a ticket relayed", move |st| st.mark_relayed(id))
                        .await
                        .is_some()
                    {
                        tracing::info!(ticket = %t.number(), "answer relayed");
                    }
                }
                Err(e) => {
                    tracing::warn!(ticket = %t.number(), error = %format!("{e:#}"), "could not relay the answer; will retry in a minute");
                    desk.metrics.relay_failed();
                    failed.insert(t.id, Instant::now());
                    release(desk, t.id).await;
                }
            }
        }
    }
}

/// Ends this process's lease on a relay it did not send.
async fn release(desk: &Desk, id: i64) {
    desk.store("release a relay", move |st| st.release_relay(id)).await;
}

/// Reminds the operators, once, of every open ticket past its working hours. The overdue tickets
/// are claimed in the store (marked announced as they are taken), so with several processes each
/// is announced by one; a reminder whose sending failed is retried by the process that claimed it.
async fn overdue_pass(desk: &Desk, unreminded: &mut Vec<(Ticket, Instant)>) {
    if !desk.notifier.reminds() {
        // Nobody would hear: nothing is claimed, so the tickets are reminded once someone can.
        return;
    }
    let now = Utc::now();
    let (mut due, later): (Vec<_>, Vec<_>) = std::mem::take(unreminded)
        .into_iter()
        .partition(|(_, failed)| failed.elapsed() >= RELAY_RETRY);
    *unreminded = later;
    if let Some(cutoff) = overdue_cutoff(desk, now).await
        && let Some(claimed) = desk
            .store("claim overdue tickets", move |st| st.claim_overdue(cutoff))
            .await
    {
        due.extend(claimed.into_iter().map(|t| (t, Instant::now())));
    }
    for (t, _) in due {
        let id = t.id;
        let state = desk
            .store("read a ticket", move |st| Ok(st.ticket(id)?.map(|t| t.state)))
            .await;
        if let Some(state) = state
            && state != Some(TicketState::Open)
        {
            // Answered, closed or purged since it was claimed: no reminder is owed.
            continue;
        }
        match desk.notifier.remind(&t, desk.cases.open_hours(&t, now)).await {
            Ok(true) => tracing::info!(ticket = %t.number(), "operators reminded of an overdue ticket"),
            Ok(false) => tracing::warn!(ticket = %t.number(), "no operator could be reminded of an overdue ticket"),
            Err(e) => {
                tracing::warn!(ticket = %t.number(), error = %format!("{e:#}"), "could not remind the operators of an overdue ticket; will retry in a minute");
                unreminded.push((t, Instant::now()));
            }
        }
    }
}

/// The instant before which every open ticket not yet announced is overdue now: just after the
/// latest such ticket that is. None when none is. (Overdue is by working hours, so a ticket opened
/// earlier than an overdue one is overdue too; the store claims by that instant.)
async fn overdue_cutoff(desk: &Desk, now: chrono::DateTime<Utc>) -> Option<chrono::DateTime<Utc>> {
    let waiting = desk
        .store("find overdue tickets", move |st| st.overdue_unannounced(now))
        .await?;
    waiting
        .iter()
        .filter(|t| desk.cases.is_overdue(t, now))
        .map(|t| t.opened_at)
        .max()
        .map(|latest| latest + chrono::Duration::milliseconds(1))
}

/// Choices nobody picked within `[operators] clarify_timeout_minutes` become tickets; the person
/// is told when the notifier reaches their chat. Each set is leased before its ticket opens and
/// linked to it after, so one set becomes one ticket; a set whose ticket could not be opened is
/// taken again when its lease runs out.
async fn unpicked_pass(desk: &Desk) {
    let timeout = chrono::Duration::minutes(desk.cases.config().operators.clarify_timeout_minutes.into());
    let cutoff = Utc::now() - timeout;
    let Some(stale) = desk
        .store("claim unpicked choices", move |st| {
            st.claim_stale_clarifies(cutoff, LEASE)
        })
        .await
    else {
        return;
    };
    for c in stale {
        let Some(channel) = Channel::parse(&c.channel) else {
            continue;
        };
        let chat = Chat::new(channel, c.chat.clone());
        let guesses = c.candidates.clone();
        let Some(ticket) = desk
            .open(
                &chat,
                &c.question,
                TicketReason::UnpickedClarify,
                guesses,
                c.question_id,
            )
            .await
        else {
            continue;
        };
        let (clarify, id) = (c.id, ticket.id);
        desk.store("link choices to their ticket", move |st| st.link_clarify(clarify, id))
            .await;
        tell_registered(desk, &ticket).await;
    }
}

async fn tell_registered(desk: &Desk, ticket: &Ticket) {
    let reaches = Channel::parse(&ticket.channel).is_some_and(|c| desk.notifier.reaches(c));
    if reaches && let Err(e) = desk.notifier.tell(Notice::Registered(ticket)).await {
        tracing::warn!(ticket = %ticket.number(), error = %format!("{e:#}"), "could not tell the person their question became a ticket");
    }
}
