//! Load over HTTP: `cargo bench --bench load` (env `LOAD_SECONDS`, default 10 per phase; `LOAD_RATE`,
//! default 500 questions per second for the fixed-rate phase). Prints the figures BENCHMARKS.md
//! records.
//!
//! For each store (SQLite, and PostgreSQL on a throwaway server of its own) and 1 and 3 `serve`
//! processes on the shipped knowledge: the processes are started on 127.0.0.1 (`serve --listen`),
//! then `POST /api/ask` questions from the labelled sets are sent to them in turn, as a load
//! balancer would —
//! - **saturated**: 32 connections each sending its next question as soon as the last is answered,
//!   for `LOAD_SECONDS`: the sustained questions per second, with p50/p99 latency;
//! - **fixed rate**: `LOAD_RATE` questions per second, started on schedule whatever the answers do,
//!   for `LOAD_SECONDS`: the rate achieved, p50/p99 latency and failures under that load.
//!
//! Every question is logged in the store before its reply (as in service), so the store is on the
//! path of every request. The load generator runs on the same machine (2 cores here): its own CPU
//! counts against the servers'.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;
use support::postgres::PgServer;
use support::{copy_tree, free_port, repo, run, stderr};

/// The questions of the labelled sets.
fn questions() -> Vec<String> {
    let mut out = Vec::new();
    for f in ["tests/data/dev.tsv", "tests/data/tune.tsv"] {
        let text = std::fs::read_to_string(repo().join(f)).unwrap();
        out.extend(
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| l.split('\t').nth(1))
                .map(str::to_string),
        );
    }
    out
}

/// A site with the shipped knowledge and bot.toml, made ready for load: no per-address limits
/// (all load comes from 127.0.0.1), the given store, little logging.
fn site(dir: &Path, database: Option<&str>) {
    copy_tree(&repo().join("knowledge"), &dir.join("knowledge"));
    let text = std::fs::read_to_string(repo().join("bot.toml")).unwrap();
    let mut config: toml::Table = text.parse().unwrap();
    let web = config.entry("web").or_insert(toml::Value::Table(toml::Table::new()));
    let web = web.as_table_mut().unwrap();
    web.insert("requests_per_minute".into(), 1_000_000_000.into());
    web.insert("max_connections_per_ip".into(), 100_000.into());
    web.insert("max_connections".into(), 1024.into());
    if let Some(url) = database {
        let tickets = config
            .entry("tickets")
            .or_insert(toml::Value::Table(toml::Table::new()));
        tickets.as_table_mut().unwrap().insert("url".into(), url.into());
    }
    std::fs::write(dir.join("bot.toml"), toml::to_string(&config).unwrap()).unwrap();
    let config = dir.join("bot.toml");
    let built = run(&["--config", config.to_str().unwrap(), "reindex"], None);
    assert!(built.status.success(), "reindex: {}", stderr(&built));
}

/// `n` serve processes over one site, stopped when dropped.
struct Replicas {
    children: Vec<Child>,
    addrs: Vec<SocketAddr>,
}

impl Replicas {
    fn start(dir: &Path, n: usize) -> Replicas {
        let mut replicas = Replicas {
            children: Vec::new(),
            addrs: Vec::new(),
        };
        for _ in 0..n {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_customs-bot"))
                .arg("--config")
                .arg(dir.join("bot.toml"))
                .args(["serve", "--listen", &addr.to_string()])
                .env_remove("TELOXIDE_TOKEN")
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            replicas.children.push(child);
            replicas.addrs.push(addr);
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        for addr in &replicas.addrs {
            while !ready(*addr) {
                assert!(Instant::now() < deadline, "{addr} did not become ready");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        replicas
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for child in &mut self.children {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
    }
}

/// `/readyz` answers 200 (a plain blocking check, before the load starts).
fn ready(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let mut out = String::new();
    s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_ok()
        && s.read_to_string(&mut out).is_ok()
        && out.starts_with("HTTP/1.1 200")
}

/// What one phase measured.
struct Figures {
    done: usize,
    failed: usize,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut l = self.latencies_ms.clone();
        l.sort_by(f64::total_cmp);
        if l.is_empty() {
            return f64::NAN;
        }
        l[((l.len() - 1) as f64 * p).round() as usize]
    }
}

async fn ask(client: &reqwest::Client, addr: SocketAddr, question: &str) -> Result<f64, String> {
    let started = Instant::now();
    let response = client
        .post(format!("http://{addr}/api/ask"))
        .json(&serde_json::json!({ "question": question }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(status.to_string());
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// 32 connections, each asking again as soon as it is answered.
async fn saturated(addrs: &[SocketAddr], questions: Arc<Vec<String>>, seconds: u64) -> Figures {
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (client, next, questions, addrs) = (client.clone(), next.clone(), questions.clone(), addrs.to_vec());
        tasks.spawn(async move {
            let (mut ok, mut failed) = (Vec::new(), 0);
            while Instant::now() < until {
                let i = next.fetch_add(1, Ordering::Relaxed);
                match ask(&client, addrs[i % addrs.len()], &questions[i % questions.len()]).await {
                    Ok(ms) => ok.push(ms),
                    Err(_) => failed += 1,
                }
            }
            (ok, failed)
        });
    }
    let mut figures = Figures {
        done: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies_ms: Vec::new(),
    };
    while let Some(Ok((ok, failed))) = tasks.join_next().await {
        figures.done += ok.len();
        figures.failed += failed;
        figures.latencies_ms.extend(ok);
    }
    figures.elapsed = started.elapsed();
    figures
}

/// `rate` questions per second, each started on schedule.
async fn fixed_rate(addrs: &[SocketAddr], questions: Arc<Vec<String>>, rate: u64, seconds: u64) -> Figures {
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..(rate * seconds) as usize {
        tick.tick().await;
        let (client, addr, q) = (
            client.clone(),
            addrs[i % addrs.len()],
            questions[i % questions.len()].clone(),
        );
        tasks.spawn(async move { ask(&client, addr, &q).await });
    }
    let mut figures = Figures {
        done: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies_ms: Vec::new(),
    };
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(Ok(ms)) => {
                figures.done += 1;
                figures.latencies_ms.push(ms);
            }
            _ => figures.failed += 1,
        }
    }
    figures.elapsed = started.elapsed();
    figures
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let seconds = env_number("LOAD_SECONDS", 10);
    let rate = env_number("LOAD_RATE", 500);
    let questions = Arc::new(questions());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let postgres = PgServer::start();
    println!(
        "| store | processes | saturated q/s | p50 ms | p99 ms | at {rate} q/s: achieved | p50 ms | p99 ms | failed |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for store in ["SQLite", "PostgreSQL"] {
        for n in [1, 3] {
            let dir = tempfile::tempdir().unwrap();
            let url = (store == "PostgreSQL").then(|| postgres.create_database());
            site(dir.path(), url.as_deref());
            let replicas = Replicas::start(dir.path(), n);
            let (full, steady) = runtime.block_on(async {
                // Warm up every process (index pages, connections), then measure.
                saturated(&replicas.addrs, questions.clone(), 2).await;
                let full = saturated(&replicas.addrs, questions.clone(), seconds).await;
                let steady = fixed_rate(&replicas.addrs, questions.clone(), rate, seconds).await;
                (full, steady)
            });
            drop(replicas);
            println!(
                "| {store} | {n} | {:.0} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} | {} |",
                full.per_second(),
                full.percentile(0.5),
                full.percentile(0.99),
                steady.per_second(),
                steady.percentile(0.5),
                steady.percentile(0.99),
                full.failed + steady.failed,
            );
        }
    }
}
