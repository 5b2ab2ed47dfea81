//! The records every store keeps: questions, tickets, choices, feedback, conversations, figures,
//! provenance and the audit trail.

use chrono::Utc;
use customs_bot::conversation::Conversation;
use customs_bot::tickets::*;

use super::{Backend, LONG_AGO, count, last, log, new_ticket, record};

conformance!(
    questions_are_logged_masked_and_tickets_numbered,
    feedback_is_recorded_once,
    feedback_from_another_chat_looks_unknown_and_changes_nothing,
    choices_offered_are_known_per_chat,
    purge_removes_old_rows_only,
    popular_entries_count_answers_and_picks_once_per_conversation_within_the_period,
    a_forgotten_conversation_is_gone_and_others_stay,
    a_conversation_expires_and_is_kept_masked,
    the_question_log_carries_feedback_unpicked_choices_and_the_latest_ticket,
    tickets_since_are_those_opened_since_or_not_closed_before,
    a_ticket_goes_from_open_to_answered_to_relayed,
    overdue_tickets_are_listed_until_announced,
    stats_count_the_period,
    a_logged_reply_is_kept_masked_with_where_it_came_from,
    the_questions_to_replay_are_distinct_most_asked_first_without_choices,
    the_audit_trail_lists_changes_by_entry_and_purge_covers_it,
);

fn questions_are_logged_masked_and_tickets_numbered(b: &Backend) {
    let qid = log(b, &record("手机13812345678，转关怎么办"));
    assert_eq!(last(b).question, "手机138****5678，转关怎么办");
    let t = b.store.open_ticket(&new_ticket("手机13812345678", Some(qid))).unwrap();
    assert_eq!(t.number(), format!("T{:06}", t.id));
    assert_eq!(t.access_key.len(), 32);
    let kept = b.store.ticket(t.id).unwrap().unwrap();
    assert_eq!(
        (kept.question.as_str(), kept.question_id),
        ("手机138****5678", Some(qid))
    );
    assert_eq!(kept, t);
    assert!(b.store.ticket(t.id + 1000).unwrap().is_none());
}

fn feedback_is_recorded_once(b: &Backend) {
    let qid = log(b, &record("转关"));
    let fb = |q, helpful| b.store.feedback(q, "telegram", "42", helpful).unwrap();
    assert!(
        matches!(fb(QuestionRef::Id(qid), false), Feedback::Recorded(id, Some(q)) if id == qid && q.question == "转关")
    );
    assert_eq!(fb(QuestionRef::Id(qid), false), Feedback::AlreadyRecorded);
    assert_eq!(fb(QuestionRef::Id(9999), true), Feedback::Unknown);
    let other = log(b, &record("滞报金"));
    assert_eq!(fb(QuestionRef::Id(other), true), Feedback::Recorded(other, None));
}

fn feedback_from_another_chat_looks_unknown_and_changes_nothing(b: &Backend) {
    let qid = log(b, &record("转关 13812345678"));
    let key = b.store.question_key(qid).unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(b.store.question_key(qid).unwrap(), key, "one key per question");
    assert!(b.store.question_key(qid + 1000).is_err());
    for (q, channel, chat) in [
        (QuestionRef::Id(qid), "telegram", "43"),
        (QuestionRef::Id(qid), "web", "42"),
        (QuestionRef::Key(&key), "telegram", "43"),
        (QuestionRef::Key("00000000000000000000000000000000"), "telegram", "42"),
    ] {
        assert_eq!(
            b.store.feedback(q, channel, chat, false).unwrap(),
            Feedback::Unknown,
            "{q:?} {chat}"
        );
    }
    assert!(matches!(
        b.store.feedback(QuestionRef::Key(&key), "telegram", "42", false).unwrap(),
        Feedback::Recorded(id, Some(_)) if id == qid
    ));
    assert_eq!(
        b.store.feedback(QuestionRef::Id(qid), "telegram", "42", true).unwrap(),
        Feedback::AlreadyRecorded
    );
}

