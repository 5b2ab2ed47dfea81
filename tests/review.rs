//! `customs-bot review` and `customs-bot stats` on a ticket store seeded through the library.

use customs_bot::tickets::{Guess, NewTicket, QuestionRecord, SqliteStore, TicketReason, TicketStore};

use crate::support::{run, stderr, stdout, valid_site};

fn seed(site: &tempfile::TempDir) -> SqliteStore {
    let store = SqliteStore::open(&site.path().join("data/customs-bot.sqlite")).unwrap();
    for (q, decision, entry) in [
        ("转关怎么办", "answer", Some("proc-transit")),
        ("货物超期申报罚多少", "handoff", None),
        ("电话13812345678能打吗", "handoff", None),
    ] {
        let qid = store
            .record_question(&QuestionRecord {
                channel: "telegram".into(),
                chat: "42".into(),
                question: q.into(),
                decision: decision.into(),
                entry: entry.map(str::to_string),
                confidence: 0.5,
                latency_ms: 0.4,
                provenance: None,
            })
            .unwrap()
            .id();
        if decision == "handoff" {
            store
                .open_ticket(&NewTicket {
                    channel: "telegram",
                    chat: "42",
                    question: q,
                    reason: TicketReason::Handoff,
                    guesses: &[Guess {
                        id: "proc-late-fee".into(),
                        title: "滞报金".into(),
                    }],
                    question_id: qid,
                })
                .unwrap();
        }
    }
    store
}

fn cfg(site: &tempfile::TempDir) -> String {
    site.path().join("bot.toml").display().to_string()
}

