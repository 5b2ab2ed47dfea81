//! Insight over hand-built question logs: gaps grouped and ranked, helpfulness counted, trends per
//! day.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::duty::OfficeClock;
use crate::tickets::{Guess, LoggedQuestion, Ticket, TicketLink, TicketReason, TicketState};

fn analyzer() -> Analyzer {
    Analyzer::new(
        "跨境电商 2000 n\n滞报金 2000 n\n知识产权 2000 n\n知产 2000 n\n",
        &[vec!["知识产权".into(), "知产".into()]],
        &["怎么".into(), "请问".into(), "吗".into(), "的".into(), "了".into()],
        &[],
    )
    .unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 6, 0, 0).unwrap()
}

/// A logged question `days_ago` days (and `minutes` later) before now.
fn q(id: i64, days_ago: i64, chat: &str, question: &str, decision: &str) -> LoggedQuestion {
    LoggedQuestion {
        id,
        at: now() - Duration::days(days_ago) + Duration::minutes(id),
        channel: "telegram".into(),
        chat: chat.into(),
        question: question.into(),
        decision: decision.into(),
        entry: None,
        helpful: None,
        unpicked: Vec::new(),
        ticket: None,
    }
}

fn ticketed(mut q: LoggedQuestion, id: i64, reason: TicketReason, answer: Option<&str>) -> LoggedQuestion {
    q.ticket = Some(TicketLink {
        id,
        reason,
        guesses: vec![Guess {
            id: "faq-guess".into(),
            title: "猜的条目".into(),
        }],
        answer: answer.map(str::to_string),
    });
    q
}

/// A log with known clusters: 跨境电商退货 (three people, two this week), 知识产权备案 asked with
/// the synonym 知产 (two people), 滞报金减免 (one person twice), and questions that are no gap.
fn log() -> Vec<LoggedQuestion> {
    let mut v = vec![
        ticketed(
            q(1, 10, "a", "跨境电商怎么退货", "handoff"),
            1,
            TicketReason::Handoff,
            None,
        ),
        ticketed(
            q(2, 3, "b", "请问跨境电商退货", "handoff"),
            2,
            TicketReason::Handoff,
            Some("退货请按跨境电商零售进口退货的规定办理。"),
        ),
        ticketed(
            q(3, 1, "c", "跨境电商退货流程", "handoff"),
            3,
            TicketReason::Handoff,
            None,
        ),
        ticketed(q(4, 2, "d", "知产备案", "handoff"), 4, TicketReason::Specific, None),
        ticketed(q(5, 2, "e", "知识产权备案", "handoff"), 5, TicketReason::Handoff, None),
        q(6, 4, "f", "滞报金减免", "handoff"),
        q(7, 4, "f", "滞报金减免吗", "handoff"),
        // No gaps: answered and helpful, small talk, a request for a person, a failure inside.
        q(8, 1, "g", "转关怎么办理", "answer"),
        q(9, 1, "g", "你好", "smalltalk"),
        ticketed(q(10, 1, "h", "跨境电商退货", "handoff"), 10, TicketReason::Asked, None),
        ticketed(
            q(11, 1, "i", "跨境电商退货", "handoff"),
            11,
            TicketReason::Internal,
            None,
        ),
    ];
    v[7].entry = Some("proc-transit".into());
    v[7].helpful = Some(true);
    v
}

#[test]
fn content_words_fold_synonyms_and_drop_function_words() {
    let a = analyzer();
    assert_eq!(
        gaps::content_words(&a, "知产备案"),
        gaps::content_words(&a, "知识产权备案")
    );
    assert_eq!(
        gaps::content_words(&a, "請問跨境電商怎麼退貨"),
        gaps::content_words(&a, "跨境电商退货")
    );
    assert!(gaps::content_words(&a, "怎么").is_empty());
}

