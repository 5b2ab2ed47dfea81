//! `customs-bot check`: validate the knowledge folder, print every problem, exit 1 on errors.

use crate::app;
use crate::config::Config;

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Treat warnings (e.g. expired entries) as errors.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Code> {
    let loaded = app::load_knowledge(config);
    let mut out = super::Stdout::new();
    for p in &loaded.problems {
        out.line(p)?;
    }
    let errors = loaded.errors().count();
    let warnings = loaded.problems.len() - errors;
    out.line(format_args!(
        "{}: {} entries, {errors} error(s), {warnings} warning(s)",
        config.knowledge.dir.display(),
        loaded.knowledge.entries.len()
    ))?;
    Ok(if errors > 0 || (args.strict && warnings > 0) {
        Code::Problems
    } else {
        Code::Ok
    })
}