fn choices_offered_are_known_per_chat(b: &Backend) {
    let candidates = [("permit-ata-a", "A"), ("permit-ata-b", "B")].map(|(id, title)| Guess {
        id: id.into(),
        title: title.into(),
    });
    let id = b.store.log_clarify("web", "web:aa", "ATA", &candidates, None).unwrap();
    assert!(b.store.clarify_offered("web", "web:aa", "permit-ata-b").unwrap());
    assert!(!b.store.clarify_offered("web", "web:bb", "permit-ata-b").unwrap());
    assert!(!b.store.clarify_offered("web", "web:aa", "proc-transit").unwrap());
    assert!(!b.store.clarify_offered("telegram", "web:aa", "permit-ata-a").unwrap());
    let later = Utc::now() + chrono::Duration::minutes(1);
    let stale = b.store.stale_clarifies(later).unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(
        (stale[0].id, stale[0].channel.as_str(), stale[0].candidates.as_slice()),
        (id, "web", &candidates[..])
    );
    let earlier = Utc::now() - chrono::Duration::minutes(1);
    assert!(b.store.stale_clarifies(earlier).unwrap().is_empty());
    // Linked to a ticket, or picked: no longer stale.
    let t = b.store.open_ticket(&new_ticket("ATA", None)).unwrap();
    b.store.link_clarify(id, t.id).unwrap();
    assert!(b.store.stale_clarifies(later).unwrap().is_empty());
    b.store.log_clarify("web", "web:cc", "ATA", &candidates, None).unwrap();
    b.store.clarify_picked("web", "web:cc").unwrap();
    assert!(b.store.stale_clarifies(later).unwrap().is_empty());
}

fn purge_removes_old_rows_only(b: &Backend) {
    log(b, &record("新问题"));
    (b.exec)(&format!(
        "INSERT INTO questions (at, channel, chat, question, decision, confidence, latency_ms) \
         VALUES ('{LONG_AGO}', 't', '1', '旧', 'answer', 1, 1)"
    ));
    assert_eq!(b.store.purge(30).unwrap(), 1);
    assert_eq!(count(b), 1);
}

fn popular_entries_count_answers_and_picks_once_per_conversation_within_the_period(b: &Backend) {
    let q = |chat: &str, decision: &str, entry: Option<&str>| QuestionRecord {
        channel: "web".into(),
        chat: chat.into(),
        question: "问题".into(),
        decision: decision.into(),
        entry: entry.map(str::to_string),
        confidence: 1.0,
        latency_ms: 1.0,
        provenance: None,
    };
    for (chat, decision, entry) in [
        ("1", "answer", Some("proc-a")),
        ("1", "answer", Some("proc-a")),
        ("2", "answer", Some("proc-a")),
        ("3", "answer", Some("proc-a")),
        ("1", "answer", Some("proc-b")),
        ("4", "answer", Some("proc-b")),
        ("5", "handoff", Some("proc-c")),
        ("6", "handoff", Some("proc-c")),
        ("7", "handoff", Some("proc-c")),
        ("8", "clarify", None),
        ("9", "smalltalk", None),
    ] {
        log(b, &q(chat, decision, entry));
    }
    (b.exec)(&format!(
        "INSERT INTO questions (at, channel, chat, question, decision, entry, confidence, latency_ms) \
         VALUES ('{LONG_AGO}', 'web', 'x', '旧', 'answer', 'proc-old', 1, 1)"
    ));
    let since = Utc::now() - chrono::Duration::days(7);
    assert_eq!(
        b.store.popular_entries(since, 10).unwrap(),
        [("proc-a".to_string(), 3), ("proc-b".to_string(), 2)]
    );
    assert_eq!(b.store.popular_entries(since, 1).unwrap().len(), 1);
    log(
        b,
        &QuestionRecord {
            channel: "telegram".into(),
            ..q("1", "answer", Some("proc-b"))
        },
    );
    assert_eq!(b.store.popular_entries(since, 1).unwrap(), [("proc-a".to_string(), 3)]);
    assert_eq!(b.store.popular_entries(since, 2).unwrap()[1], ("proc-b".to_string(), 3));
}

fn talk() -> Conversation {
    Conversation {
        topic: Some("proc-a".into()),
        last_question: Some("转关怎么办 13812345678".into()),
        offered: Vec::new(),
    }
}

fn a_forgotten_conversation_is_gone_and_others_stay(b: &Backend) {
    b.store.save_conversation("web", "a", &talk()).unwrap();
    b.store.save_conversation("web", "b", &talk()).unwrap();
    let since = Utc::now() - chrono::Duration::minutes(30);
    b.store.forget_conversation("web", "a").unwrap();
    assert_eq!(b.store.conversation("web", "a", since).unwrap(), None);
    assert!(b.store.conversation("web", "b", since).unwrap().is_some());
    b.store.forget_conversation("web", "nobody").unwrap();
}