#[test]
fn list_show_answer_close_and_export() {
    let site = valid_site();
    let store = seed(&site);
    let c = cfg(&site);
    let out = run(&["--config", &c, "review", "list", "--state", "open"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = stdout(&out);
    let first = list.find("T000001").unwrap();
    let second = list.find("T000002").unwrap();
    assert!(first < second, "oldest first: {list}");
    assert!(list.contains("电话138****5678能打吗"), "masked: {list}");
    assert!(list.ends_with("2 ticket(s)\n"));

    let out = run(&["--config", &c, "review", "show", "T000001"], None);
    let show = stdout(&out);
    assert!(
        show.contains("问题：货物超期申报罚多少") && show.contains("机器人的猜测：滞报金"),
        "{show}"
    );

    let out = run(
        &[
            "--config",
            &c,
            "review",
            "answer",
            "T000001",
            "按日征收滞报金。",
            "--by",
            "王科长",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let t = store.ticket(1).unwrap().unwrap();
    assert_eq!(
        (t.state.as_str(), t.answer.as_deref(), t.answered_by.as_deref()),
        ("answered", Some("按日征收滞报金。"), Some("王科长"))
    );
    assert_eq!(
        store.pending_relays("telegram").unwrap().len(),
        1,
        "waiting for the running bot to relay it"
    );

    let out = run(
        &["--config", &c, "review", "close", "2", "--reason", "out-of-scope"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        store.ticket(2).unwrap().unwrap().close_reason.map(|r| r.as_str()),
        Some("out_of_scope")
    );

    let out = run(&["--config", &c, "review", "list", "--json"], None);
    let rows: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["number"], "T000001");

    let out = run(&["--config", &c, "review", "export", "--format", "csv"], None);
    let csv = stdout(&out);
    assert!(
        csv.starts_with("number,opened_at,channel,chat,reason,state,question,answer"),
        "{csv}"
    );
    assert!(
        csv.contains("138****5678") && !csv.contains("13812345678"),
        "masked export: {csv}"
    );

    let out = run(&["--config", &c, "review", "show", "T000999"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("there is no ticket"), "{}", stderr(&out));
}

/// The ticket's opening time as `review` should show it at an office `hours` east of UTC: to the
/// minute for people, RFC 3339 with the offset for machines.
fn opened_at_office(store: &SqliteStore, hours: i32) -> (String, String, String) {
    let utc = store.ticket(1).unwrap().unwrap().opened_at;
    let office = utc.with_timezone(&chrono::FixedOffset::east_opt(hours * 3600).unwrap());
    (
        office.format("%Y-%m-%d %H:%M").to_string(),
        office.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        utc.format("%Y-%m-%d %H:%M").to_string(),
    )
}

#[test]
fn review_shows_times_in_office_time() {
    let site = valid_site();
    let store = seed(&site);
    let c = cfg(&site);
    // Without [duty] the office is in China (UTC+8).
    let (minute, _, utc_minute) = opened_at_office(&store, 8);
    let list = stdout(&run(&["--config", &c, "review", "list"], None));
    assert!(list.contains(&format!("T000001 open     {minute} ")), "{list}");
    assert!(!list.contains(&utc_minute), "{list}");

    // An office five hours behind UTC, as `[duty] utc_offset_hours` says.
    let toml = site.path().join("bot.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("\n[duty]\nweekdays = [\"mon\"]\nperiods = [[\"09:00\", \"17:00\"]]\nutc_offset_hours = -5\n");
    std::fs::write(&toml, text).unwrap();
    let (minute, machine, utc_minute) = opened_at_office(&store, -5);
    assert!(machine.ends_with("-05:00"), "{machine}");
    let list = stdout(&run(&["--config", &c, "review", "list"], None));
    assert!(list.contains(&format!("T000001 open     {minute} ")), "{list}");
    assert!(!list.contains(&utc_minute), "{list}");
    let show = stdout(&run(&["--config", &c, "review", "show", "T000001"], None));
    assert!(show.contains(&format!("开单：{minute}\n")), "{show}");
    let csv = stdout(&run(&["--config", &c, "review", "export"], None));
    assert!(csv.contains(&format!("T000001,{machine},telegram,42,")), "{csv}");
    let out = run(&["--config", &c, "review", "list", "--json"], None);
    let first: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["opened_at"], machine.as_str());
}

#[test]
fn promote_to_an_entry_and_to_a_new_entry() {
    let site = valid_site();
    let store = seed(&site);
    let c = cfg(&site);
    let out = run(
        &["--config", &c, "review", "promote", "T000001", "--to", "proc-late-fee"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let late = std::fs::read_to_string(site.path().join("knowledge/procedure/late-fee.md")).unwrap();
    assert!(late.contains("货物超期申报罚多少"), "{late}");
    let out = run(&["--config", &c, "ask", "--json", "货物超期申报罚多少"], None);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["entry"]["id"], "proc-late-fee", "{v}");

    // A new entry needs an answer first.
    let out = run(
        &["--config", &c, "review", "promote", "T000002", "--new", "faq-phone"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("has no answer yet"), "{}", stderr(&out));
    store
        .answer_ticket(2, "请拨打海关服务热线 {{hotline}}。", "cli")
        .unwrap();
    let out = run(
        &[
            "--config",
            &c,
            "review",
            "promote",
            "T000002",
            "--new",
            "faq-phone",
            "--title",
            "能不能打电话咨询",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(site.path().join("knowledge/faq/faq-phone.md").exists());
    assert_eq!(
        store.ticket(2).unwrap().unwrap().promoted_to.as_deref(),
        Some("faq-phone")
    );
    let out = run(&["--config", &c, "check"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn a_promotion_that_would_break_validation_is_undone() {
    let site = valid_site();
    let store = seed(&site);
    // The question is already under another entry: validation fails, the edit is undone.
    store.answer_ticket(2, "x", "cli").unwrap();
    let t = store.ticket(1).unwrap().unwrap();
    let transit = site.path().join("knowledge/procedure/transit.md");
    let before = std::fs::read_to_string(&transit).unwrap();
    std::fs::write(
        &transit,
        before.replace("\"轉關運輸\"", &format!("\"轉關運輸\", \"{}\"", t.question)),
    )
    .unwrap();
    let before_late = std::fs::read_to_string(site.path().join("knowledge/procedure/late-fee.md")).unwrap();
    let out = run(
        &[
            "--config",
            &cfg(&site),
            "review",
            "promote",
            "1",
            "--to",
            "proc-late-fee",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("undone"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(site.path().join("knowledge/procedure/late-fee.md")).unwrap(),
        before_late
    );
    assert_eq!(store.ticket(1).unwrap().unwrap().state.as_str(), "open");
}

#[test]
fn stats_summarise_questions_and_tickets() {
    let site = valid_site();
    let store = seed(&site);
    store.answer_ticket(1, "答复", "cli").unwrap();
    let out = run(&["--config", &cfg(&site), "stats", "--days", "7", "--json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        (
            s["questions"].as_i64(),
            s["answered"].as_i64(),
            s["handed_off"].as_i64()
        ),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(
        (s["tickets_opened"].as_i64(), s["tickets_open"].as_i64()),
        (Some(2), Some(1))
    );
    assert!(s["median_minutes_to_answer"].as_f64().is_some());
    assert_eq!(s["top_entries"][0][0], "proc-transit");
    let out = run(&["--config", &cfg(&site), "stats"], None);
    assert!(stdout(&out).contains("提问 3"), "{}", stdout(&out));
}
