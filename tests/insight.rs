//! Operators' insight end to end: a question log with known clusters asked through the desk, the
//! gaps it makes, a gap turned into an entry draft that `check` accepts and that is published, a
//! gap's questions added to an entry; the console's pages (session, CSRF, escaping, charts, CSV);
//! `gaps` and `stats --json / --csv` from the command line.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use customs_bot::desk::{Channel, Chat, Desk};
use customs_bot::knowledge::Kind;
use customs_bot::tickets::TicketStore;

use crate::support::{run, stderr, stdout};
use crate::web::{PASSWORD, Site, app, cookie_of, csrf_of, form, get, post_form, send, site};

/// Weather in Xining, asked by three browsers (once in traditional characters, once with the
/// words in another order), and hot pot shops asked twice by one: both are handed off in the
/// fixture's knowledge.
async fn ask_known_clusters(desk: &Desk) {
    for (chat, q) in [
        ("web:a", "西宁明天天气怎么样"),
        ("web:b", "西寧明天天氣怎麼樣"),
        ("web:c", "明天西宁天气如何"),
        ("web:d", "火锅店开业要什么手续"),
        ("web:d", "火锅店开业要什么手续"),
        ("web:e", "转关怎么办理"),
    ] {
        desk.ask(&Chat::new(Channel::Web, chat), q).await;
    }
}

fn desk(s: &Site) -> Arc<Desk> {
    Arc::new(Desk::new(s.assistant.clone(), s.store.clone()))
}

