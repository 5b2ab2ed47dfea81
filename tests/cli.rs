//! The command line end to end: check, reindex, ask (single, JSON, batch), chat, --config.

use crate::support::{run, shipped_site, stderr, stdout, valid_site};

fn cfg(site: &tempfile::TempDir) -> String {
    site.path().join("bot.toml").display().to_string()
}

#[test]
fn check_passes_on_the_valid_fixture() {
    let site = valid_site();
    let out = run(&["check", "--config", &cfg(&site)], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).ends_with("3 entries, 0 error(s), 0 warning(s)\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_reports_every_problem_and_fails() {
    let site = valid_site();
    let k = site.path().join("knowledge");
    std::fs::write(k.join("procedure/transit.md"), "no front matter here").unwrap();
    std::fs::write(
        k.join("faq/ipr-bom.md"),
        "+++\nid = \"faq-ipr\"\nkind = \"nope\"\n+++\n",
    )
    .unwrap();
    let out = run(&["--config", &cfg(&site), "check"], None);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("transit.md:1: the file does not start with front matter"),
        "{text}"
    );
    assert!(text.contains("ipr-bom.md:3: unknown kind `nope`"), "{text}");
    assert!(text.contains("ipr-bom.md:1: missing field `title`"), "{text}");
    assert!(text.contains("1 entries, "), "{text}");
}

#[test]
fn check_warns_of_a_synonym_no_question_can_contain() {
    let site = valid_site();
    let lexicon = site.path().join("knowledge/lexicon");
    std::fs::create_dir_all(&lexicon).unwrap();
    // 国际邮包 is two words to the segmenter (国际 / 邮包) until the dictionary says otherwise.
    std::fs::write(lexicon.join("synonyms.txt"), "# groups\n邮包 国际邮包\n").unwrap();
    let out = run(&["--config", &cfg(&site), "check"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning does not fail check: {}",
        stdout(&out)
    );
    let text = stdout(&out);
    assert!(
        text.contains("synonyms.txt:2: warning: the synonym `国际邮包` is not one word to the segmenter (国际 / 邮包)"),
        "{text}"
    );
    assert!(text.contains("add `国际邮包 500 n` to lexicon/userdict.txt"), "{text}");
    std::fs::write(lexicon.join("userdict.txt"), "国际邮包 500 n\n").unwrap();
    let out = run(&["--config", &cfg(&site), "check"], None);
    assert!(stdout(&out).ends_with("0 error(s), 0 warning(s)\n"), "{}", stdout(&out));
}

#[test]
fn ask_json_lines_with_a_chat_form_one_conversation_each() {
    let site = valid_site();
    let input = concat!(
        "{\"chat\": \"a\", \"question\": \"转关怎么办理\"}\n",
        "{\"chat\": \"b\", \"question\": \"那要多久\"}\n",
        "{\"chat\": \"a\", \"question\": \"那要多久\"}\n",
        "滞报金怎么算\n",
        "{\"chat\": 7}\n",
    );
    let out = run(&["ask", "--json", "--config", &cfg(&site)], Some(input));
    assert_eq!(out.status.code(), Some(1), "a bad line is reported: {}", stderr(&out));
    assert!(stderr(&out).contains("line 5"), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        (lines[0]["chat"].as_str(), lines[0]["topic"].as_str()),
        (Some("a"), Some("proc-transit"))
    );
    // Chat b has no topic: its follow-up is asked back, not answered.
    assert_eq!(lines[1]["decision"], "handoff", "{}", lines[1]);
    assert!(lines[1]["topic"].is_null());
    // Chat a's follow-up is about its topic.
    assert_eq!(lines[2]["decision"], "answer", "{}", lines[2]);
    assert_eq!(lines[2]["topic"], "proc-transit");
    assert!(
        lines[2]["reply"].as_str().unwrap().contains("跨关区转关"),
        "{}",
        lines[2]
    );
    // A plain line is a question on its own, without a chat.
    assert!(lines[3].get("chat").is_none());
    assert_eq!(lines[3]["entry"]["id"], "proc-late-fee");
}

/// An aspect with words of its own that name another entry (转关 + 怎么办理) is a new matter,
/// not a follow-up about the topic, even when the topic's ways of asking mention those words.
#[test]
fn an_aspect_naming_another_matter_switches_the_topic() {
    let site = valid_site();
    let late = site.path().join("knowledge/procedure/late-fee.md");
    let text = std::fs::read_to_string(&late).unwrap();
    std::fs::write(
        &late,
        text.replacen("questions = [", "questions = [\"转关货物滞报金怎么起算\", ", 1),
    )
    .unwrap();
    let input = concat!(
        "{\"chat\": \"a\", \"question\": \"滞报金怎么算\"}\n",
        "{\"chat\": \"a\", \"question\": \"转关怎么办理\"}\n",
        "{\"chat\": \"a\", \"question\": \"那要多久\"}\n",
    );
    let out = run(&["ask", "--json", "--config", &cfg(&site)], Some(input));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["topic"], "proc-late-fee", "{}", lines[0]);
    assert_eq!(lines[1]["entry"]["id"], "proc-transit", "{}", lines[1]);
    assert_eq!(lines[1]["topic"], "proc-transit", "{}", lines[1]);
    // The next bare follow-up is about the new topic.
    assert_eq!(lines[2]["topic"], "proc-transit", "{}", lines[2]);
}

