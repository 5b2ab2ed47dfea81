//! Benchmark of the `ask` path: `cargo bench --bench ask` (add `-- --no-scale` to skip the
//! 65,000-article part, `-- --slowest` to list the slowest long messages). Prints the figures
//! BENCHMARKS.md records.
//!
//! Shipped knowledge base: index build time, per-question latency p50/p99 and questions per second
//! on one thread (the whole `Assistant::ask`: normalise, segment, search, decide, build the reply),
//! cold start of the binary to its first answer, and the peak memory of that process.
//! At scale: every article of ../shared/corpus/laws-corpus.tar.xz indexed as an entry, measured in
//! a child process so its peak memory is its own.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use customs_bot::app::Assistant;
use customs_bot::config::Config;
use customs_bot::index::{self, SearchIndex};
use customs_bot::knowledge::{Entry, Kind, Knowledge};

#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;
use support::{copy_tree, repo};

/// The questions of the labelled sets (dev, tune, held-out), in- and out-of-scope.
fn questions() -> Vec<String> {
    let mut out = Vec::new();
    for f in ["tests/data/dev.tsv", "tests/data/tune.tsv", "tests/data/heldout.tsv"] {
        let text = std::fs::read_to_string(repo().join(f)).unwrap();
        out.extend(
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| l.split_once('\t').map(|(_, q)| q.to_string())),
        );
    }
    out
}

/// The messages of the long-message set that are 100–450 characters long.
fn long_messages() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("tests/data/long-messages.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.splitn(4, '\t').nth(3).map(|m| m.replace("\\n", "\n")))
        .filter(|m| (100..=450).contains(&m.chars().count()))
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Runs every question `passes` times after a warm-up; prints p50/p99/mean/QPS.
fn latency(label: &str, assistant: &Assistant, questions: &[String], passes: usize) {
    latency_of(label, questions, passes, |q| {
        std::hint::black_box(assistant.ask(q));
    });
}

/// As [`latency`], for any way of answering (a conversation turn, a long message).
fn latency_of(label: &str, questions: &[String], passes: usize, answer: impl Fn(&str)) {
    for q in questions.iter().take(50) {
        answer(q);
    }
    let mut times = Vec::with_capacity(questions.len() * passes);
    let started = Instant::now();
    for _ in 0..passes {
        for q in questions {
            let t = Instant::now();
            answer(q);
            times.push(t.elapsed());
        }
    }
    let total = started.elapsed();
    times.sort();
    let n = times.len();
    println!(
        "{label}: {n} questions, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, mean {:.3} ms, {:.0} questions/s on one thread",
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.99)),
        ms(times[n - 1]),
        ms(total) / n as f64,
        n as f64 / total.as_secs_f64()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Peak resident memory of finished child processes, in MiB.
fn children_peak_mib() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

/// Peak resident memory of this process so far, in MiB.
fn own_peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn shipped() {
    let site = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("knowledge"), &site.path().join("knowledge"));
    std::fs::copy(repo().join("bot.toml"), site.path().join("bot.toml")).unwrap();
    let config = Config::load(&site.path().join("bot.toml")).unwrap();

    let t = Instant::now();
    let loaded = customs_bot::app::load_knowledge(&config);
    let load_ms = ms(t.elapsed());
    assert!(!loaded.has_errors(), "the shipped knowledge base must validate");
    let mut builds = Vec::new();
    for _ in 0..3 {
        let report = index::build(&loaded.knowledge, &config.index.dir).unwrap();
        builds.push(report.elapsed);
    }
    builds.sort();
    println!(
        "shipped knowledge base: {} entries; validate {:.1} ms; index build median {:.0} ms (of 3)",
        loaded.knowledge.entries.len(),
        load_ms,
        ms(builds[1])
    );

    let t = Instant::now();
    let assistant = Assistant::new(config.clone(), SearchIndex::open(&config.index.dir).unwrap());
    println!("open index (incl. jieba dictionary): {:.0} ms", ms(t.elapsed()));
    latency("shipped knowledge base, ask path", &assistant, &questions(), 20);
    let fresh = customs_bot::conversation::Conversation::default();
    latency_of(
        "shipped knowledge base, a first turn (converse)",
        &questions(),
        20,
        |q| {
            std::hint::black_box(assistant.converse(&fresh, q));
        },
    );
    let long = long_messages();
    if std::env::args().any(|a| a == "--slowest") {
        slowest(&assistant, &long);
    }
    latency_of(
        &format!(
            "shipped knowledge base, long messages of 100–450 characters ({})",
            long.len()
        ),
        &long,
        20,
        |m| {
            std::hint::black_box(assistant.converse(&fresh, m));
        },
    );

    // Cold start: the binary, from exec to its printed answer, with the index already built.
    let config_path = site.path().join("bot.toml");
    let mut starts: Vec<Duration> = (0..7).map(|_| time_ask(&config_path)).collect();
    starts.sort();
    println!(
        "cold start to first answer (customs-bot ask, index built): median {:.0} ms, min {:.0} ms, max {:.0} ms (7 runs); peak RSS {:.1} MiB",
        ms(starts[3]),
        ms(starts[0]),
        ms(starts[6]),
        children_peak_mib()
    );
    // A newcomer's very first run: no index yet, so it is built before the answer.
    let mut firsts: Vec<Duration> = (0..5)
        .map(|_| {
            std::fs::remove_dir_all(&config.index.dir).unwrap();
            time_ask(&config_path)
        })
        .collect();
    firsts.sort();
    println!(
        "first run on a fresh checkout (builds the index, then answers): median {:.0} ms, max {:.0} ms (5 runs)",
        ms(firsts[2]),
        ms(firsts[4])
    );
}

