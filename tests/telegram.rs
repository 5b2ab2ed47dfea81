//! The Telegram front end end to end: the real teloxide dispatcher (long polling, Throttle)
//! against the fake Bot API server on 127.0.0.1. No test touches the internet.

use std::sync::Arc;
use std::time::Duration;

use customs_bot::app::Assistant;
use customs_bot::config::Config;
use customs_bot::desk::{Desk, housekeeping};
use customs_bot::telegram;
use customs_bot::tickets::{SqliteStore, TicketStore};
use serde_json::json;
use tokio::sync::oneshot;

use crate::fake_telegram::{BOT_USERNAME, FakeTelegram, html_problem};
use crate::support::{copy_tree, fixtures, last_question, question_count};

/// A running bot over a small knowledge base, with its fake server and ticket store.
pub struct Harness {
    pub fake: FakeTelegram,
    pub store: Arc<SqliteStore>,
    pub config: Config,
    pub assistant: Arc<Assistant>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _site: tempfile::TempDir,
}

const LONG_PARAGRAPH: &str =
    "保税仓库经营企业应当如实记录货物的进、出、转、存情况，按照海关要求提交报表，并接受海关的监管和核查。";

pub fn write_extra_entries(k: &std::path::Path) {
    // A long answer (well over 4096 UTF-16 units) and two entries one short question cannot tell apart.
    let long_body = (0..60)
        .map(|i| format!("{i}. {LONG_PARAGRAPH} <注意> & **要点**"))
        .collect::<Vec<_>>()
        .join("\n\n");
    std::fs::write(
        k.join("faq/long.md"),
        format!("+++\nid = \"faq-warehouse-duties\"\nkind = \"faq\"\ntitle = \"保税仓库经营企业的义务\"\nquestions = [\"保税仓库经营企业有哪些义务\"]\nkeywords = [\"保税仓库\", \"义务\"]\nlegal_basis = []\nupdated = 2026-11-26\n+++\n{long_body}\n"),
    )
    .unwrap();
    // Two matters that differ by one word, with sections: for follow-ups and ellipsis.
    for (id, dir, what) in [
        ("proc-import-docs", "进口", "进境"),
        ("proc-export-docs", "出口", "出境"),
    ] {
        std::fs::write(
            k.join(format!("procedure/{id}.md")),
            format!("+++\nid = \"{id}\"\nkind = \"procedure\"\ntitle = \"{dir}报关随附单证\"\nquestions = [\"{dir}报关要什么单证\", \"{dir}报关交哪些单据\"]\nkeywords = [\"{dir}报关\", \"单证\"]\nlegal_basis = [\"《海关法》第二十四条\"]\nupdated = 2026-11-26\n+++\n**所需材料**：{dir}报关单和随附单证。\n\n**办理时限**：货物{what}时按规定期限申报（测试用）。\n"),
        )
        .unwrap();
    }
    for (id, title, q) in [
        ("permit-ata-a", "ATA单证册报关", "ATA单证册报关手续"),
        ("permit-ata-b", "ATA单证册担保", "ATA单证册担保手续"),
    ] {
        std::fs::write(
            k.join(format!("permit/{id}.md")),
            format!("+++\nid = \"{id}\"\nkind = \"permit\"\ntitle = \"{title}\"\nquestions = [\"{q}\"]\nkeywords = [\"ata单证册\"]\nlegal_basis = [\"《海关法》\"]\nupdated = 2026-11-26\n+++\n{title}的说明。\n"),
        )
        .unwrap();
    }
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// `extra` is appended to the test bot.toml (e.g. a [telegram] override).
    pub async fn start_with(extra: &str) -> Self {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        Self::start_with_store(extra, store).await
    }

    /// As [`Harness::start_with`], on a store of the test's choosing (e.g. a file with options).
    pub async fn start_with_store(extra: &str, store: Arc<SqliteStore>) -> Self {
        let fake = FakeTelegram::start().await;
        let site = tempfile::tempdir().unwrap();
        copy_tree(&fixtures().join("valid/knowledge"), &site.path().join("knowledge"));
        std::fs::create_dir_all(site.path().join("knowledge/permit")).unwrap();
        write_extra_entries(&site.path().join("knowledge"));
        let telegram_section = if extra.contains("[telegram]") {
            String::new()
        } else {
            "[telegram]\nmessages_per_second_per_chat = 100\nmessages_per_minute_per_chat = 1000\n".to_string()
        };
        let text = format!(
            "[office]\noffice_name = \"测试海关\"\nhotline = \"12360\"\nconsult_phone = \"测试咨询电话\"\n\
             [duty]\nweekdays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\nperiods = [[\"08:30\", \"12:00\"], [\"14:30\", \"18:00\"]]\n\
             {telegram_section}{extra}\n"
        );
        std::fs::write(site.path().join("bot.toml"), text).unwrap();
        let config = Config::load(&site.path().join("bot.toml")).unwrap();
        let telegram_config = config.telegram.clone();
        let operators = config.operators.clone();
        let kept = config.clone();
        let assistant = Arc::new(
            tokio::task::spawn_blocking(move || Assistant::start(config))
                .await
                .unwrap()
                .unwrap(),
        );
        customs_bot::app::spawn_index_watcher(assistant.clone(), Duration::from_millis(200));
        let hook_store = store.clone();
        fake.on_send(move || question_count(hook_store.as_ref()));
        let served = assistant.clone();
        let bot = telegram::throttled(telegram::bot("123:TEST", Some(&fake.url)).unwrap(), &telegram_config);
        let notifier = Arc::new(telegram::TelegramNotifier::new(bot.clone(), &operators));
        let desk = Arc::new(Desk::new(assistant, store.clone() as Arc<dyn TicketStore>).with_notifier(notifier));
        let ctx = Arc::new(telegram::Context::new(desk.clone(), &telegram_config, operators));
        let (stop, stopped) = oneshot::channel::<()>();
        let (stop_keeper, keeper_stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let keeper = tokio::spawn(housekeeping(desk, async move {
                let _ = keeper_stopped.await;
            }));
            let outcome = telegram::run(ctx, bot, async move {
                let _ = stopped.await;
            })
            .await;
            let _ = stop_keeper.send(());
            keeper.await?;
            outcome
        });
        Harness {
            fake,
            store,
            config: kept,
            assistant: served,
            stop: Some(stop),
            task,
            _site: site,
        }
    }

    /// Stops the bot and checks that it stopped cleanly and that Telegram rejected nothing.
    pub async fn finish(mut self) -> FakeTelegram {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the bot stops")
            .unwrap()
            .unwrap();
        assert!(
            self.fake.errors().is_empty(),
            "Telegram would have rejected: {:?}",
            self.fake.errors()
        );
        self.fake
    }
}

