//! Defects found by probing (issue #9), each kept found: a closed standard output, a line that is
//! not UTF-8 in a batch, a promotion to an id that is a path, numbers out of range in bot.toml.

use std::process::{Command, Output, Stdio};

use customs_bot::tickets::{NewTicket, SqliteStore, TicketReason, TicketStore};

use crate::support::{run, stderr, stdout, valid_site};

fn cfg(site: &tempfile::TempDir) -> String {
    site.path().join("bot.toml").display().to_string()
}

/// Runs the binary with a standard output whose reader has already gone (`… | head -0`), so every
/// write fails with a broken pipe, deterministically.
fn run_with_closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_customs-bot"))
        .args(args)
        .env("RUST_LOG", "customs_bot=info")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn assert_quiet(out: &Output, code: i32, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{what}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{what}: {err}"
    );
}

#[test]
fn a_closed_standard_output_ends_commands_quietly_and_reindex_still_reindexes() {
    let site = valid_site();
    let c = cfg(&site);
    // A warning to print (an entry past its end date) so check and reindex have lines to write.
    let k = site.path().join("knowledge/faq/old.md");
    std::fs::write(
        &k,
        "+++\nid = \"faq-old\"\nkind = \"faq\"\ntitle = \"旧规定\"\nquestions = [\"旧规定是什么\"]\nkeywords = []\nlegal_basis = []\nupdated = 2020-01-01\nexpires = 2020-12-31\n+++\n旧规定。\n",
    )
    .unwrap();
    assert_quiet(&run_with_closed_stdout(&["--config", &c, "check"]), 0, "check");
    assert_quiet(&run_with_closed_stdout(&["--config", &c, "reindex"]), 0, "reindex");
    assert!(site.path().join("index/CURRENT").exists(), "reindex did its work");
    assert_quiet(
        &run_with_closed_stdout(&["--config", &c, "ask", "滞报金怎么算"]),
        0,
        "ask",
    );
    let batch = run_with_closed_stdout(&["--config", &c, "ask", "--json"]);
    assert_quiet(&batch, 0, "ask batch");
}

#[test]
fn a_batch_line_that_is_not_utf8_is_reported_by_number_and_the_rest_are_asked() {
    let site = valid_site();
    let mut child = Command::new(env!("CARGO_BIN_EXE_customs-bot"))
        .args(["--config", &cfg(&site), "ask", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        input.write_all("滞报金怎么算\n".as_bytes()).unwrap();
        input.write_all(b"\xff\xfe bad \xc3\n").unwrap();
        input.write_all("转关要怎么办理\n".as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a skipped line is a problem: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("line 2: not valid UTF-8"), "{}", stderr(&out));
    let answers: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(answers.len(), 2, "{}", stdout(&out));
    assert_eq!(answers[1]["entry"]["id"], "proc-transit");
}

#[test]
fn promoting_to_an_id_that_is_a_path_is_refused_before_anything_is_written() {
    let site = valid_site();
    let store = SqliteStore::open(&site.path().join("data/customs-bot.sqlite")).unwrap();
    let t = store
        .open_ticket(&NewTicket {
            channel: "web",
            chat: "web:x",
            question: "能打电话问吗",
            reason: TicketReason::Handoff,
            guesses: &[],
            question_id: None,
        })
        .unwrap();
    store.answer_ticket(t.id, "请拨打 12360。", "wang").unwrap();
    // Everything but the store's own files (SQLite may add and remove its -wal and -shm files).
    let listing = || -> Vec<std::path::PathBuf> {
        let mut l = crate::support::tree_listing(site.path());
        l.retain(|p| !p.starts_with("data"));
        l
    };
    let before = listing();
    for id in ["../../escaped", "../../../../tmp/customs-bot-escaped", "faq/x", "Faq-X"] {
        let out = run(
            &["--config", &cfg(&site), "review", "promote", &t.number(), "--new", id],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{id}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("is not a valid entry id"),
            "{id}: {}",
            stderr(&out)
        );
    }
    assert!(!std::path::Path::new("/tmp/customs-bot-escaped.md").exists());
    assert_eq!(listing(), before, "nothing written or removed");
    assert_eq!(
        store.ticket(t.id).unwrap().unwrap().state.as_str(),
        "answered",
        "the ticket was not closed"
    );
}

#[test]
fn numbers_out_of_range_in_bot_toml_stop_every_command_with_the_key_named() {
    let site = valid_site();
    let path = site.path().join("bot.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n[answer]\nanswer_coverage = nan\n")).unwrap();
    let out = run(&["--config", &cfg(&site), "ask", "滞报金怎么算"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("[answer] answer_coverage = NaN: must be a number from 0 to 1"),
        "{}",
        stderr(&out)
    );
    let out = run(&["--config", "/nonexistent/bot.toml", "check"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).matches("No such file or directory").count(),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn log_lines_carry_no_colour_codes_when_not_writing_to_a_terminal() {
    let site = valid_site();
    let out = run(&["--config", &cfg(&site), "ask", "滞报金怎么算"], None);
    assert!(stderr(&out).contains("rebuilt"), "{}", stderr(&out));
    assert!(!stderr(&out).contains('\u{1b}'), "{:?}", stderr(&out));
}
