//! A throwaway PostgreSQL server for the tests: `initdb` into a temporary folder, `pg_ctl start` on
//! a free 127.0.0.1 port with its socket in that folder, stopped (`pg_ctl stop -m immediate`) when
//! dropped. No mock: the store's tests run against the real server.
//!
//! The server binaries are found on PATH or under `/usr/lib/postgresql/*/bin` (Debian's package
//! `postgresql`, which `scripts/test` installs when missing). When they are missing the test fails
//! and says so — it never skips silently.
//!
//! Running as root (here and in CI): `initdb` and `postgres` refuse to run as root, so the folder is
//! given to the `postgres` user (created by the Debian package) and the server binaries run as that
//! user through `runuser -u postgres --`. As any other user they run as that user.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// A running PostgreSQL server, stopped on drop.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    databases: AtomicUsize,
}

/// The folder holding `initdb` and `pg_ctl`: on PATH, else the newest `/usr/lib/postgresql/*/bin`.
fn server_binaries() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file());
    if let Some(dir) = on_path {
        return dir;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "the PostgreSQL server binaries (initdb, pg_ctl) were found neither on PATH nor under \
             /usr/lib/postgresql/*/bin: run the tests with scripts/test, which installs them \
             (Debian package `postgresql`)"
        ),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl PgServer {
    /// Starts a fresh server and waits until it accepts connections.
    pub fn start() -> PgServer {
        let bin = server_binaries();
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(
                status.success(),
                "could not give {} to the postgres user",
                dir.path().display()
            );
        }
        let mut server = PgServer {
            dir,
            bin,
            port: 0,
            as_postgres,
            databases: AtomicUsize::new(0),
        };
        let data = server.data();
        let init = server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        // A port free a moment ago can be taken meanwhile: a few tries.
        let mut last = String::new();
        for _ in 0..3 {
            server.port = super::free_port();
            let started = server.pg_ctl_start();
            if started.status.success() {
                return server;
            }
            last = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&started.stdout),
                String::from_utf8_lossy(&started.stderr),
                std::fs::read_to_string(server.dir.path().join("server.log")).unwrap_or_default()
            );
        }
        panic!("the PostgreSQL server did not start: {last}");
    }

    /// One server shared by the tests running at the same time (each takes a database of its own):
    /// started when the first needs it, stopped when the last lets it go.
    pub fn shared() -> Arc<PgServer> {
        static SHARED: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(PgServer::start());
        *shared = Arc::downgrade(&server);
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server's programs, as the `postgres` user when this process is root.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()))
    }

    fn pg_ctl_start(&self) -> Output {
        let options = format!(
            // fsync off: what was committed survives the server's crash (`stop`), not the machine's.
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off \
             -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let data = self.data();
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    /// Stops the server now (a crash as far as clients can tell).
    pub fn stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Starts the server again after [`stop`](Self::stop), on the same port.
    pub fn restart(&self) {
        let started = self.pg_ctl_start();
        assert!(
            started.status.success(),
            "restarting: {}",
            String::from_utf8_lossy(&started.stderr)
        );
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The URL of the server's default database.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self) -> String {
        let name = format!("test_{}", self.databases.fetch_add(1, Ordering::SeqCst));
        let mut admin = connect(&self.url());
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        self.url_of(&name)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A plain client (on a thread of its own when called from async code is not needed: the tests
/// using it are synchronous).
pub fn connect(url: &str) -> postgres::Client {
    let mut tries = 0;
    loop {
        match postgres::Client::connect(url, postgres::NoTls) {
            Ok(c) => return c,
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("connecting to {url}: {e}"),
        }
    }
}
