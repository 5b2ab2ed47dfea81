//! The spool: questions the database did not take in time, as JSON lines beside it, fsynced.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

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