#[test]
fn ask_builds_a_missing_index_then_answers_with_json() {
    let site = valid_site();
    let out = run(&["ask", "--json", "转关要怎么办理？", "--config", &cfg(&site)], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out).matches("rebuilt it").count(), 1, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "candidates",
            "confidence",
            "decision",
            "entry",
            "question",
            "refer",
            "reply",
            "topic"
        ]
    );
    assert_eq!(v["decision"], "answer");
    assert_eq!(v["entry"]["id"], "proc-transit");
    assert_eq!(v["topic"], "proc-transit");
    assert_eq!(v["refer"], false);
    assert_eq!(v["entry"]["kind"], "procedure");
    assert_eq!(v["entry"]["title"], "跨关区转关");
    assert_eq!(v["candidates"][0]["id"], "proc-transit");
    let reply = v["reply"].as_str().unwrap();
    assert!(reply.contains("详询 12360"), "placeholders are filled: {reply}");
    assert!(reply.contains("法律依据：《海关法》第三十五条"), "{reply}");
    assert!(!reply.contains("**"), "plain text has no markup: {reply}");

    // The second run finds the index fresh and does not rebuild.
    let again = run(&["ask", "--config", &cfg(&site), "滞报金怎么算"], None);
    assert!(!stderr(&again).contains("rebuilt"), "{}", stderr(&again));
    assert!(stdout(&again).starts_with("【滞报金】"), "{}", stdout(&again));
}

#[test]
fn ask_batch_reads_lines_in_order_and_skips_blank_ones() {
    let site = valid_site();
    let out = run(
        &["--config", &cfg(&site), "ask", "--json"],
        Some("滞报金怎么算\n\n   \n你好\n今天西宁天气怎么样\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["question"], "滞报金怎么算");
    assert_eq!(lines[0]["decision"], "answer");
    assert_eq!(lines[1]["decision"], "smalltalk");
    assert_eq!(lines[2]["decision"], "handoff");
    assert!(lines[2]["reply"].as_str().unwrap().contains("12360"));
    assert!(lines[2]["entry"].is_null());
}

#[test]
fn ask_writes_nothing_but_the_index() {
    let site = valid_site();
    run(&["--config", &cfg(&site), "ask", "转关"], None);
    let mut names: Vec<String> = std::fs::read_dir(site.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["bot.toml", "index", "knowledge"]);
}

#[test]
fn a_stale_index_is_rebuilt_and_a_broken_edit_keeps_the_old_one_serving() {
    let site = valid_site();
    let k = site.path().join("knowledge/procedure/late-fee.md");
    assert_eq!(run(&["--config", &cfg(&site), "reindex"], None).status.code(), Some(0));

    // A valid edit: the next ask notices and answers from a private build (nothing published:
    // only `reindex` publishes, through the regression gate).
    let text = std::fs::read_to_string(&k)
        .unwrap()
        .replace("晚报关要交钱吗", "晚报关要交钱吗\", \"超期申报罚款");
    std::fs::write(&k, text).unwrap();
    let current = std::fs::read_to_string(site.path().join("index/CURRENT")).unwrap();
    let out = run(&["--config", &cfg(&site), "ask", "--json", "超期申报罚款"], None);
    assert!(stderr(&out).contains("stale"), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["entry"]["id"], "proc-late-fee");
    assert_eq!(
        std::fs::read_to_string(site.path().join("index/CURRENT")).unwrap(),
        current
    );
    assert_eq!(run(&["--config", &cfg(&site), "reindex"], None).status.code(), Some(0));

    // A broken edit: reindex refuses, and the previous index keeps answering.
    std::fs::write(&k, "broken").unwrap();
    let out = run(&["--config", &cfg(&site), "reindex"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("not reindexed"), "{}", stdout(&out));
    let out = run(&["--config", &cfg(&site), "ask", "--json", "超期申报罚款"], None);
    assert!(stderr(&out).contains("serving the previous index"), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["entry"]["id"], "proc-late-fee");
}

#[test]
fn broken_knowledge_without_any_index_is_a_clear_error() {
    let site = valid_site();
    std::fs::write(site.path().join("knowledge/procedure/late-fee.md"), "broken").unwrap();
    let out = run(&["--config", &cfg(&site), "ask", "滞报金"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("late-fee.md:1: the file does not start with front matter"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_config_key_is_named() {
    let site = valid_site();
    let path = site.path().join("bot.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[knowledge]", "[knowledge]\nfolder = \"x\"");
    std::fs::write(&path, text).unwrap();
    let out = run(&["--config", &cfg(&site), "check"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown field `folder`"), "{}", stderr(&out));
}

#[test]
fn chat_answers_and_a_number_picks_a_choice() {
    let site = shipped_site();
    let out = run(
        &["--config", &cfg(&site), "chat"],
        Some("你好\n知识产权海关保护备案怎么办\n退出\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("咨询助手"), "{text}");
    assert!(text.contains("【知识产权海关保护备案】"), "{text}");
    assert!(text.trim_end().ends_with("再见！"), "{text}");
}

#[test]
fn awkward_messages_get_calm_replies() {
    let site = valid_site();
    let long = "报关".repeat(5000);
    let input = format!("🎉🎉🎉🎉\n{long}\n请问怎么\n");
    let out = run(&["--config", &cfg(&site), "ask", "--json"], Some(&input));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0]["decision"], "smalltalk");
    assert!(v[0]["reply"].as_str().unwrap().contains("请用文字描述"));
    assert_eq!(v[1]["decision"], "handoff");
    assert!(v[1]["reply"].as_str().unwrap().contains("消息较长"));
    assert_eq!(v[2]["decision"], "handoff");
    assert!(v[2]["reply"].as_str().unwrap().contains("具体"));
}
