//! The spool: questions the database did not take in time, as JSON lines beside it, fsynced, and
//! their replay into the database (whichever store it is).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{QuestionRecord, mask, random_key};

/// One logged question as written, in the database and in the spool (the text already masked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct QuestionRow {
    pub(super) uid: String,
    pub(super) at: String,
    pub(super) channel: String,
    pub(super) chat: String,
    pub(super) question: String,
    pub(super) decision: String,
    pub(super) entry: Option<String>,
    pub(super) confidence: f32,
    pub(super) latency_ms: f32,
    /// Provenance (absent in spools written before it was kept): the generation, the reply as
    /// sent (masked) and the entries used (JSON).
    #[serde(default)]
    pub(super) generation: Option<String>,
    #[serde(default)]
    pub(super) reply: Option<String>,
    #[serde(default)]
    pub(super) sources: Option<String>,
}

impl QuestionRow {
    /// The row for a question about to be logged: a fresh `uid`, the time now (RFC 3339, UTC,
    /// milliseconds), the question and the reply masked.
    pub(super) fn new(q: &QuestionRecord) -> Self {
        Self {
            uid: random_key(),
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            channel: q.channel.clone(),
            chat: q.chat.clone(),
            question: mask(&q.question),
            decision: q.decision.clone(),
            entry: q.entry.clone(),
            confidence: q.confidence,
            latency_ms: q.latency_ms,
            generation: q.provenance.as_ref().map(|p| p.generation.clone()),
            reply: q.provenance.as_ref().map(|p| mask(&p.reply)),
            sources: q
                .provenance
                .as_ref()
                .and_then(|p| serde_json::to_string(&p.entries).ok()),
        }
    }
}

/// Moves the questions kept in `spool` into the database through `insert` (which stores them in
/// one transaction and returns how many were new). Idempotent: `insert` skips a question already
/// there (a replay interrupted by a crash) by its `uid`. The spool is removed once its questions
/// are in the database, unless more arrived meanwhile (the next replay takes those). Lines that
/// cannot be read (torn by a crash mid-write) are moved to `….rejected.jsonl`, never dropped.
/// Returns how many questions were added.
pub(super) fn replay(
    spool: &Path,
    insert: impl FnOnce(&[QuestionRow]) -> anyhow::Result<usize>,
) -> anyhow::Result<usize> {
    if !spool.exists() {
        return Ok(0);
    }
    let bytes = {
        let _lock = lock_spool(spool)?;
        match std::fs::read(spool) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).with_context(|| format!("reading {}", spool.display())),
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let (mut rows, mut rejected) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<QuestionRow>(line) {
            Ok(r) => rows.push(r),
            Err(_) => rejected.push(line),
        }
    }
    let added = insert(&rows)?;
    let _lock = lock_spool(spool)?;
    let len = std::fs::metadata(spool).map(|m| m.len()).unwrap_or(0);
    if len == bytes.len() as u64 {
        if !rejected.is_empty() {
            let to = spool.with_extension("rejected.jsonl");
            let mut f = OpenOptions::new().create(true).append(true).open(&to)?;
            f.write_all(format!("{}\n", rejected.join("\n")).as_bytes())?;
            f.sync_all()?;
            tracing::error!(lines = rejected.len(), file = %to.display(), "spool lines that could not be read were moved aside");
        }
        std::fs::remove_file(spool).with_context(|| format!("removing {}", spool.display()))?;
        sync_dir(spool)?;
    }
    if added > 0 {
        tracing::info!(questions = added, "replayed questions from the spool into the database");
    }
    Ok(added)
}

/// Holds the spool's lock file (an OS file lock, released when dropped, also by a killed process),
/// so appends and a replay's removal never interleave, across threads and processes.
pub(super) fn lock_spool(spool: &Path) -> anyhow::Result<File> {
    let path = spool.with_extension("lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.lock().with_context(|| format!("locking {}", path.display()))?;
    Ok(f)
}

/// Appends one question to the spool and makes it durable before returning.
pub(super) fn append_spool(spool: &Path, row: &impl Serialize) -> anyhow::Result<()> {
    let _lock = lock_spool(spool)?;
    let existed = spool.exists();
    let mut f = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(spool)
        .with_context(|| format!("opening {}", spool.display()))?;
    let mut line = serde_json::to_string(row)?;
    line.push('\n');
    // A line torn by a crash mid-write must not swallow this one.
    if f.metadata()?.len() > 0 {
        let mut last = [0u8];
        f.seek(SeekFrom::End(-1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, '\n');
        }
    }
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", spool.display()))?;
    if !existed {
        sync_dir(spool)?;
    }
    Ok(())
}

/// Makes a file's creation or removal durable (fsync of its folder).
pub(super) fn sync_dir(file: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}