fn knowledge(s: &Site) -> std::path::PathBuf {
    s.assistant.config().knowledge.dir.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_becomes_an_entry_draft_that_check_accepts_and_is_published() {
    let s = site("");
    let desk = desk(&s);
    ask_known_clusters(&desk).await;
    let gaps = desk.gaps(30).await.unwrap();
    let ranked: Vec<(usize, usize)> = gaps.iter().map(|g| (g.people, g.questions.len())).collect();
    assert_eq!(ranked, vec![(3, 3), (1, 2)], "{gaps:#?}");
    let weather = &gaps[0];
    assert!(weather.words.iter().any(|w| w == "天气"), "{:?}", weather.words);
    assert_eq!((weather.this_week, weather.last_week), (3, 0));

    // No operator answer yet: no draft.
    let e = desk
        .gap_draft(30, &weather.key, "faq-weather", Kind::Faq)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("answer one of its tickets first"), "{e}");
    let ticket = weather.questions[0].ticket.unwrap();
    desk.answer(ticket, "天气请查看气象部门发布的预报。".into(), "web:wang".into())
        .await
        .unwrap();
    let weather = desk.gap(30, &weather.key).await.unwrap();
    assert_eq!(weather.answers, vec!["天气请查看气象部门发布的预报。"]);

    let path = desk
        .gap_draft(30, &weather.key, "faq-weather", Kind::Faq)
        .await
        .unwrap();
    assert_eq!(path, knowledge(&s).join("drafts/faq-weather.md"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("天气请查看气象部门发布的预报。") && text.contains("明天西宁天气如何"),
        "{text}"
    );
    // The traditional spelling is the same question: kept once.
    assert!(!text.contains("西寧"), "{text}");
    assert!(
        s.assistant.index().find("faq-weather").is_none(),
        "a draft is not served"
    );

    let config = s.assistant.config().knowledge.dir.parent().unwrap().join("bot.toml");
    let out = run(&["--config", config.to_str().unwrap(), "check"], None);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("and 1 draft(s), 0 error(s)"), "{}", stdout(&out));

    let done = desk
        .publish_draft("faq-weather", "cli:test".into(), false)
        .await
        .unwrap();
    assert_eq!(done.path, knowledge(&s).join("faq/faq-weather.md"));
    assert!(!path.exists());
    let served = s.assistant.index();
    let entry = served.find("faq-weather").expect("published and in service");
    assert_eq!(entry.title, "西宁明天天气怎么样");
    let reply = desk
        .ask(&Chat::new(Channel::Web, "web:z"), "西宁明天天气怎么样")
        .await
        .reply;
    assert_eq!(reply.entry.map(|e| e.id), Some("faq-weather".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gaps_questions_join_an_existing_entry_and_a_bad_target_changes_nothing() {
    let s = site("");
    let desk = desk(&s);
    ask_known_clusters(&desk).await;
    let gaps = desk.gaps(30).await.unwrap();
    let hotpot = gaps.iter().find(|g| g.people == 1).unwrap();
    let before = std::fs::read_to_string(knowledge(&s).join("faq/ipr-bom.md")).unwrap();

    let e = desk
        .gap_to_entry(30, &hotpot.key, "faq-nope", "cli:test".into(), false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no entry `faq-nope`"), "{e}");
    let e = desk
        .gap_to_entry(30, "g999999", "faq-ipr", "cli:test".into(), false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no longer"), "{e}");
    assert_eq!(
        std::fs::read_to_string(knowledge(&s).join("faq/ipr-bom.md")).unwrap(),
        before
    );

    let done = desk
        .gap_to_entry(30, &hotpot.key, "faq-ipr", "cli:test".into(), false)
        .await
        .unwrap();
    assert_eq!((done.entry.as_str(), done.added), ("faq-ipr", 1));
    let index = s.assistant.index();
    let entry = index.find("faq-ipr").unwrap();
    assert!(
        entry.questions.iter().any(|q| q == "火锅店开业要什么手续"),
        "{:?}",
        entry.questions
    );
    // Twice is once.
    let e = desk
        .gap_to_entry(30, &hotpot.key, "faq-ipr", "cli:test".into(), false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already has all of these questions"), "{e}");
}

async fn login(a: &axum::Router) -> String {
    let (status, headers, _) = send(
        a,
        post_form("/ops/login", &form(&[("name", "wang"), ("password", PASSWORD)]), None),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    cookie_of(&headers)
}

fn authed(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_gaps_helpfulness_and_charts_to_operators_only() {
    let s = site("");
    let a = app(&s);
    ask_known_clusters(&desk(&s)).await;
    desk(&s)
        .ask(
            &Chat::new(Channel::Web, "web:x"),
            "<script>alert(1)</script>西宁明天天气怎么样",
        )
        .await;
    for page in [
        "/ops/gaps",
        "/ops/helpfulness",
        "/ops/stats",
        "/ops/stats.csv",
        "/ops/drafts",
    ] {
        let (status, headers, _) = send(&a, get(page)).await;
        assert_eq!(
            (status, headers[header::LOCATION].to_str().unwrap()),
            (StatusCode::SEE_OTHER, "/ops/login"),
            "{page}"
        );
    }
    let cookie = login(&a).await;

    let (status, _, page) = send(&a, authed("/ops/gaps?days=7", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    // The question with markup in it has other words (script, alert): a gap of its own.
    assert!(
        page.contains("<b>3</b> 人提问") && page.contains("<b>1</b> 人提问"),
        "{page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)") && !page.contains("<script>alert"),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let key = {
        let at = page.find("name=\"key\" value=\"").unwrap() + "name=\"key\" value=\"".len();
        page[at..].split('"').next().unwrap().to_string()
    };

    // A form without the session's token changes nothing.
    let draft = |token: &str| {
        form(&[
            ("csrf", token),
            ("key", &key),
            ("days", "7"),
            ("id", "faq-weather"),
            ("kind", "faq"),
        ])
    };
    let (status, _, _) = send(&a, post_form("/ops/gaps/draft", &draft("forged"), Some(&cookie))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // No operator answer yet: the page says so, nothing is written.
    let (status, _, page) = send(&a, post_form("/ops/gaps/draft", &draft(&csrf), Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("answer one of its tickets first"), "{page}");
    assert!(!knowledge(&s).join("drafts").exists());
    // A path in the id never becomes a path.
    let bad = form(&[
        ("csrf", &csrf),
        ("key", &key),
        ("days", "7"),
        ("id", "../../x"),
        ("kind", "faq"),
    ]);
    let (_, _, page) = send(&a, post_form("/ops/gaps/draft", &bad, Some(&cookie))).await;
    assert!(page.contains("新条目 id 只能用"), "{page}");

    let t = s.store.tickets(None).unwrap().remove(0);
    s.store.answer_ticket(t.id, "请看<b>气象台</b>。", "web:wang").unwrap();
    let (status, headers, _) = send(&a, post_form("/ops/gaps/draft", &draft(&csrf), Some(&cookie))).await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/ops/drafts/faq-weather")
    );
    let (_, _, page) = send(&a, authed("/ops/drafts/faq-weather", &cookie)).await;
    assert!(
        page.contains("校验通过") && page.contains("请看&lt;b&gt;气象台&lt;/b&gt;。"),
        "{page}"
    );
    let (status, _, _) = send(&a, authed("/ops/drafts/faq-nope", &cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An edit that breaks the draft is saved and its problems shown; publishing is refused.
    let broken = form(&[("csrf", &csrf), ("text", "+++\nid = \"faq-weather\"\n+++\n")]);
    let (_, _, page) = send(&a, post_form("/ops/drafts/faq-weather/save", &broken, Some(&cookie))).await;
    assert!(
        page.contains("已保存") && page.contains("drafts/faq-weather.md:"),
        "{page}"
    );
    let publish = form(&[("csrf", &csrf)]);
    let (_, _, page) = send(
        &a,
        post_form("/ops/drafts/faq-weather/publish", &publish, Some(&cookie)),
    )
    .await;
    assert!(page.contains("does not validate"), "{page}");
    assert!(!knowledge(&s).join("faq/faq-weather.md").exists());

    // Add the gap's questions to an existing entry from the console: validated, reindexed.
    let add = |token: &str, entry: &str| form(&[("csrf", token), ("key", &key), ("days", "7"), ("entry", entry)]);
    let (status, _, _) = send(&a, post_form("/ops/gaps/add", &add("forged", "faq-ipr"), Some(&cookie))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, page) = send(&a, post_form("/ops/gaps/add", &add(&csrf, "../faq-ipr"), Some(&cookie))).await;
    assert!(page.contains("请填写已有条目的 id"), "{page}");
    let (_, _, page) = send(&a, post_form("/ops/gaps/add", &add(&csrf, "faq-ipr"), Some(&cookie))).await;
    assert!(
        page.contains("个新问法加入条目 faq-ipr") && page.contains("索引已重建"),
        "{page}"
    );
    let index = s.assistant.index();
    assert!(
        index
            .find("faq-ipr")
            .unwrap()
            .questions
            .iter()
            .any(|q| q == "明天西宁天气如何")
    );

    let (status, _, page) = send(&a, authed("/ops/helpfulness?days=7", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("跨关区转关") && page.contains("回答 <b>1</b> 次"),
        "{page}"
    );

    let (status, _, page) = send(&a, authed("/ops/stats?days=7&channel=web", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<svg") && page.contains("每日提问（网页）"), "{page}");
    assert!(page.contains("转人工：6"), "the day's bar says its figure: {page}");
    let (_, _, page) = send(&a, authed("/ops/stats?channel=%3Cscript%3E", &cookie)).await;
    assert!(
        page.contains("每日提问（全部渠道）") && !page.contains("<script>"),
        "{page}"
    );
    let (status, headers, csv) = send(&a, authed("/ops/stats.csv?days=7", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert!(
        csv.starts_with("date,channel,questions,answered,clarified,handed_off,referred"),
        "{csv}"
    );
    // 7 days for all channels and 7 for the web.
    assert_eq!(csv.lines().count(), 1 + 14, "{csv}");
}

#[test]
fn gaps_and_stats_from_the_command_line() {
    let site = crate::support::valid_site();
    let config = site.path().join("bot.toml").display().to_string();
    let store = customs_bot::tickets::SqliteStore::open(&site.path().join("data/customs-bot.sqlite")).unwrap();
    for (chat, q, decision) in [
        ("1", "西宁明天天气怎么样", "handoff"),
        ("2", "西宁明天天气怎么样", "handoff"),
        ("2", "火锅店开业要什么手续", "handoff"),
        ("3", "转关怎么办理", "answer"),
    ] {
        store
            .record_question(&customs_bot::tickets::QuestionRecord {
                channel: "telegram".into(),
                chat: chat.into(),
                question: q.into(),
                decision: decision.into(),
                entry: (decision == "answer").then(|| "proc-transit".into()),
                confidence: 0.5,
                latency_ms: 1.0,
                provenance: None,
            })
            .unwrap();
    }
    let out = run(&["--config", &config, "gaps", "--json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let gaps: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let people: Vec<u64> = gaps
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["people"].as_u64().unwrap())
        .collect();
    assert_eq!(people, vec![2, 1]);
    assert_eq!(gaps[0]["questions"][0]["question"], "西宁明天天气怎么样");
    let out = run(&["--config", &config, "gaps", "--days", "7"], None);
    assert!(
        stdout(&out).contains("知识缺口：2 个") && stdout(&out).contains("2 人（本周 2，上周 0）"),
        "{}",
        stdout(&out)
    );
    let out = run(&["--config", &config, "gaps", "--days", "0"], None);
    assert_eq!(out.status.code(), Some(2), "a period of no days is refused");

    let out = run(&["--config", &config, "stats", "--days", "3", "--csv"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 3 + 3, "{csv}");
    assert!(lines[3].ends_with(",all,4,1,0,3,0,0,0,0,,0"), "{csv}");
    let out = run(&["--config", &config, "stats", "--days", "3", "--json"], None);
    let s: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(s["questions"], 4);
    let daily = s["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 6);
    assert_eq!(
        (daily[5]["channel"].as_str(), daily[5]["handed_off"].as_u64()),
        (Some("telegram"), Some(3))
    );
}

mod browser {
    //! The statistics charts and the gaps page in headless Chromium (the harness of `web::browser`).

    use std::time::Duration;

    use customs_bot::tickets::SqliteStore;
    use fantoccini::Locator;

    use super::*;
    use crate::web::browser::{browser, log_in, screenshot, wait_text};

    /// A week of questions on two channels, moved back day by day in the database file (the desk
    /// logs everything "now"); some tickets answered after a while.
    async fn seed_a_week(desk: &Desk, store: &SqliteStore, db: &std::path::Path) {
        let questions = [
            "转关怎么办理",
            "ATA单证册手续",
            "西宁明天天气怎么样",
            "滞报金怎么算",
            "火锅店开业要什么手续",
        ];
        let conn = rusqlite::Connection::open(db).unwrap();
        let stamp = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        for day in 0..7i64 {
            let at = chrono::Utc::now() - chrono::Duration::days(6 - day) - chrono::Duration::hours(1);
            for n in 0..(3 + day % 4) {
                let (channel, chat) = if n % 2 == 0 {
                    (customs_bot::desk::Channel::Web, format!("web:{day}-{n}"))
                } else {
                    (customs_bot::desk::Channel::Telegram, format!("{day}{n}"))
                };
                let q = questions[((day + n) % 5) as usize];
                desk.ask(&customs_bot::desk::Chat::new(channel, chat), q).await;
                conn.execute(
                    "UPDATE questions SET at = ?1 WHERE id = (SELECT MAX(id) FROM questions)",
                    [stamp(at)],
                )
                .unwrap();
                conn.execute(
                    "UPDATE tickets SET opened_at = ?1 WHERE id = (SELECT MAX(id) FROM tickets) AND opened_at > ?1",
                    [stamp(at)],
                )
                .unwrap();
            }
        }
        for t in store.tickets(None).unwrap().iter().step_by(2) {
            store.answer_ticket(t.id, "已电话联系说明。", "web:wang").unwrap();
            let answered = t.opened_at + chrono::Duration::minutes(20 + 15 * (t.id % 5));
            conn.execute(
                "UPDATE tickets SET answered_at = ?2 WHERE id = ?1",
                rusqlite::params![t.id, stamp(answered)],
            )
            .unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_statistics_charts_and_the_gaps_render_in_a_real_browser() {
        let s = site("");
        let db_dir = tempfile::tempdir().unwrap();
        let db = db_dir.path().join("tickets.sqlite");
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        let desk = Arc::new(Desk::new(s.assistant.clone(), store.clone()));
        seed_a_week(&desk, &store, &db).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(customs_bot::web::serve(desk, listener, async move {
            let _ = stopped.await;
        }));
        let profile = tempfile::tempdir().unwrap();
        let (_driver, c) = browser(profile.path()).await;
        c.set_window_size(1280, 900).await.unwrap();
        log_in(&c, &base).await;

        c.goto(&format!("{base}/ops/stats?days=7")).await.unwrap();
        let charts = c.find_all(Locator::Css("figure.chart svg")).await.unwrap();
        assert_eq!(charts.len(), 3);
        for chart in &charts {
            let (_, _, w, h) = chart.rectangle().await.unwrap();
            assert!(w > 300.0 && h > 80.0, "a chart drawn at {w}×{h}");
        }
        // A stacked bar per outcome and day (seven days, every day asked), lines for the tickets.
        let bars = c
            .find_all(Locator::Css("figure.chart:first-of-type svg rect"))
            .await
            .unwrap();
        assert!(bars.len() >= 7 + 5, "{} bars", bars.len());
        assert!(
            !c.find_all(Locator::Css("figure.chart svg polyline"))
                .await
                .unwrap()
                .is_empty()
        );
        let title = c
            .find(Locator::Css("figure.chart svg title"))
            .await
            .unwrap()
            .html(true)
            .await
            .unwrap();
        assert!(title.contains("每日提问"), "{title}");
        screenshot(&c, "console-stats.png", 1280, 1500).await;

        c.goto(&format!("{base}/ops/gaps?days=7")).await.unwrap();
        let first = wait_text(&c, "section.gap h2", "1.").await;
        assert!(first.starts_with("1."), "{first}");
        wait_text(&c, "section.gap h2", "天气").await;
        screenshot(&c, "console-gaps.png", 1280, 900).await;

        c.close().await.unwrap();
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

mod telegram {
    //! `/gaps` for operators over the fake Telegram server.

    use crate::telegram::{Harness, text};

    const OPS: i64 = -500;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn operators_read_the_gaps_with_gaps_and_others_are_refused() {
        let h = Harness::start_with("[operators]\nchat_id = -500\nuser_ids = [900]\n").await;
        h.fake.send_text(42, "西宁明天天气怎么样");
        h.fake.send_text(43, "西寧明天天氣怎麼樣");
        h.fake.wait_sent(42, 1).await;
        h.fake.wait_sent(43, 1).await;
        h.fake.send_text(42, "/gaps");
        let refused = h.fake.wait_sent(42, 2).await;
        assert!(text(&refused[1]).contains("仅限值班人员"), "{}", text(&refused[1]));
        let notices = h.fake.wait_sent(OPS, 2).await.len();
        h.fake.send_text_in(OPS, 900, "supergroup", "/gaps 7", None);
        let ops = h.fake.wait_sent(OPS, notices + 1).await;
        let reply = text(&ops[notices]);
        assert!(
            reply.contains("最近 7 天的知识缺口（1 个") && reply.contains("2 人，本周 2，上周 0"),
            "{reply}"
        );
        h.fake.send_text_in(OPS, 900, "supergroup", "/gaps abc", None);
        let ops = h.fake.wait_sent(OPS, notices + 2).await;
        assert!(
            text(&ops[notices + 1]).contains("用法：/gaps"),
            "{}",
            text(&ops[notices + 1])
        );
        h.finish().await;
    }
}