/// The callback data of the "没帮助" button under an answer.
fn not_helpful_button(call: &crate::fake_telegram::Call) -> String {
    buttons(call)
        .into_iter()
        .find(|(_, d)| d.starts_with("fb:n:"))
        .expect("an answer has a 没帮助 button")
        .1
}

pub fn text(call: &crate::fake_telegram::Call) -> String {
    call.body["text"].as_str().unwrap_or("").to_string()
}

pub fn buttons(call: &crate::fake_telegram::Call) -> Vec<(String, String)> {
    call.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|r| r.as_array().unwrap().iter())
                .map(|b| {
                    (
                        b["text"].as_str().unwrap().to_string(),
                        b["callback_data"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_registers_commands_and_welcomes() {
    let h = Harness::start().await;
    h.fake.send_text(42, "/start");
    let sent = h.fake.wait_sent(42, 1).await;
    let welcome = &sent[0];
    assert_eq!(welcome.body["parse_mode"], "HTML");
    assert!(text(welcome).contains("测试海关咨询助手"), "{}", text(welcome));
    assert!(buttons(welcome).iter().any(|(_, d)| d == "kind:procedure"));
    let calls = h
        .fake
        .wait_for(10, "setMyCommands", |c| c.iter().any(|c| c.method == "setmycommands"))
        .await;
    let commands = &calls.iter().find(|c| c.method == "setmycommands").unwrap().body["commands"];
    let names: Vec<&str> = commands
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap().trim_start_matches('/'))
        .collect();
    assert_eq!(names, ["start", "help", "hotline", "human", "topics"]);
    assert!(commands[3]["description"].as_str().unwrap().contains("人工"));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_is_valid_html_with_feedback_buttons_and_logged_before_it_is_sent() {
    let h = Harness::start().await;
    h.fake.send_text(42, "转关怎么办理？");
    let sent = h.fake.wait_sent(42, 1).await;
    let answer = &sent[0];
    let body = text(answer);
    assert!(body.starts_with("<b>跨关区转关</b>"), "{body}");
    assert!(body.contains("<b>谁办理</b>"), "{body}");
    assert!(body.contains("详询 12360"), "{body}");
    assert!(body.contains("法律依据：《海关法》第三十五条"), "{body}");
    assert!(body.contains("本条更新于 2026-11-26"), "{body}");
    assert_eq!(html_problem(&body), None);
    let b = buttons(answer);
    assert_eq!(b.len(), 2);
    assert!(b[0].1.starts_with("fb:y:") && b[1].1.starts_with("fb:n:"), "{b:?}");
    assert_eq!(
        answer.hook,
        Some(1),
        "the question was logged before the reply was sent"
    );
    let logged = last_question(h.store.as_ref());
    assert_eq!(
        (logged.channel.as_str(), logged.chat.as_str(), logged.decision.as_str()),
        ("telegram", "42", "answer")
    );
    assert_eq!(logged.entry.as_deref(), Some("proc-transit"));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_is_followed_in_context_across_turns() {
    let h = Harness::start().await;
    let mut n = 0;
    let say = async |question: &str, n: &mut usize| {
        h.fake.send_text(43, question);
        *n += 1;
        h.fake.wait_sent(43, *n).await[*n - 1].clone()
    };
    assert!(text(&say("进口报关要什么单证", &mut n).await).starts_with("<b>进口报关随附单证</b>"));
    // A follow-up about an aspect: the topic's section for it, with the assumption said.
    let follow = text(&say("那要多久", &mut n).await);
    assert!(
        follow.starts_with("关于<b>进口报关随附单证</b>的办理时限：") && follow.contains("进境时按规定期限申报"),
        "{follow}"
    );
    assert!(!follow.contains("所需材料"), "only the section asked about: {follow}");
    // The way out: 不是这个？ forgets the topic and asks for the question in full words.
    let offered_way_out = say("要什么材料", &mut n).await;
    let (_, data) = buttons(&offered_way_out)
        .into_iter()
        .find(|(label, _)| label == "不是这个？")
        .expect("a follow-up offers 不是这个？");
    h.fake.press(43, 1, &data);
    n += 1;
    let asked_back = text(&h.fake.wait_sent(43, n).await[n - 1]);
    assert!(asked_back.contains("请再具体说说"), "{asked_back}");
    let forgotten = text(&say("那要多久", &mut n).await);
    assert!(
        !forgotten.contains("进口报关随附单证"),
        "the topic is forgotten: {forgotten}"
    );
    assert!(text(&say("进口报关要什么单证", &mut n).await).starts_with("<b>进口报关随附单证</b>"));
    // An ellipsis with a new object: the previous question, asked again with it.
    assert!(text(&say("那出口呢", &mut n).await).starts_with("<b>出口报关随附单证</b>"));
    // Choices answered in words.
    let offered = say("ATA单证册手续", &mut n).await;
    let second = buttons(&offered)[1].0.clone();
    let chosen = text(&say("第二个", &mut n).await);
    assert!(chosen.starts_with(&format!("<b>{second}</b>")), "{second} / {chosen}");
    // A self-contained new question is answered on its own: context does not hijack it.
    assert!(text(&say("滞报金怎么算", &mut n).await).starts_with("<b>滞报金</b>"));
    let conversation = h
        .store
        .conversation("telegram", "43", chrono::Utc::now() - chrono::Duration::minutes(5))
        .unwrap()
        .expect("the conversation is kept in the store");
    assert_eq!(conversation.topic.as_deref(), Some("proc-late-fee"));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_answer_is_split_into_valid_pieces() {
    let h = Harness::start().await;
    h.fake.send_text(42, "保税仓库经营企业有哪些义务");
    // The pieces arrive one by one; wait until the one with the feedback buttons (the last) is there.
    h.fake
        .wait_for(20, "the last piece", |calls| {
            calls
                .iter()
                .any(|c| c.method == "sendmessage" && !buttons(c).is_empty())
        })
        .await;
    let sent = h.fake.sent_to(42);
    assert!(sent.len() >= 2, "{} pieces", sent.len());
    for (i, piece) in sent.iter().enumerate() {
        let t = text(piece);
        assert!(t.encode_utf16().count() <= 4096);
        assert_eq!(html_problem(&t), None, "piece {i}");
        assert_eq!(
            buttons(piece).is_empty(),
            i + 1 < sent.len(),
            "only the last piece has buttons"
        );
    }
    let all: String = sent.iter().map(text).collect::<Vec<_>>().join("\n\n");
    assert!(all.contains("59. "), "nothing is lost");
    assert!(all.contains("&lt;注意&gt; &amp; <b>要点</b>"), "escaped and formatted");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clarify_offers_buttons_and_a_choice_answers_twice() {
    let h = Harness::start().await;
    h.fake.send_text(42, "ATA单证册手续");
    let sent = h.fake.wait_sent(42, 1).await;
    let b = buttons(&sent[0]);
    let picks: Vec<&(String, String)> = b.iter().filter(|(_, d)| d.starts_with("pick:")).collect();
    assert_eq!(picks.len(), 2, "{b:?} / {}", text(&sent[0]));
    assert!(b.iter().any(|(_, d)| d == "human"));
    let data = picks[0].1.clone();
    h.fake.press(42, 2, &data);
    h.fake.wait_sent(42, 2).await;
    h.fake.press(42, 2, &data);
    let sent = h.fake.wait_sent(42, 3).await;
    assert!(text(&sent[1]).starts_with("<b>ATA单证册"), "{}", text(&sent[1]));
    assert_eq!(text(&sent[1]), text(&sent[2]));
    let acks = h
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "answercallbackquery")
        .count();
    assert_eq!(acks, 2, "every press is answered once");
    h.finish().await;
}

/// "Did you mean …?": one entry far ahead but covering only part of the question is one button
/// (and 都不是，转人工); typing 是的 shows it, as pressing it would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn did_you_mean_is_one_button_and_yes_in_words_shows_it() {
    // The fixture knowledge base holds a handful of entries, so its words weigh little: the band
    // of a guess is lowered to match.
    let h = Harness::start_with("[answer]\nguess_matched = 0.5\nguess_coverage = 0.2\n").await;
    h.fake.send_text(42, "滞报金 老板 标准");
    let sent = h.fake.wait_sent(42, 1).await;
    let b = buttons(&sent[0]);
    let picks: Vec<&(String, String)> = b.iter().filter(|(_, d)| d.starts_with("pick:")).collect();
    assert_eq!(picks.len(), 1, "{b:?} / {}", text(&sent[0]));
    assert!(text(&sent[0]).contains("不太确定"), "{}", text(&sent[0]));
    assert!(b.iter().any(|(_, d)| d == "human"), "{b:?}");
    h.fake.send_text(42, "是的");
    let sent = h.fake.wait_sent(42, 2).await;
    assert!(text(&sent[1]).starts_with("<b>滞报金"), "{}", text(&sent[1]));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_helpful_opens_a_ticket_and_offers_the_hotline() {
    let h = Harness::start().await;
    h.fake.send_text(42, "滞报金怎么算");
    let sent = h.fake.wait_sent(42, 1).await;
    let no = not_helpful_button(&sent[0]);
    h.fake.press(42, 2, &no);
    let sent = h.fake.wait_sent(42, 2).await;
    let reply = text(&sent[1]);
    assert!(reply.contains("12360") && reply.contains("工单"), "{reply}");
    let ticket = h.store.ticket(1).unwrap().expect("a ticket");
    assert_eq!(
        (ticket.reason.as_str(), ticket.question.as_str()),
        ("not_helpful", "滞报金怎么算")
    );
    // A second tap is acknowledged without a second ticket.
    h.fake.press(42, 2, &no);
    h.fake
        .wait_for(10, "second ack", |c| {
            c.iter().filter(|c| c.method == "answercallbackquery").count() >= 2
        })
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(h.store.ticket(2).unwrap().is_none());
    h.finish().await;
}

/// Regression (issue #9, item 1): callback data can be forged; "没帮助" on another chat's question
/// must not open a ticket with that question nor use up the asker's feedback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_from_another_chat_is_ignored() {
    let h = Harness::start().await;
    h.fake.send_text(42, "滞报金怎么算");
    let sent = h.fake.wait_sent(42, 1).await;
    let no = not_helpful_button(&sent[0]);
    h.fake.press(43, 2, &no);
    h.fake
        .wait_for(10, "the forged press is acknowledged", |c| {
            c.iter().any(|c| c.method == "answercallbackquery")
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(h.store.ticket(1).unwrap().is_none(), "no ticket for another chat");
    assert!(
        h.fake.calls().iter().all(|c| c.body["chat_id"] != 43),
        "nothing sent to the forging chat"
    );
    // The asker's own "没帮助" still counts.
    h.fake.press(42, 2, &no);
    let sent = h.fake.wait_sent(42, 2).await;
    assert!(text(&sent[1]).contains("工单"), "{}", text(&sent[1]));
    assert_eq!(h.store.ticket(1).unwrap().unwrap().chat, "42");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_off_gives_the_hotline_duty_status_and_a_ticket() {
    let h = Harness::start().await;
    h.fake.send_text(42, "西宁明天天气怎么样");
    let sent = h.fake.wait_sent(42, 1).await;
    let reply = text(&sent[0]);
    assert!(reply.contains("没有把握"), "{reply}");
    assert!(
        reply.contains("海关服务热线：12360") && reply.contains("测试咨询电话"),
        "{reply}"
    );
    assert!(
        reply.contains("工作时间") || reply.contains("恢复"),
        "duty status: {reply}"
    );
    assert!(reply.contains("工单 <b>T000001</b>"), "{reply}");
    assert_eq!(h.store.ticket(1).unwrap().unwrap().reason.as_str(), "handoff");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stickers_empty_and_huge_messages_get_calm_replies() {
    let h = Harness::start().await;
    h.fake.send_sticker(42);
    h.fake.wait_sent(42, 1).await;
    h.fake.send_text(42, "   ");
    h.fake.wait_sent(42, 2).await;
    h.fake.send_text(42, &"报关".repeat(5000));
    h.fake.wait_sent(42, 3).await;
    h.fake.edit_text(42, "改过的问题");
    let sent = h.fake.wait_sent(42, 4).await;
    assert!(
        text(&sent[0]).contains("贴纸") && text(&sent[0]).contains("文字"),
        "{}",
        text(&sent[0])
    );
    assert!(text(&sent[1]).contains("请用文字描述"), "{}", text(&sent[1]));
    assert!(text(&sent[2]).contains("消息较长"), "{}", text(&sent[2]));
    assert!(text(&sent[3]).contains("修改"), "{}", text(&sent[3]));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_groups_only_addressed_messages_are_answered() {
    let h = Harness::start().await;
    let group = -100_123;
    h.fake
        .send_text_in(group, 42, "supergroup", "大家好，滞报金怎么算", None);
    h.fake
        .send_text_in(group, 42, "supergroup", &format!("@{BOT_USERNAME} 滞报金怎么算"), None);
    let sent = h.fake.wait_sent(group, 1).await;
    assert!(text(&sent[0]).starts_with("<b>滞报金</b>"), "{}", text(&sent[0]));
    h.fake.send_text_in(group, 43, "supergroup", "转关怎么办理", Some(5));
    h.fake.wait_sent(group, 2).await;
    h.fake
        .send_text_in(group, 44, "supergroup", "/help@some_other_bot", None);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        h.fake.sent_to(group).len(),
        2,
        "the unaddressed message and the other bot's command are ignored"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_and_the_message_is_sent() {
    let h = Harness::start().await;
    h.fake.fail_next(
        "SendMessage",
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}),
    );
    h.fake.send_text(42, "滞报金怎么算");
    let sent = h.fake.wait_sent(42, 1).await;
    let attempts: Vec<_> = h
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "sendmessage")
        .collect();
    assert_eq!(attempts.len(), 2, "one refused attempt, one retry");
    assert_eq!(attempts[0].body["text"], attempts[1].body["text"]);
    assert!(
        attempts[1].at.duration_since(attempts[0].at) >= Duration::from_millis(900),
        "waited retry_after"
    );
    assert!(text(&sent[0]).starts_with("<b>滞报金</b>"));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_unknown_commands() {
    let h = Harness::start().await;
    h.fake.send_text(42, "/hotline");
    h.fake.wait_sent(42, 1).await;
    h.fake.send_text(42, "/frobnicate");
    h.fake.wait_sent(42, 2).await;
    h.fake.send_text(42, "/topics");
    let sent = h.fake.wait_sent(42, 3).await;
    assert!(text(&sent[0]).contains("12360") && text(&sent[0]).contains("工作时间") || text(&sent[0]).contains("恢复"));
    assert!(
        text(&sent[1]).contains("没有这个命令") && text(&sent[1]).contains("/topics"),
        "{}",
        text(&sent[1])
    );
    h.fake.press(42, 3, "kind:procedure");
    let sent = h.fake.wait_sent(42, 4).await;
    let b = buttons(&sent[3]);
    assert!(
        b.iter().any(|(t, d)| t == "滞报金" && d == "pick:proc-late-fee"),
        "{b:?}"
    );
    h.fake.send_text(42, "/human");
    let sent = h.fake.wait_sent(42, 5).await;
    assert!(
        text(&sent[4]).contains("转人工") && text(&sent[4]).contains("T000001"),
        "{}",
        text(&sent[4])
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_questions_get_one_polite_notice() {
    let h = Harness::start_with(
        "[telegram]\nquestions_per_minute = 2\nmessages_per_second_per_chat = 100\nmessages_per_minute_per_chat = 1000\n",
    )
    .await;
    for _ in 0..4 {
        h.fake.send_text(42, "滞报金怎么算");
    }
    let sent = h.fake.wait_sent(42, 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_after = h.fake.sent_to(42);
    assert_eq!(sent_after.len(), 3, "two answers and one notice");
    assert!(text(&sent[2]).contains("稍等"), "{}", text(&sent[2]));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_clean_and_acknowledges_the_last_update() {
    let h = Harness::start().await;
    h.fake.send_text(42, "转关怎么办理");
    h.fake.wait_sent(42, 1).await;
    let fake = h.finish().await;
    let last = fake.calls().into_iter().rfind(|c| c.method == "getupdates").unwrap();
    assert_eq!(
        last.body["timeout"], 0,
        "the final getUpdates confirms the last update: {}",
        last.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_is_retried_without_panicking_and_shutdown_still_works() {
    // Nothing listens on this port: start-up fails and is retried with backoff.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let site = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid"), site.path());
    let config = Config::load(&site.path().join("bot.toml")).unwrap();
    let telegram_config = config.telegram.clone();
    let config_operators = config.operators.clone();
    let assistant = Arc::new(
        tokio::task::spawn_blocking(move || Assistant::start(config))
            .await
            .unwrap()
            .unwrap(),
    );
    let desk = Arc::new(Desk::new(assistant, Arc::new(SqliteStore::in_memory().unwrap())));
    let ctx = Arc::new(telegram::Context::new(desk, &telegram_config, config_operators));
    let bot = telegram::throttled(telegram::bot("123:TEST", Some(&url)).unwrap(), &telegram_config);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(telegram::run(ctx, bot, async move {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!task.is_finished(), "still retrying, not crashed");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("stops while retrying")
        .unwrap()
        .unwrap();
}