fn a_conversation_expires_and_is_kept_masked(b: &Backend) {
    b.store.save_conversation("telegram", "7", &talk()).unwrap();
    let since = Utc::now() - chrono::Duration::minutes(30);
    let kept = b.store.conversation("telegram", "7", since).unwrap().unwrap();
    assert_eq!(kept.last_question.as_deref(), Some("转关怎么办 138****5678"));
    assert_eq!(kept.topic.as_deref(), Some("proc-a"));
    // Saved again: replaced, not added.
    let next = Conversation {
        topic: Some("proc-b".into()),
        ..talk()
    };
    b.store.save_conversation("telegram", "7", &next).unwrap();
    assert_eq!(
        b.store
            .conversation("telegram", "7", since)
            .unwrap()
            .unwrap()
            .topic
            .as_deref(),
        Some("proc-b")
    );
    assert_eq!(b.store.conversation("web", "7", since).unwrap(), None, "per channel");
    let future = Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(b.store.conversation("telegram", "7", future).unwrap(), None, "expired");
}

fn the_question_log_carries_feedback_unpicked_choices_and_the_latest_ticket(b: &Backend) {
    let since = Utc::now() - chrono::Duration::minutes(1);
    let answered = log(b, &record("滞报金怎么算 13812345678"));
    let mut clarify = record("ATA单证册手续");
    clarify.decision = "clarify".into();
    clarify.entry = None;
    let clarified = log(b, &clarify);
    let offered = [Guess {
        id: "permit-ata-a".into(),
        title: "ATA单证册报关".into(),
    }];
    b.store
        .log_clarify("telegram", "42", "ATA单证册手续", &offered, Some(clarified))
        .unwrap();
    b.store
        .feedback(QuestionRef::Id(answered), "telegram", "42", false)
        .unwrap();
    let guesses = [Guess {
        id: "proc-transit".into(),
        title: "转关".into(),
    }];
    let t = b
        .store
        .open_ticket(&NewTicket {
            reason: TicketReason::NotHelpful,
            guesses: &guesses,
            ..new_ticket("滞报金怎么算", Some(answered))
        })
        .unwrap();
    b.store.answer_ticket(t.id, "按日加收万分之五。", "web:wang").unwrap();

    let got = b.store.question_log(since).unwrap();
    assert_eq!(got.len(), 2);
    let (a, c) = (&got[0], &got[1]);
    assert_eq!((a.id, a.helpful), (answered, Some(false)));
    assert!(a.question.contains("138****5678"), "masked: {}", a.question);
    let link = a.ticket.as_ref().unwrap();
    assert_eq!(
        (link.id, link.reason, link.answer.as_deref()),
        (t.id, TicketReason::NotHelpful, Some("按日加收万分之五。"))
    );
    assert_eq!(link.guesses[0].id, "proc-transit");
    assert_eq!(
        (c.helpful, c.unpicked.clone(), c.ticket.clone()),
        (None, offered.to_vec(), None)
    );
    b.store.clarify_picked("telegram", "42").unwrap();
    assert!(b.store.question_log(since).unwrap()[1].unpicked.is_empty());
    assert!(
        b.store
            .question_log(Utc::now() + chrono::Duration::minutes(1))
            .unwrap()
            .is_empty()
    );
}

fn tickets_since_are_those_opened_since_or_not_closed_before(b: &Backend) {
    let old_open = b.store.open_ticket(&new_ticket("一", None)).unwrap();
    let old_closed = b.store.open_ticket(&new_ticket("二", None)).unwrap();
    b.store
        .close_ticket(old_closed.id, CloseReason::Duplicate, None)
        .unwrap();
    let then = (Utc::now() - chrono::Duration::days(40)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    (b.exec)(&format!("UPDATE tickets SET opened_at = '{then}'"));
    (b.exec)(&format!(
        "UPDATE tickets SET closed_at = '{then}' WHERE closed_at IS NOT NULL"
    ));
    let recent = b.store.open_ticket(&new_ticket("三", None)).unwrap();
    let ids: Vec<i64> = b
        .store
        .tickets_since(Utc::now() - chrono::Duration::days(30))
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec![old_open.id, recent.id]);
}

