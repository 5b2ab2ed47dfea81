//! Helpers shared by the integration tests: fixture paths, temporary copies, running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod postgres;

/// The folder with test fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The repository root (where the shipped bot.toml and knowledge/ are).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a folder tree (fixtures are small).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.path().is_dir() {
            copy_tree(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), target).unwrap();
        }
    }
}

/// A temporary copy of the valid fixture (bot.toml + knowledge/), so tests may write an index.
pub fn valid_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid"), dir.path());
    dir
}

/// A temporary site with the shipped knowledge base and bot.toml, with its own index folder.
pub fn shipped_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("knowledge"), &dir.path().join("knowledge"));
    std::fs::copy(repo().join("bot.toml"), dir.path().join("bot.toml")).unwrap();
    dir
}

/// Runs the customs-bot binary with arguments and optional standard input.
pub fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_customs-bot"));
    cmd.args(args)
        .env("RUST_LOG", "customs_bot=info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the customs-bot binary runs");
    {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        if let Some(input) = stdin {
            pipe.write_all(input.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every path under `dir` (sorted, relative), to show that a command wrote or removed nothing.
pub fn tree_listing(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for item in std::fs::read_dir(dir).unwrap() {
            let path = item.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().to_path_buf());
            if path.is_dir() && !path.is_symlink() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Starts `cmd` with its standard error piped into a string the test can read while it runs (a
/// thread drains the pipe, so a chatty process never blocks on it).
pub fn spawn_logged(cmd: &mut Command) -> (std::process::Child, std::sync::Arc<std::sync::Mutex<String>>) {
    use std::io::Read;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the customs-bot binary runs");
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (mut pipe, sink) = (child.stderr.take().unwrap(), log.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (child, log)
}

/// A port on 127.0.0.1 that was free a moment ago (for a server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Questions logged in the last day (through the store's own figures).
pub fn question_count(store: &dyn customs_bot::tickets::TicketStore) -> i64 {
    store.stats(1).unwrap().questions
}

/// The last question logged.
pub fn last_question(store: &dyn customs_bot::tickets::TicketStore) -> customs_bot::tickets::QuestionRecord {
    store.recent_questions(1).unwrap().remove(0)
}