#[test]
fn gaps_group_the_known_clusters_and_rank_them_by_people() {
    let a = analyzer();
    let found = gaps::find(&log(), &a, now() - Duration::days(30), now());
    let summary: Vec<(Vec<i64>, usize, usize, usize)> = found
        .iter()
        .map(|g| {
            let mut ids: Vec<i64> = g.questions.iter().map(|q| q.id).collect();
            ids.sort();
            (ids, g.people, g.this_week, g.last_week)
        })
        .collect();
    assert_eq!(
        summary,
        vec![(vec![1, 2, 3], 3, 2, 1), (vec![4, 5], 2, 2, 0), (vec![6, 7], 1, 1, 0),]
    );
    let top = &found[0];
    assert_eq!(top.key, "g1");
    assert!(top.words.contains(&"跨境电商".to_string()), "{:?}", top.words);
    assert_eq!(top.answers, vec!["退货请按跨境电商零售进口退货的规定办理。"]);
    assert_eq!(top.guesses[0].0.id, "faq-guess");
    assert_eq!(top.guesses[0].1, 3);
    assert_eq!(top.questions[0].id, 3, "newest first");
    assert_eq!(
        found[1].questions.iter().find(|q| q.id == 4).unwrap().why,
        Why::Referred
    );
    // A shorter period keeps only gaps asked in it, and counts people in it.
    let recent = gaps::find(&log(), &a, now() - Duration::days(2), now());
    let keys: Vec<(&str, usize)> = recent.iter().map(|g| (g.key.as_str(), g.people)).collect();
    assert_eq!(keys, vec![("g4", 2), ("g1", 1)]);
}

#[test]
fn a_short_question_does_not_chain_two_gaps_together() {
    let a = analyzer();
    let log = vec![
        q(1, 1, "a", "滞报金减免", "handoff"),
        q(2, 1, "b", "滞报金减免", "handoff"),
        q(3, 1, "c", "滞报金计算", "handoff"),
        q(4, 1, "d", "滞报金计算", "handoff"),
        q(5, 1, "e", "滞报金", "handoff"),
    ];
    let found = gaps::find(&log, &a, now() - Duration::days(7), now());
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].questions.len() + found[1].questions.len(), 5);
}

#[test]
fn not_helpful_and_unpicked_choices_are_gaps_with_their_guesses() {
    let a = analyzer();
    let mut nh = q(1, 1, "a", "滞报金减免", "answer");
    nh.entry = Some("proc-late-fee".into());
    nh.helpful = Some(false);
    let mut un = q(2, 1, "b", "滞报金减免", "clarify");
    un.unpicked = vec![Guess {
        id: "proc-x".into(),
        title: "X".into(),
    }];
    let found = gaps::find(&[nh, un], &a, now() - Duration::days(7), now());
    assert_eq!(found.len(), 1);
    let whys: Vec<Why> = found[0].questions.iter().map(|q| q.why).collect();
    assert_eq!(whys, vec![Why::Unpicked, Why::NotHelpful]);
    let ids: Vec<&str> = found[0].guesses.iter().map(|(g, _)| g.id.as_str()).collect();
    assert_eq!(ids, vec!["proc-late-fee", "proc-x"]);
}

fn ticket(id: i64, chat: &str, reason: TicketReason, opened: DateTime<Utc>) -> Ticket {
    Ticket {
        id,
        opened_at: opened,
        channel: "telegram".into(),
        chat: chat.into(),
        question: "（用户请求人工服务）".into(),
        reason,
        guesses: Vec::new(),
        question_id: None,
        state: TicketState::Open,
        answer: None,
        answered_by: None,
        answered_at: None,
        relayed_at: None,
        closed_at: None,
        close_reason: None,
        promoted_to: None,
        notice_message_id: None,
        overdue_announced: false,
        access_key: String::new(),
    }
}

#[test]
fn helpfulness_counts_feedback_follow_ups_and_hand_offs_right_after() {
    let answered = |id, chat: &str, entry: &str, helpful| {
        let mut x = q(id, 1, chat, "滞报金怎么算", "answer");
        x.entry = Some(entry.into());
        x.helpful = helpful;
        x
    };
    let mut log = vec![
        // a: answered, 有帮助, nothing after.
        answered(1, "a", "proc-fee", Some(true)),
        // b: answered, then a follow-up 2 minutes later.
        answered(2, "b", "proc-fee", None),
        q(4, 1, "b", "那要多久", "answer"),
        // c: answered, 没帮助, then a hand-off right after.
        answered(10, "c", "proc-fee", Some(false)),
        q(12, 1, "c", "我的货怎么办", "handoff"),
        // d: answered, then /human (a ticket, no question) before anything else.
        answered(20, "d", "proc-transit", None),
        // e: answered; the next question comes after the idle window: not "right after".
        answered(30, "e", "proc-transit", Some(true)),
    ];
    log[2].entry = Some("proc-fee".into());
    let mut late = q(30, 1, "e", "还有问题", "handoff");
    late.at += Duration::minutes(45);
    log.push(late);
    let d_at = log[5].at;
    let tickets = vec![ticket(1, "d", TicketReason::Asked, d_at + Duration::minutes(1))];
    let rows = helpfulness::per_entry(&log, &tickets, Duration::minutes(30));
    let got: Vec<(&str, usize, usize, usize, usize, usize)> = rows
        .iter()
        .map(|e| {
            (
                e.entry.as_str(),
                e.answered,
                e.helpful,
                e.not_helpful,
                e.followed_up,
                e.handed_off_after,
            )
        })
        .collect();
    // proc-transit: 1 of 2 unsatisfied (50%); proc-fee: 1 of 4 (the follow-up 那要多久 was itself
    // answered with proc-fee, so it counts as an answer too).
    assert_eq!(got, vec![("proc-transit", 2, 1, 0, 0, 1), ("proc-fee", 4, 1, 1, 1, 1)]);
    let fee = &rows[1];
    assert_eq!(fee.questions[0].question, "滞报金怎么算");
    assert_eq!((fee.questions[0].times, fee.questions[0].unsatisfied), (3, 1));
}

