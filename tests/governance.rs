//! Knowledge you can trust (issue #13): the regression gate on every reindex, the audit trail,
//! answer provenance (`review why`) and dated rules that supersede each other.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use customs_bot::app::{Assistant, today};
use customs_bot::config::Config;
use customs_bot::desk::{Channel, Chat, Desk};
use customs_bot::tickets::{SqliteStore, TicketStore};

use crate::support::{stdout, valid_site};

/// Runs the binary on `site` as the Unix user `user`.
fn run_as(site: &Path, user: &str, args: &[&str]) -> Output {
    let config = site.join("bot.toml");
    Command::new(env!("CARGO_BIN_EXE_customs-bot"))
        .args(["--config", config.to_str().unwrap()])
        .args(args)
        .env("USER", user)
        .env("RUST_LOG", "customs_bot=info")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn current(site: &Path) -> String {
    std::fs::read_to_string(site.join("index/CURRENT")).unwrap()
}

/// Generations on disk (to show a refused one left nothing behind).
fn generations(site: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(site.join("index"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("gen-") || n.starts_with("building-") || n.starts_with("trash-"))
        .collect();
    names.sort();
    names
}

/// A labelled set with a floor that the fixture knowledge meets.
pub(crate) fn write_checks(site: &Path) {
    let dir = site.join("knowledge/checks");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("basic.tsv"),
        "# min_right = 1.0\n# max_wrong = 0.0\nproc-late-fee\t滞报金怎么算\nproc-transit\t转关怎么办理\nOUT\t今天天气怎么样\n",
    )
    .unwrap();
}

/// The late-fee entry rewritten about something else: 滞报金怎么算 is no longer answered by it.
pub(crate) fn break_late_fee(site: &Path) {
    std::fs::write(
        site.join("knowledge/procedure/late-fee.md"),
        "+++\nid = \"proc-late-fee\"\nkind = \"procedure\"\ntitle = \"海关查验\"\nquestions = [\"查验要准备什么\"]\nkeywords = [\"查验\"]\nlegal_basis = [\"《海关法》第二十八条\"]\nupdated = 2026-11-28\n+++\n海关查验时，收发货人应当到场。\n",
    )
    .unwrap();
}

fn config(site: &Path) -> Config {
    Config::load(&site.join("bot.toml")).unwrap()
}

#[test]
fn an_edit_that_breaks_a_labelled_answer_is_refused_and_accept_publishes_it_with_who_accepted() {
    let dir = valid_site();
    let site = dir.path();
    write_checks(site);
    let out = run_as(site, "li", &["reindex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let before = current(site);

    break_late_fee(site);
    // A dry run shows the diff, switches nothing and says so in its exit code.
    let out = run_as(site, "li", &["reindex", "--dry-run"]);
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    assert!(stdout(&out).contains("changed: proc-late-fee"), "{}", stdout(&out));
    assert_eq!(current(site), before);

    let out = run_as(site, "li", &["reindex"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("basic.tsv: right 100.0% → 50.0% (floor 100.0%)"),
        "{text}"
    );
    assert!(
        text.contains("proc-late-fee → handoff (1):\n    「滞报金怎么算」  [basic.tsv]"),
        "{text}"
    );
    assert!(
        text.contains("refused: basic.tsv: right answers 50.0% are below the floor 100.0%"),
        "{text}"
    );
    // The old index keeps serving: CURRENT is unchanged, the refused generation is gone, and the
    // published index (what `serve` answers from) still answers with the old entry.
    assert_eq!(current(site), before);
    assert_eq!(generations(site), [before.trim().to_string()]);
    let serving = Assistant::start(config(site)).unwrap();
    assert_eq!(serving.ask("滞报金怎么算").entry.unwrap().id, "proc-late-fee");
    assert_eq!(serving.index().generation_name(), before.trim());

    // Accepted: published, and the audit trail says who accepted it.
    let out = run_as(site, "wang", &["reindex", "--accept"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("recorded as accepted by cli:wang"),
        "{}",
        stdout(&out)
    );
    assert_ne!(current(site), before);
    let fresh = Assistant::start(config(site)).unwrap();
    assert_ne!(
        fresh.ask("滞报金怎么算").entry.map(|e| e.id).as_deref(),
        Some("proc-late-fee")
    );

    let out = run_as(site, "li", &["history", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0]["gate"], "accepted");
    assert_eq!(rows[0]["who"], "cli:wang");
    assert_eq!(rows[0]["changed"], serde_json::json!(["proc-late-fee"]));
    assert_eq!(
        rows[0]["outside"],
        serde_json::json!(["proc-late-fee"]),
        "edited in the file directly"
    );
    assert!(rows[0]["detail"].as_str().unwrap().contains("basic.tsv"));
    assert_eq!(
        (rows[1]["gate"].as_str(), rows[1]["who"].as_str()),
        (Some("refused"), Some("cli:li"))
    );
    assert_eq!(rows[2]["gate"], "first");
    assert_eq!(rows[0]["fingerprint_before"], rows[1]["fingerprint_before"]);
    // One entry's history; the plain listing names the change made outside customs-bot.
    let out = run_as(site, "li", &["history", "--entry", "proc-transit"]);
    assert_eq!(
        stdout(&out).lines().filter(|l| l.starts_with('#')).count(),
        1,
        "only the first build"
    );
    let out = run_as(site, "li", &["history", "--entry", "proc-none"]);
    assert_eq!(stdout(&out).trim(), "no knowledge changes recorded");
    let out = run_as(site, "li", &["history", "--entry", "proc-late-fee"]);
    assert!(
        stdout(&out).contains("reindex by cli:wang — gate: accepted"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("changed outside customs-bot: proc-late-fee"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_answer_that_moves_to_another_entry_without_a_label_is_refused() {
    let dir = valid_site();
    let site = dir.path();
    assert_eq!(run_as(site, "li", &["reindex"]).status.code(), Some(0));
    // A question people asked, answered by the late-fee entry.
    let store = SqliteStore::open(&config(site).tickets.db).unwrap();
    let assistant = Arc::new(Assistant::start(config(site)).unwrap());
    let desk = Desk::new(assistant, Arc::new(store) as Arc<dyn TicketStore>);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answered = rt.block_on(desk.ask(&Chat::new(Channel::Web, "web:abc"), "滞报金怎么算"));
    assert_eq!(answered.reply.entry.unwrap().id, "proc-late-fee");

    break_late_fee(site);
    let out = run_as(site, "li", &["reindex"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("and 1 asked in the last 30 days"), "{text}");
    assert!(
        text.contains("refused: 1 question(s) people asked that were answered now get a different entry or none"),
        "{text}"
    );
}

#[test]
fn review_why_reproduces_a_reply_after_the_entry_was_edited_and_reindexed() {
    let dir = valid_site();
    let site = dir.path();
    assert_eq!(run_as(site, "li", &["reindex"]).status.code(), Some(0));
    let config = config(site);
    let office = config.office.clone();
    let store = Arc::new(SqliteStore::open(&config.tickets.db).unwrap());
    let assistant = Arc::new(Assistant::start(config).unwrap());
    let generation = assistant.index().generation_name();
    let desk = Desk::new(assistant, store.clone() as Arc<dyn TicketStore>);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answered = rt.block_on(desk.ask(&Chat::new(Channel::Telegram, "42"), "滞报金怎么算"));
    let id = answered.question_id.unwrap();
    let sent = answered.reply.plain(&office);
    assert!(sent.contains("十四日内"), "{sent}");

    // The entry is edited (the rule text and its date) and published.
    let path = site.join("knowledge/procedure/late-fee.md");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("十四日内", "十五日内")
        .replace("updated = 2026-11-26", "updated = 2026-11-28");
    std::fs::write(&path, edited).unwrap();
    let out = run_as(site, "li", &["reindex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let out = run_as(site, "li", &["review", "why", &id.to_string(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["provenance"]["reply"], sent.as_str(), "the reply exactly as sent");
    assert_eq!(v["provenance"]["generation"], generation.as_str());
    assert_eq!(v["entries"][0][0]["id"], "proc-late-fee");
    assert_eq!(v["entries"][0][0]["updated"], "2026-11-26");
    assert_eq!(v["entries"][0][1]["since"], "changed");
    assert_eq!(v["entries"][0][1]["updated"], "2026-11-28");

    let out = run_as(site, "li", &["review", "why", &id.to_string()]);
    let text = stdout(&out);
    assert!(text.contains("十四日内") && !text.contains("十五日内"), "{text}");
    assert!(text.contains("所用条目：proc-late-fee（2026-11-26 版"), "{text}");
    assert!(text.contains("此后已修改（现为 2026-11-28 版"), "{text}");
    let out = run_as(site, "li", &["review", "why", "999"]);
    assert_ne!(out.status.code(), Some(0));
}

/// Writes the fixture's late-fee entry as expired yesterday and a new entry that supersedes it.
fn supersede_late_fee(site: &Path) -> chrono::NaiveDate {
    let yesterday = today().pred_opt().unwrap();
    let path = site.join("knowledge/procedure/late-fee.md");
    let old = std::fs::read_to_string(&path).unwrap().replace(
        "updated = 2026-11-26",
        &format!("updated = 2026-11-26\nexpires = {yesterday}"),
    );
    std::fs::write(&path, old).unwrap();
    std::fs::write(
        site.join("knowledge/procedure/late-fee-new.md"),
        "+++\nid = \"proc-late-fee-new\"\nkind = \"procedure\"\ntitle = \"滞报金（现行）\"\nquestions = [\"滞报金新规定是什么\"]\nkeywords = [\"新规\"]\nlegal_basis = [\"《海关法》第二十四条\"]\nupdated = 2026-11-28\nsupersedes = [\"proc-late-fee\"]\n+++\n现行规定：滞报金按日计算。\n",
    )
    .unwrap();
    today()
}

#[test]
fn an_expired_entry_with_a_successor_is_answered_by_the_successor() {
    let dir = valid_site();
    let site = dir.path();
    let ended = supersede_late_fee(site);
    assert_eq!(run_as(site, "li", &["reindex"]).status.code(), Some(0));
    let assistant = Assistant::start(config(site)).unwrap();
    let reply = assistant.ask("晚报关要交钱吗");
    assert_eq!(reply.entry.as_ref().unwrap().id, "proc-late-fee-new");
    let text = reply.plain(&assistant.config().office);
    let lead = format!(
        "原规定「滞报金」自{}起停止执行，现行规定：",
        ended.format("%Y年%-m月%-d日")
    );
    assert!(text.starts_with(&lead), "{text}");
    assert!(text.contains("现行规定：滞报金按日计算。"), "{text}");
    // Said once, at the end: where the authoritative text is.
    assert_eq!(text.matches("以海关总署公布为准").count(), 1, "{text}");
    assert!(text.trim_end().ends_with("以海关总署公布为准。"), "{text}");
    // The old entry chosen directly (an old button) is answered by the successor too.
    let chosen = assistant.answer_entry("proc-late-fee").unwrap();
    assert_eq!(chosen.entry.unwrap().id, "proc-late-fee-new");

    // `expiring` lists it with what replaces it.
    let out = run_as(site, "li", &["expiring", "--days", "30"]);
    let text = stdout(&out);
    assert!(text.contains("proc-late-fee  expired on"), "{text}");
    assert!(text.contains("superseded by `proc-late-fee-new`"), "{text}");
}

#[test]
fn an_expired_entry_without_a_successor_is_never_answered() {
    let dir = valid_site();
    let site = dir.path();
    supersede_late_fee(site);
    std::fs::remove_file(site.join("knowledge/procedure/late-fee-new.md")).unwrap();
    assert_eq!(run_as(site, "li", &["reindex"]).status.code(), Some(0));
    let assistant = Assistant::start(config(site)).unwrap();
    assert_eq!(assistant.ask("晚报关要交钱吗").entry, None);
    assert!(assistant.answer_entry("proc-late-fee").is_none());
}

#[test]
fn check_rejects_a_dangling_supersedes_and_warns_about_entries_expiring_soon() {
    let dir = valid_site();
    let site = dir.path();
    let path = site.join("knowledge/procedure/transit.md");
    let soon = today() + chrono::Duration::days(10);
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "updated = 2026-11-26",
        &format!("updated = 2026-11-26\nexpires = {soon}\nsupersedes = [\"proc-gone\"]"),
    );
    std::fs::write(&path, text).unwrap();
    let out = run_as(site, "li", &["check"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("`supersedes` names `proc-gone`, which is no entry's id"),
        "{text}"
    );
    assert!(
        text.contains(&format!("warning: `proc-transit` expires on {soon} (in 10 days)")),
        "{text}"
    );
}

#[test]
fn the_shipped_checks_pass_with_margin() {
    // The shipped knowledge meets the floors of the labelled sets it ships with.
    let dir = crate::support::shipped_site();
    let site = dir.path();
    assert_eq!(run_as(site, "li", &["reindex"]).status.code(), Some(0));
    let out = run_as(site, "li", &["reindex", "--dry-run"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("dev.tsv: right") && text.contains("tune.tsv: right"),
        "{text}"
    );
    assert!(!text.contains("refused"), "{text}");
}

#[test]
fn a_promotion_goes_through_the_gate_and_a_refused_one_is_undone() {
    use customs_bot::tickets::{NewTicket, TicketReason};

    let dir = valid_site();
    let site = dir.path();
    write_checks(site);
    assert_eq!(run_as(site, "li", &["reindex"]).status.code(), Some(0));
    let before = current(site);
    let store = SqliteStore::open(&config(site).tickets.db).unwrap();
    let ticket = store
        .open_ticket(&NewTicket {
            channel: "telegram",
            chat: "42",
            question: "滞报金怎么算呀",
            reason: TicketReason::Handoff,
            guesses: &[],
            question_id: None,
        })
        .unwrap();
    let transit = site.join("knowledge/procedure/transit.md");
    let original = std::fs::read_to_string(&transit).unwrap();

    // Adding the late-fee question to the transit entry breaks a labelled answer: refused, undone.
    let number = ticket.number();
    let out = run_as(site, "li", &["review", "promote", &number, "--to", "proc-transit"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("refused: basic.tsv"), "{text}");
    assert!(text.contains("the edit was undone and the ticket stays open"), "{text}");
    assert_eq!(std::fs::read_to_string(&transit).unwrap(), original);
    assert_eq!(current(site), before);
    assert_eq!(store.ticket(ticket.id).unwrap().unwrap().state.as_str(), "open");

    // Accepted: published, the ticket closed, and the history names the promotion and who.
    let out = run_as(
        site,
        "zhao",
        &["review", "promote", &number, "--to", "proc-transit", "--accept"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(std::fs::read_to_string(&transit).unwrap().contains("滞报金怎么算呀"));
    assert_ne!(current(site), before);
    assert_eq!(
        store
            .ticket(ticket.id)
            .unwrap()
            .unwrap()
            .close_reason
            .map(|r| r.as_str()),
        Some("promoted")
    );
    let changes = store.changes(Some("proc-transit"), 10).unwrap();
    assert_eq!(
        (
            changes[0].action.as_str(),
            changes[0].who.as_str(),
            changes[0].gate.as_str()
        ),
        ("promote", "cli:zhao", "accepted")
    );
    assert!(
        changes[0].outside.is_empty(),
        "made through customs-bot: {:?}",
        changes[0].outside
    );
    assert_eq!(changes[1].gate, "refused");
}

#[test]
fn a_lexicon_edit_is_listed_as_changed_outside_customs_bot() {
    let dir = valid_site();
    let site = dir.path();
    assert_eq!(run_as(site, "li", &["reindex"]).status.code(), Some(0));
    let synonyms = site.join("knowledge/lexicon/synonyms.txt");
    let text = std::fs::read_to_string(&synonyms).unwrap();
    std::fs::write(&synonyms, format!("{text}\n查验 检查\n")).unwrap();
    let out = run_as(site, "li", &["reindex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("; the lexicon changed"), "{}", stdout(&out));
    let store = SqliteStore::open(&config(site).tickets.db).unwrap();
    let last = store.changes(None, 1).unwrap().remove(0);
    assert_eq!(last.outside, ["lexicon/"]);
    assert_ne!(
        last.fingerprint_before.as_deref(),
        Some(last.fingerprint_after.as_str())
    );
}
