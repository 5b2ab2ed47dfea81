//! The desk's background work while `serve` runs: relay operators' answers (woken the moment an
//! answer is stored; every 30 s for answers stored by another process, such as `review answer`),
//! remind the operators once of overdue tickets, and turn choices nobody picked into tickets. One
//! failed send never stops the rest of a pass; a failed relay is retried a minute later.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use tracing::Instrument as _;

use super::{Channel, Chat, Desk, Notice};
use crate::tickets::{Ticket, TicketReason};

/// How often overdue tickets and unpicked choices are looked for.
const TIMED_EVERY: Duration = Duration::from_secs(2);
/// How often answers stored by another process are looked for.
const RELAY_POLL: Duration = Duration::from_secs(30);
/// How long a relay that failed waits before the next attempt.
const RELAY_RETRY: Duration = Duration::from_secs(60);

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
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = desk.relays.notified() => relay_pass(&desk, &mut failed).await,
            _ = poll.tick() => relay_pass(&desk, &mut failed).await,
            _ = timed.tick() => {
                overdue_pass(&desk).await;
                unpicked_pass(&desk).await;
            }
        }
    }
}

/// Sends every answered ticket's answer to the person, on the channels the notifier reaches.
async fn relay_pass(desk: &Desk, failed: &mut HashMap<i64, Instant>) {
    failed.retain(|_, at| at.elapsed() < RELAY_RETRY);
    for channel in Channel::ALL.into_iter().filter(|c| desk.notifier.reaches(*c)) {
        let Some(pending) = desk
            .store("find answers to relay", move |st| st.pending_relays(channel.as_str()))
            .await
        else {
            continue;
        };
        let due: Vec<Ticket> = pending.into_iter().filter(|t| !failed.contains_key(&t.id)).collect();
        for t in due {
            let span = tracing::info_span!("relay", ticket = %t.number(), chat = %t.chat);
            match desk.notifier.tell(Notice::Answer(&t)).instrument(span).await {
                Ok(()) => {
                    let id = t.id;
                    if desk
                        .store("mark a ticket relayed", move |st| st.mark_relayed(id))
                        .await
                        .is_some()
                    {
                        tracing::info!("answer relayed");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "could not relay the answer; will retry in a minute");
                    desk.metrics.relay_failed();
                    failed.insert(t.id, Instant::now());
                }
            }
        }
    }
}

/// Reminds the operators, once, of every open ticket past its working hours.
async fn overdue_pass(desk: &Desk) {
    let now = Utc::now();
    let Some(waiting) = desk
        .store("find overdue tickets", move |st| st.overdue_unannounced(now))
        .await
    else {
        return;
    };
    for t in waiting.iter().filter(|t| desk.cases.is_overdue(t, now)) {
        match desk.notifier.remind(t, desk.cases.open_hours(t, now)).await {
            Ok(true) => {
                let id = t.id;
                desk.store("mark a ticket reminded", move |st| st.mark_overdue_announced(id))
                    .await;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(ticket = %t.number(), error = %format!("{e:#}"), "could not remind the operators of an overdue ticket")
            }
        }
    }
}

/// Choices nobody picked within `[operators] clarify_timeout_minutes` become tickets; the person
/// is told when the notifier reaches their chat.
async fn unpicked_pass(desk: &Desk) {
    let timeout = chrono::Duration::minutes(desk.cases.config().operators.clarify_timeout_minutes.into());
    let cutoff = Utc::now() - timeout;
    let Some(stale) = desk
        .store("find unpicked choices", move |st| st.stale_clarifies(cutoff))
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
