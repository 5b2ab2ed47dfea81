//! The `customs-bot` binary: parse the command line, set up logging, run, map the outcome to an
//! exit code. Everything else lives in the library (`customs_bot::cli`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = customs_bot::cli::Cli::parse();
    customs_bot::cli::init_tracing(cli.verbose);
    match customs_bot::cli::run(cli) {
        Ok(code) => code.into(),
        // The reader of our output went away (`ask … | head -1`): stop quietly, as tools do.
        Err(e) if customs_bot::cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            customs_bot::cli::Code::Failure.into()
        }
    }
}
