//! The command line: one `Cli` struct, one `Command` enum, one file per subcommand.
//!
//! `--config PATH` is global, so it works before or after the subcommand. Subcommands print for
//! people on stdout, log to stderr, and return a [`Code`]; only `main` turns it into an exit code.

mod ask;
mod chat;
mod check;
mod expiring;
mod gaps;
mod hash_password;
mod history;
mod reindex;
mod review;
mod serve;
mod stats;
mod why;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;

/// customs-bot — a customs consultation assistant that answers from a curated knowledge base and
/// hands off honestly when it is not sure.
#[derive(Debug, Parser)]
#[command(name = "customs-bot", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(long, global = true, default_value = "bot.toml", value_name = "PATH")]
    pub config: PathBuf,
    /// More logging (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the knowledge folder and report every problem.
    Check(check::Args),
    /// Build the search index, pass it through the regression gate, and switch to it atomically.
    Reindex(reindex::Args),
    /// The audit trail of knowledge changes: reindexes and promotions, who, what, the gate's result.
    History(history::Args),
    /// Entries that expire within N days (or have expired), and what replaces them.
    Expiring(expiring::Args),
    /// Ask one question (or one per line on standard input) and print the reply. Writes nothing.
    Ask(ask::Args),
    /// Talk to the assistant in the terminal.
    Chat(chat::Args),
    /// Run the Telegram bot (token from TELOXIDE_TOKEN or [telegram] token) until SIGINT/SIGTERM.
    Serve(serve::Args),
    /// Work the tickets: list, show, answer, close, export, promote to knowledge.
    Review(review::Args),
    /// Questions asked, answered, handed off; tickets; top entries and unanswered questions; per day
    /// with --json or --csv.
    Stats(stats::Args),
    /// Knowledge gaps: what the bot could not answer well, grouped by topic, most people first.
    Gaps(gaps::Args),
    /// Print the argon2 hash of a password read from standard input (for [[web.operators]]).
    HashPassword(hash_password::Args),
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok = 0,
    /// The command ran and found problems (e.g. `check` found errors).
    Problems = 1,
    /// Configuration or environment prevented the command from running.
    Failure = 2,
    /// `reindex`: the regression gate refused the new index; nothing switched.
    Refused = 3,
    /// `reindex --dry-run`: the new index would change answers or entries; nothing switched.
    Changes = 4,
}

impl From<Code> for ExitCode {
    fn from(c: Code) -> Self {
        ExitCode::from(c as u8)
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default `customs_bot=info`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "customs_bot=info",
        1 => "customs_bot=debug",
        _ => "customs_bot=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal; a log file or journal gets plain text.
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || OneLine {
            inner: std::io::stderr(),
            ansi,
        })
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// Whether an error is a closed standard output (`customs-bot check | head -1`): command-line
/// tools stop quietly then, they do not report it.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Standard output for a command whose work matters more than its printing (`reindex | head -1`
/// still reindexes): once the reader has gone, further lines are dropped instead of panicking
/// as `println!` would. Other write errors are returned.
pub(crate) struct Stdout {
    out: std::io::StdoutLock<'static>,
    closed: bool,
}

impl Stdout {
    pub(crate) fn new() -> Self {
        Self {
            out: std::io::stdout().lock(),
            closed: false,
        }
    }

    pub(crate) fn line(&mut self, text: impl std::fmt::Display) -> std::io::Result<()> {
        use std::io::Write;
        if self.closed {
            return Ok(());
        }
        match writeln!(self.out, "{text}").and_then(|()| self.out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// Keeps every log event on one line whatever its values hold. Values people send (login names,
/// questions, chat ids, button data) are logged as `?value`, which escapes line breaks; this is
/// the backstop for anything logged with `%` (an error that quotes such a value): line breaks and
/// other control characters inside an event are written escaped, so no one can forge a log line.
/// The escape character is kept only when colours are on (a terminal).
struct OneLine<W> {
    inner: W,
    ansi: bool,
}

impl<W: std::io::Write> std::io::Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (body, newline) = match buf.strip_suffix(b"\n") {
            Some(body) => (body, true),
            None => (buf, false),
        };
        let mut out = Vec::with_capacity(buf.len() + 16);
        for &b in body {
            match b {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.push(b),
                0x1b if self.ansi => out.push(b),
                0..0x20 | 0x7f => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                _ => out.push(b),
            }
        }
        if newline {
            out.push(b'\n');
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    Config::load(&cli.config).with_context(|| {
        format!(
            "loading the configuration (use --config PATH to choose another file than {})",
            cli.config.display()
        )
    })
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<Code> {
    if let Command::HashPassword(args) = cli.command {
        return hash_password::run(args);
    }
    let config = load_config(&cli)?;
    match cli.command {
        Command::Check(args) => check::run(&config, args),
        Command::Reindex(args) => reindex::run(&config, args),
        Command::History(args) => history::run(&config, args),
        Command::Expiring(args) => expiring::run(&config, args),
        Command::Ask(args) => ask::run(config, args),
        Command::Chat(args) => chat::run(config, args),
        Command::Serve(args) => serve::run(config, args),
        Command::Review(args) => review::run(&config, args),
        Command::Stats(args) => stats::run(&config, args),
        Command::Gaps(args) => gaps::run(&config, args),
        Command::HashPassword(_) => unreachable!("handled before the configuration is loaded"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::OneLine;

    #[test]
    fn a_log_event_stays_on_one_line() {
        let mut out = OneLine {
            inner: Vec::new(),
            ansi: false,
        };
        out.write_all(b"WARN failed login name=x\nINFO operator logged in name=admin\r\x1b[31m\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(out.inner).unwrap(),
            "WARN failed login name=x\\nINFO operator logged in name=admin\\r\\x1b[31m\n"
        );
    }
}
