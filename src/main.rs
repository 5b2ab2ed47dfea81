//! The `customs-bot` binary: parse the command line, set up logging, run, map the outcome to an
//! exit code. Everything else lives in the library (`customs_bot::cli`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = customs_bot::cli::Cli::parse();
    customs_bot::cli::init_tracing(cli.verbose);
    match customs_bot::cli::run(cli) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            customs_bot::cli::Code::Failure.into()
        }
    }
}