/// The five long messages slowest to answer (median of 15), each with the median time of reading
/// it whole (`ask`), which runs beside its sentences: where a long message's time goes.
fn slowest(assistant: &Assistant, long: &[String]) {
    let fresh = customs_bot::conversation::Conversation::default();
    let median = |answer: &dyn Fn()| {
        let mut times: Vec<Duration> = (0..15)
            .map(|_| {
                let t = Instant::now();
                answer();
                t.elapsed()
            })
            .collect();
        times.sort();
        times[7]
    };
    let mut by_time: Vec<(Duration, &String)> = long
        .iter()
        .map(|m| {
            let time = median(&|| {
                std::hint::black_box(assistant.converse(&fresh, m));
            });
            (time, m)
        })
        .collect();
    by_time.sort();
    for (time, m) in by_time.iter().rev().take(5) {
        let whole = median(&|| {
            std::hint::black_box(assistant.ask(m));
        });
        let opening: String = m.chars().take(24).collect();
        println!(
            "slow long message: {:.3} ms (read whole: {:.3} ms), {} characters: {opening}…",
            ms(*time),
            ms(whole),
            m.chars().count()
        );
    }
}

/// Runs `customs-bot ask` once and times it from exec to exit.
fn time_ask(config: &Path) -> Duration {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_customs-bot"))
        .args([
            "--config",
            &config.display().to_string(),
            "ask",
            "知识产权海关保护备案怎么办",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    t.elapsed()
}

/// Articles of the laws corpus as knowledge entries.
fn corpus_entries(dir: &Path) -> Vec<Entry> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).unwrap() {
            let p = item.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "md") && !p.ends_with("_index.md") {
                files.push(p);
            }
        }
    }
    files.sort();
    let updated = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let mut entries = Vec::new();
    for (f, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).unwrap();
        let law = text
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .unwrap_or("")
            .trim()
            .to_string();
        let mut current: Option<(String, String)> = None;
        let flush = |cur: Option<(String, String)>, entries: &mut Vec<Entry>| {
            if let Some((article, body)) = cur {
                let title = format!("《{law}》{article}");
                entries.push(Entry {
                    id: format!("law-{f}-{}", entries.len()),
                    kind: Kind::Policy,
                    title: title.clone(),
                    questions: vec![title],
                    keywords: Vec::new(),
                    legal_basis: Vec::new(),
                    updated,
                    effective: None,
                    expires: None,
                    related: Vec::new(),
                    supersedes: Vec::new(),
                    sources: Vec::new(),
                    body,
                    source: path.display().to_string(),
                });
            }
        };
        for line in text.lines() {
            let line = line.trim();
            let is_article = line.starts_with('第')
                && line
                    .find('条')
                    .is_some_and(|i| i <= 30 && line[i + '条'.len_utf8()..].starts_with([' ', '　']));
            if is_article {
                flush(current.take(), &mut entries);
                let i = line.find('条').unwrap() + '条'.len_utf8();
                current = Some((line[..i].to_string(), line[i..].trim().to_string()));
            } else if line.starts_with('#') || line.starts_with("<!--") {
                flush(current.take(), &mut entries);
            } else if let Some((_, body)) = current.as_mut()
                && !line.is_empty()
            {
                body.push('\n');
                body.push_str(line);
            }
        }
        flush(current.take(), &mut entries);
    }
    entries
}

fn scale_child() {
    let corpus = tempfile::tempdir().unwrap();
    let archive = repo().join("../shared/corpus/laws-corpus.tar.xz");
    let status = Command::new("tar")
        .arg("-xJf")
        .arg(&archive)
        .arg("-C")
        .arg(corpus.path())
        .status()
        .unwrap();
    assert!(status.success(), "could not unpack {}", archive.display());
    let t = Instant::now();
    let entries = corpus_entries(corpus.path());
    let parse = t.elapsed();
    let lexicon = customs_bot::app::load_knowledge(&Config::load(&repo().join("bot.toml")).unwrap())
        .knowledge
        .lexicon;
    let knowledge = Knowledge {
        entries,
        lexicon,
        fingerprint: "laws-corpus".into(),
    };
    let root = tempfile::tempdir().unwrap();
    let report = index::build(&knowledge, root.path()).unwrap();
    println!(
        "laws corpus: {} articles as entries (parsed in {:.1} s); index build {:.1} s, {} documents",
        knowledge.entries.len(),
        parse.as_secs_f64(),
        report.elapsed.as_secs_f64(),
        report.documents
    );
    drop(knowledge);
    let mut config = Config::load(&repo().join("bot.toml")).unwrap();
    config.index.dir = root.path().to_path_buf();
    let t = Instant::now();
    let assistant = Assistant::new(config, SearchIndex::open(root.path()).unwrap());
    println!("laws corpus: open index {:.0} ms", ms(t.elapsed()));
    latency("laws corpus (65k entries), ask path", &assistant, &questions(), 3);
    println!(
        "laws corpus: peak RSS of this run (build + queries) {:.0} MiB",
        own_peak_mib()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--scale-child") {
        scale_child();
        return;
    }
    shipped();
    if !args.iter().any(|a| a == "--no-scale") {
        let status = Command::new(std::env::current_exe().unwrap())
            .arg("--scale-child")
            .status()
            .unwrap();
        assert!(status.success(), "the scale benchmark failed");
    }
}