fn a_ticket_goes_from_open_to_answered_to_relayed(b: &Backend) {
    let t = b.store.open_ticket(&new_ticket("转关", None)).unwrap();
    assert_eq!(t.state, TicketState::Open);
    assert!(matches!(
        b.store.answer_ticket(t.id, "  ", "web:wang"),
        Err(TicketError::EmptyAnswer)
    ));
    assert!(matches!(
        b.store.answer_ticket(t.id + 1000, "答", "web:wang"),
        Err(TicketError::NoSuchTicket(_))
    ));
    let answered = b.store.answer_ticket(t.id, "请致电 13812345678 ", "web:wang").unwrap();
    assert_eq!(answered.state, TicketState::Answered);
    assert_eq!(answered.answer.as_deref(), Some("请致电 138****5678"));
    assert_eq!(answered.answered_by.as_deref(), Some("web:wang"));
    assert!(answered.answered_at.is_some());
    assert_eq!(
        b.store.tickets(Some(TicketState::Answered)).unwrap(),
        std::slice::from_ref(&answered)
    );
    assert!(b.store.pending_relays("web").unwrap().is_empty());
    assert_eq!(b.store.pending_relays("telegram").unwrap(), [answered]);
    b.store.set_notice(t.id, 777).unwrap();
    assert_eq!(b.store.ticket_by_notice(777).unwrap().unwrap().id, t.id);
    assert!(b.store.ticket_by_notice(778).unwrap().is_none());
    b.store.mark_relayed(t.id).unwrap();
    let closed = b.store.ticket(t.id).unwrap().unwrap();
    assert_eq!(
        (closed.state, closed.close_reason),
        (TicketState::Closed, Some(CloseReason::Relayed))
    );
    assert!(closed.relayed_at.is_some() && closed.closed_at.is_some());
    assert!(b.store.pending_relays("telegram").unwrap().is_empty());
    assert!(matches!(
        b.store.answer_ticket(t.id, "再答", "web:wang"),
        Err(TicketError::AlreadyClosed(_))
    ));
    let other = b.store.open_ticket(&new_ticket("归类", None)).unwrap();
    let promoted = b
        .store
        .close_ticket(other.id, CloseReason::Promoted, Some("class-new"))
        .unwrap();
    assert_eq!(promoted.promoted_to.as_deref(), Some("class-new"));
    assert!(matches!(
        b.store.close_ticket(other.id + 1000, CloseReason::Duplicate, None),
        Err(TicketError::NoSuchTicket(_))
    ));
    assert_eq!(b.store.tickets(None).unwrap().len(), 2);
    assert!(b.store.tickets(Some(TicketState::Open)).unwrap().is_empty());
}

fn overdue_tickets_are_listed_until_announced(b: &Backend) {
    let t = b.store.open_ticket(&new_ticket("转关", None)).unwrap();
    let later = Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(b.store.overdue_unannounced(later).unwrap().len(), 1);
    assert!(b.store.overdue_unannounced(t.opened_at).unwrap().is_empty());
    b.store.mark_overdue_announced(t.id).unwrap();
    assert!(b.store.overdue_unannounced(later).unwrap().is_empty());
    assert!(b.store.ticket(t.id).unwrap().unwrap().overdue_announced);
}

fn stats_count_the_period(b: &Backend) {
    let q = |decision: &str, entry: Option<&str>, question: &str| QuestionRecord {
        decision: decision.into(),
        entry: entry.map(str::to_string),
        ..record(question)
    };
    let a = log(b, &q("answer", Some("proc-a"), "甲"));
    log(b, &q("answer", Some("proc-a"), "乙"));
    log(b, &q("answer", Some("proc-b"), "丙"));
    log(b, &q("handoff", None, "难题"));
    log(b, &q("handoff", None, "难题"));
    log(b, &q("clarify", None, "ATA"));
    log(b, &q("smalltalk", None, "你好"));
    b.store.feedback(QuestionRef::Id(a), "telegram", "42", true).unwrap();
    let t = b.store.open_ticket(&new_ticket("难题", None)).unwrap();
    b.store.open_ticket(&new_ticket("难题", None)).unwrap();
    b.store.answer_ticket(t.id, "答", "web:wang").unwrap();
    let s = b.store.stats(7).unwrap();
    assert_eq!(
        (s.questions, s.answered, s.handed_off, s.clarified, s.smalltalk),
        (7, 3, 2, 1, 1)
    );
    assert_eq!(
        (s.tickets_opened, s.tickets_open, s.helpful, s.not_helpful),
        (2, 1, 1, 0)
    );
    assert_eq!(s.top_entries, [("proc-a".to_string(), 2), ("proc-b".to_string(), 1)]);
    assert_eq!(s.top_unanswered, [("难题".to_string(), 2)]);
    let median = s.median_minutes_to_answer.unwrap();
    assert!((0.0..1.0).contains(&median), "{median}");
}

