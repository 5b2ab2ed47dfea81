//! PostgreSQL only: several processes on one database, a server that goes away, a wrong URL.

use std::sync::Arc;
use std::time::Duration;

use customs_bot::config::TicketsConfig;
use customs_bot::tickets::*;

use super::{options, record};
use crate::support::postgres::{PgServer, connect};

#[test]
fn postgres_two_stores_opened_at_once_on_an_empty_database_both_migrate_once() {
    let server = PgServer::shared();
    let url = server.create_database();
    let openers: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PgStore::open(&url, options(), None).unwrap())
        })
        .collect();
    let stores: Vec<PgStore> = openers.into_iter().map(|t| t.join().unwrap()).collect();
    let mut c = connect(&url);
    let versions: Vec<i32> = c
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3], "each migration recorded once");
    // Both work on the same tables.
    let id = stores[0].record_question(&record("转关")).unwrap().id().unwrap();
    assert_eq!(stores[1].question_told(id).unwrap().unwrap().question, "转关");
}

#[test]
fn postgres_two_stores_at_once_give_one_key_and_record_feedback_once() {
    let server = PgServer::shared();
    let url = server.create_database();
    let a = Arc::new(PgStore::open(&url, options(), None).unwrap());
    let b = Arc::new(PgStore::open(&url, options(), None).unwrap());
    let ids: Vec<i64> = (0..20)
        .map(|i| a.record_question(&record(&format!("问题{i}"))).unwrap().id().unwrap())
        .collect();
    for id in ids {
        let racers: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|s| {
                std::thread::spawn(move || {
                    let key = s.question_key(id).unwrap();
                    let fb = s.feedback(QuestionRef::Id(id), "telegram", "42", false).unwrap();
                    (key, matches!(fb, Feedback::Recorded(..)))
                })
            })
            .collect();
        let got: Vec<(String, bool)> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(got[0].0, got[1].0, "one key for question {id}");
        assert_eq!(
            got.iter().filter(|(_, recorded)| *recorded).count(),
            1,
            "feedback once for {id}"
        );
    }
}

#[test]
fn postgres_a_server_that_is_down_spools_the_question_and_the_replay_stores_it_once() {
    let server = PgServer::start();
    let url = server.create_database();
    let dir = tempfile::tempdir().unwrap();
    let spool = spool_path(&dir.path().join("store.sqlite"));
    let quick = StoreOptions {
        log_budget: Duration::from_millis(300),
        busy_timeout: Duration::from_millis(500),
        ..options()
    };
    let store = PgStore::open(&url, quick, Some(spool.clone())).unwrap();
    assert!(store.record_question(&record("转关")).unwrap().id().is_some());
    server.stop();
    let started = std::time::Instant::now();
    let logged = store.record_question(&record("手机13812345678，滞报金")).unwrap();
    assert_eq!(logged, Logged::Spooled);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let kept = std::fs::read_to_string(&spool).unwrap();
    assert!(kept.contains("138****5678") && !kept.contains("13812345678"), "{kept}");
    assert!(store.replay_spool().is_err(), "nothing to replay into yet");
    server.restart();
    // The pool's old connections died with the server; the replay gets a new one.
    let mut replayed = Err(anyhow::anyhow!("not tried"));
    for _ in 0..20 {
        replayed = store.replay_spool();
        if replayed.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(replayed.unwrap(), 1);
    assert!(!spool.exists());
    // Written again as if a crash came before the spool's removal: stored once.
    std::fs::write(&spool, &kept).unwrap();
    assert_eq!(store.replay_spool().unwrap(), 0);
    assert_eq!(store.stats(1).unwrap().questions, 2);
    assert_eq!(
        store.recent_questions(1).unwrap()[0].question,
        "手机138****5678，滞报金"
    );
}

#[test]
fn postgres_an_unreachable_server_is_an_error_naming_the_setting_without_the_password() {
    let port = crate::support::free_port();
    let config = TicketsConfig {
        url: Some(customs_bot::config::Secret(format!(
            "postgres://bot:hunter2@127.0.0.1:{port}/customs"
        ))),
        ..TicketsConfig::default()
    };
    let err = format!("{:#}", open_store(&config, options()).err().expect("no server there"));
    assert!(err.contains("[tickets] url"), "{err}");
    assert!(
        err.contains(&format!("postgres://bot:***@127.0.0.1:{port}/customs")),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

/// Runs `customs-bot --config <site>/bot.toml <args>` with `CUSTOMS_BOT_DATABASE_URL` set.
fn run_with_database(site: &std::path::Path, url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_customs-bot"))
        .arg("--config")
        .arg(site.join("bot.toml"))
        .args(args)
        .env("CUSTOMS_BOT_DATABASE_URL", url)
        .env("RUST_LOG", "customs_bot=info")
        .output()
        .unwrap()
}

#[test]
fn postgres_the_commands_use_the_database_the_environment_names_and_fail_clearly_without_it() {
    let server = PgServer::shared();
    let url = server.create_database();
    let store = PgStore::open(&url, options(), None).unwrap();
    store.record_question(&record("转关怎么办")).unwrap();
    let site = crate::support::valid_site();
    let out = run_with_database(site.path(), &url, &["stats", "--days", "1", "--json"]);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["questions"], 1, "{stats}");
    assert!(
        !site.path().join("data/customs-bot.sqlite").exists(),
        "no SQLite file was made"
    );
    // Nothing listens there: a clear error naming the setting, without the password, exit non-zero.
    let port = crate::support::free_port();
    let wrong = format!("postgres://bot:hunter2@127.0.0.1:{port}/customs");
    let out = run_with_database(site.path(), &wrong, &["stats"]);
    let err = crate::support::stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("CUSTOMS_BOT_DATABASE_URL") && err.contains("bot:***@"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let out = run_with_database(site.path(), "mysql://bot@db/customs", &["history"]);
    let err = crate::support::stderr(&out);
    assert!(
        !out.status.success() && err.contains("must be a PostgreSQL URL"),
        "{err}"
    );
}