#[test]
fn trends_count_per_day_and_channel_with_overdue_and_median() {
    let clock = OfficeClock::CHINA;
    let now = now(); // 14:00 in the office on 2026-11-29
    let mut log = vec![
        q(1, 1, "a", "转关怎么办理", "answer"),
        q(2, 1, "a", "我的货到哪了", "handoff"),
        q(3, 0, "b", "ATA", "clarify"),
        q(4, 0, "b", "你好", "smalltalk"),
    ];
    log[1] = ticketed(log[1].clone(), 1, TicketReason::Specific, None);
    log[3].channel = "web".into();
    let yesterday = now - Duration::days(1);
    let mut answered = ticket(1, "a", TicketReason::Specific, yesterday);
    answered.answered_at = Some(yesterday + Duration::minutes(30));
    answered.closed_at = Some(now - Duration::hours(1));
    let mut t2 = ticket(2, "b", TicketReason::Handoff, yesterday);
    t2.answered_at = Some(yesterday + Duration::minutes(90));
    let waiting = ticket(3, "b", TicketReason::Handoff, now - Duration::days(2));
    let tickets = vec![answered, t2, waiting];
    let period = trends::Period {
        clock,
        from: clock.local(now).date_naive() - Duration::days(2),
        to: clock.local(now).date_naive(),
        now,
    };
    // Overdue after 20 hours.
    let rule = |t: &Ticket, at: DateTime<Utc>| at - t.opened_at >= Duration::hours(20);
    let rows = trends::per_day(&log, &tickets, &period, &rule);
    let all: Vec<&Day> = rows.iter().filter(|d| d.channel == trends::ALL).collect();
    assert_eq!(all.len(), 3);
    let (d0, d1, d2) = (all[0], all[1], all[2]);
    assert_eq!((d0.questions, d0.tickets_opened, d0.overdue), (0, 1, 0));
    assert_eq!(
        (d1.questions, d1.answered, d1.referred, d1.handed_off, d1.tickets_opened),
        (2, 1, 1, 0, 2)
    );
    assert_eq!(d1.median_minutes_to_answer, Some(60.0));
    assert_eq!(d1.overdue, 1, "the ticket opened two days ago, still waiting");
    assert_eq!(
        (d2.questions, d2.clarified, d2.smalltalk, d2.tickets_closed, d2.overdue),
        (2, 1, 1, 1, 1)
    );
    let web: Vec<&Day> = rows.iter().filter(|d| d.channel == "web").collect();
    assert_eq!(web.iter().map(|d| d.questions).sum::<usize>(), 1);
    let csv = trends::csv(&rows).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("date,channel,questions,answered"));
    assert_eq!(lines.count(), rows.len());
    assert!(csv.contains("2026-11-28,all,2,1,0,0,1,0,2,0,60.0,1"), "{csv}");
}

#[test]
fn a_chosen_entry_is_about_its_title_but_never_a_question_to_add() {
    let a = analyzer();
    let mut picked = q(1, 1, "a", "[选择] 滞报金减免", "answer");
    picked.entry = Some("proc-fee".into());
    picked.helpful = Some(false);
    let found = gaps::find(
        &[picked, q(2, 1, "b", "滞报金减免", "handoff")],
        &a,
        now() - Duration::days(7),
        now(),
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].questions.len(), 2);
    assert_eq!(found[0].distinct_questions(), vec!["滞报金减免"]);
}