fn asked(b: &Backend, q: &str, provenance: Option<Box<Provenance>>) -> i64 {
    log(
        b,
        &QuestionRecord {
            provenance,
            ..record(q)
        },
    )
}

fn provenance(reply: &str) -> Provenance {
    Provenance {
        generation: "gen-1".into(),
        reply: reply.into(),
        entries: vec![EntryVersion {
            id: "proc-transit".into(),
            updated: "2026-11-26".into(),
            hash: "0123456789abcdef".into(),
        }],
    }
}

fn a_logged_reply_is_kept_masked_with_where_it_came_from(b: &Backend) {
    let id = asked(
        b,
        "转关 13912345678",
        Some(Box::new(provenance("您问「转关 13912345678」：转关答复。"))),
    );
    let old = asked(b, "旧问题", None);
    let told = b.store.question_told(id).unwrap().unwrap();
    assert_eq!(told.question, "转关 139****5678");
    let p = told.provenance.unwrap();
    assert_eq!(p.reply, "您问「转关 139****5678」：转关答复。");
    assert_eq!((p.generation.as_str(), p.entries.len()), ("gen-1", 1));
    assert_eq!(p.entries[0].hash, "0123456789abcdef");
    assert!(b.store.question_told(old).unwrap().unwrap().provenance.is_none());
    assert!(b.store.question_told(id + 1000).unwrap().is_none());
    let t = b.store.open_ticket(&new_ticket("转关", Some(id))).unwrap();
    b.store.answer_ticket(t.id, "请走转关申报。", "web:wang").unwrap();
    let told = b.store.question_told(id).unwrap().unwrap();
    assert_eq!(told.operator_answers.len(), 1);
    assert_eq!(
        (
            told.operator_answers[0].answer.as_str(),
            told.operator_answers[0].by.as_str()
        ),
        ("请走转关申报。", "web:wang")
    );
}

fn the_questions_to_replay_are_distinct_most_asked_first_without_choices(b: &Backend) {
    for q in [
        "转关怎么办",
        "滞报金",
        "转关怎么办",
        "[选择] 跨关区转关",
        "滞报金",
        "转关怎么办",
    ] {
        asked(b, q, None);
    }
    assert_eq!(b.store.asked_questions(30, 10).unwrap(), ["转关怎么办", "滞报金"]);
    assert_eq!(b.store.asked_questions(30, 1).unwrap(), ["转关怎么办"]);
    (b.exec)(&format!(
        "UPDATE questions SET at = '{LONG_AGO}' WHERE question = '滞报金'"
    ));
    assert_eq!(b.store.asked_questions(30, 10).unwrap(), ["转关怎么办"]);
}

fn the_audit_trail_lists_changes_by_entry_and_purge_covers_it(b: &Backend) {
    let change = |who: &str, changed: &[&str], gate: &str| KnowledgeChange {
        who: who.into(),
        action: "reindex".into(),
        fingerprint_before: Some("aa".into()),
        fingerprint_after: "bb".into(),
        changed: changed.iter().map(|s| s.to_string()).collect(),
        outside: changed.iter().map(|s| s.to_string()).collect(),
        gate: gate.into(),
        detail: "report".into(),
        ..Default::default()
    };
    b.store
        .record_change(&change("cli:wang", &["proc-transit"], "refused"))
        .unwrap();
    b.store
        .record_change(&change("cli:wang", &["proc-transit"], "accepted"))
        .unwrap();
    b.store
        .record_change(&change("web:li", &["proc-transit-old"], "passed"))
        .unwrap();
    let all = b.store.changes(None, 10).unwrap();
    assert_eq!(
        all.iter().map(|c| c.gate.as_str()).collect::<Vec<_>>(),
        ["passed", "accepted", "refused"]
    );
    assert!(all[0].at.is_some());
    let one = b.store.changes(Some("proc-transit"), 10).unwrap();
    assert_eq!(one.len(), 2);
    assert_eq!(
        (one[0].who.as_str(), one[0].outside.clone()),
        ("cli:wang", vec!["proc-transit".to_string()])
    );
    assert_eq!(b.store.changes(None, 1).unwrap().len(), 1);
    (b.exec)(&format!(
        "UPDATE knowledge_changes SET at = '{LONG_AGO}' WHERE gate = 'refused'"
    ));
    b.store.purge(30).unwrap();
    assert_eq!(b.store.changes(None, 10).unwrap().len(), 2);
}
