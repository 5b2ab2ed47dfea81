//! The web front as deployed: the real `customs-bot serve` binary on 127.0.0.1 with a temporary
//! site and no Telegram token. Slow and half-sent requests, the connection caps, stopping with
//! clients still attached, and what reaches the log. Traffic is bounded in count and time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{copy_tree, fixtures, free_port, spawn_logged};

/// A running `customs-bot serve`, killed when dropped.
struct Serve {
    child: Child,
    /// The ticket store (the default `[tickets] db` beside bot.toml).
    db: std::path::PathBuf,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` on the valid fixture with `web` appended to its `[web]` table, and waits until
/// it accepts connections.
fn start(web: &str) -> Serve {
    start_logging(web, "customs_bot=info")
}

/// [`start`] with `RUST_LOG` set to `filter`.
fn start_logging(web: &str, filter: &str) -> Serve {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid/knowledge"), &dir.path().join("knowledge"));
    let port = free_port();
    std::fs::write(
        dir.path().join("bot.toml"),
        format!(
            "[office]\noffice_name = \"测试海关\"\nhotline = \"12360\"\nconsult_phone = \"测试咨询电话\"\n\
             [web]\nlisten = \"127.0.0.1:{port}\"\n{web}\n"
        ),
    )
    .unwrap();
    let (child, stderr) = spawn_logged(
        Command::new(env!("CARGO_BIN_EXE_customs-bot"))
            .arg("--config")
            .arg(dir.path().join("bot.toml"))
            .arg("serve")
            .env_remove("TELOXIDE_TOKEN")
            .env("RUST_LOG", filter),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let serve = Serve {
        db: dir.path().join("data/customs-bot.sqlite"),
        child,
        addr,
        stderr,
        _dir: dir,
    };
    // Ready when a whole request is served (the probe's connection is closed by then, so it holds
    // no connection slot).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = s.write_all(b"GET /browse HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "serve did not start: {}",
            serve.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    serve
}

impl Serve {
    /// Sends SIGTERM and waits at most `limit` for the process to end.
    fn terminate(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let started = Instant::now();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some((status, started.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn log(&self) -> String {
        // Give the reader thread a moment to drain the pipe after the process ended.
        std::thread::sleep(Duration::from_millis(200));
        self.stderr.lock().unwrap().clone()
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s
    }

    /// One whole request; the response as text.
    fn request(&self, raw: &str) -> String {
        let mut s = self.connect();
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }
}

fn ask(question: &str) -> String {
    let body = format!(r#"{{"question":"{question}"}}"#);
    format!(
        "POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Reads until the server closes the connection (or resets it), waiting at most until `deadline`;
/// what it sent, and when it closed (`None`: still open at the deadline).
fn until_closed(mut s: TcpStream, since: Instant, deadline: Instant) -> (String, Option<Duration>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return (String::from_utf8_lossy(&out).into_owned(), None);
            }
            Err(_) => break,
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), Some(since.elapsed()))
}

/// Regression (issue #9, item 3): 1,000 half-sent POSTs stayed open after 65 s.
#[test]
fn half_sent_requests_are_closed_within_the_timeouts() {
    let serve = start(
        "header_timeout_seconds = 1\nbody_timeout_seconds = 1\nmax_connections_per_ip = 64\nrequests_per_minute = 1000\n",
    );
    let started = Instant::now();
    let mut half_headers = Vec::new();
    let mut half_bodies = Vec::new();
    for i in 0..100 {
        let mut s = serve.connect();
        // Writes may fail on connections the server already closed (over the per-address cap).
        if i % 2 == 0 {
            let _ = s.write_all(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Ty");
            half_headers.push(s);
        } else {
            let _ = s.write_all(
                b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"question\":",
            );
            half_bodies.push(s);
        }
    }
    // Every one must be closed within the 1 s timeouts + margin (the old server kept them all).
    let deadline = started + Duration::from_secs(5);
    let (mut latest, mut open, mut timed_out) = (Duration::ZERO, 0, 0);
    for s in half_headers.into_iter().chain(half_bodies) {
        match until_closed(s, started, deadline) {
            (response, Some(closed_after)) => {
                latest = latest.max(closed_after);
                timed_out += usize::from(response.starts_with("HTTP/1.1 408"));
            }
            (_, None) => open += 1,
        }
    }
    assert_eq!(
        open, 0,
        "half-sent requests still open 5 s after they were sent (the others closed by {latest:?})"
    );
    assert!(timed_out > 0, "a body that stops coming gets 408 Request Timeout");
    // The server is still there for everyone else.
    let response = serve.request(&ask("转关怎么办理"));
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

/// Connections beyond `max_connections_per_ip` from one address are closed at once, so one client
/// cannot hold every connection slot.
#[test]
fn connections_per_address_are_capped() {
    let serve = start("header_timeout_seconds = 20\nmax_connections_per_ip = 3\n");
    let held: Vec<TcpStream> = (0..3).map(|_| serve.connect()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let (response, closed_after) = until_closed(serve.connect(), started, started + Duration::from_secs(5));
    assert!(
        response.is_empty() && closed_after.is_some(),
        "the fourth connection is closed at once, not after the 20 s header timeout ({closed_after:?}): {response}"
    );
    drop(held);
    // The server sees the three close (at once, unless the machine is busy).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = serve.request(&ask("转关怎么办理"));
        if response.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "slots come back: {response}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Regression (issue #9, item 3): one half-sent request kept `serve` from stopping on SIGTERM
/// (still running after 30 s).
#[test]
fn half_sent_requests_do_not_keep_serve_from_stopping() {
    let mut serve = start("header_timeout_seconds = 60\nbody_timeout_seconds = 60\nshutdown_grace_seconds = 1\n");
    let mut a = serve.connect();
    a.write_all(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Ty").unwrap();
    let mut b = serve.connect();
    b.write_all(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let Some((status, took)) = serve.terminate(Duration::from_secs(10)) else {
        panic!("serve still runs 10 s after SIGTERM: {}", serve.log());
    };
    assert!(status.success(), "{status:?}: {}", serve.log());
    assert!(
        took < Duration::from_secs(4),
        "serve stops within its 1 s grace (+ margin), took {took:?}"
    );
    drop((a, b));
}

/// Regression (issue #9, item 4): a login name with a line break was logged raw and forged an
/// `INFO operator logged in name=admin` line.
#[test]
fn a_login_name_cannot_forge_a_log_line() {
    let mut serve = start("");
    let body = "name=x%0AINFO+operator+logged+in+name%3Dadmin%0D%0A&password=guess";
    let response = serve.request(&format!(
        "POST /ops/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(serve.terminate(Duration::from_secs(15)).is_some());
    let log = serve.log();
    assert!(log.contains("failed login"), "{log}");
    for line in log.lines() {
        assert!(
            !line.trim_start().starts_with("INFO operator logged in") && !line.contains(" INFO operator logged in"),
            "forged line: {line:?}\n{log}"
        );
    }
    assert!(
        log.contains(r#"name="x\nINFO operator logged in name=admin\r\n""#),
        "the name is logged escaped: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal: {log:?}"
    );
}

/// The session cookie a response sets (`name=value`).
fn set_cookie(response: &str) -> String {
    let line = response
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("a cookie: {response}"));
    line["set-cookie:".len()..]
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// A ticket's key — in the kiosk's QR code, in the web chat's ticket link, in a query string —
/// never reaches the log, even at trace level, and every request is logged with its path and
/// status. (Checked on the real process's stderr: a subscriber captured inside the test binary
/// shares its callsites with every test running beside it.)
#[test]
fn ticket_keys_never_reach_the_log() {
    let mut serve = start_logging("", "customs_bot=trace,tower_http=trace");
    let home = serve.request("GET /kiosk HTTP/1.1\r\nHost: kiosk.local\r\nConnection: close\r\n\r\n");
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    let cookie = set_cookie(&home);
    let post = |path: &str, body: &str| {
        serve.request(&format!(
            "POST {path} HTTP/1.1\r\nHost: kiosk.local\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    };
    // 西宁明天天气怎么样: not a customs matter, handed to a person with a ticket.
    let asked = post(
        "/kiosk/ask",
        "q=%E8%A5%BF%E5%AE%81%E6%98%8E%E5%A4%A9%E5%A4%A9%E6%B0%94%E6%80%8E%E4%B9%88%E6%A0%B7",
    );
    assert!(asked.contains("T000001") && asked.contains("<svg"), "{asked}");
    // 找人工 with a note of its own: a second ticket.
    let person = post(
        "/kiosk/person",
        "q=%E6%83%B3%E9%97%AE%E5%AE%A0%E7%89%A9%E9%9A%94%E7%A6%BB",
    );
    assert!(person.contains("T000002") && person.contains("<svg"), "{person}");
    // The web chat: its ticket link, opened with the right key and with a wrong one.
    let body = serde_json::json!({ "question": "西宁明天天气怎么样" }).to_string();
    let reply = serve.request(&format!(
        "POST /chat/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let json: serde_json::Value = serde_json::from_str(reply.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let url = json["ticket"]["url"].as_str().expect("a ticket link").to_string();
    assert!(url.starts_with("/ticket/T000003?key="), "{url}");
    let page = serve.request(&format!("GET {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let wrong = "0123456789abcdef0123456789abcdef";
    let page = serve.request(&format!(
        "GET /ticket/T000003?key={wrong} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));
    assert!(page.starts_with("HTTP/1.1 404"), "{page}");
    assert!(serve.terminate(Duration::from_secs(15)).is_some());
    let log = serve.log();
    assert!(
        log.contains("path=/kiosk/ask") && log.contains("path=/chat/ask") && log.contains("ticket opened"),
        "{log}"
    );
    assert!(
        log.contains("path=/ticket/T000003") && log.contains("status=200") && log.contains("status=404"),
        "each request has its span, with its path and status: {log}"
    );
    use customs_bot::tickets::TicketStore as _;
    let store = customs_bot::tickets::SqliteStore::open(&serve.db).unwrap();
    assert!(!log.contains(wrong), "{log}");
    for id in [1, 2, 3] {
        let key = store.ticket(id).unwrap().expect("the ticket").access_key;
        assert!(!log.contains(&key), "ticket {id}'s key in the log: {log}");
    }
    assert!(!log.contains("key="), "{log}");
}
