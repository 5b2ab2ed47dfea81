//! `customs-bot check`: validate the knowledge folder and its drafts, print every problem, exit 1
//! on errors.

use crate::app;
use crate::config::Config;
use crate::knowledge::drafts;

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
    let mut problems: Vec<crate::knowledge::Problem> = loaded.problems.clone();
    // Drafts (knowledge/drafts/) are not served; each is checked as if it were published.
    let dir = &config.knowledge.dir;
    let ids = drafts::list(dir);
    for id in &ids {
        problems.extend(drafts::check(dir, id, &config.placeholder_names(), app::today())?);
    }
    for p in &problems {
        out.line(p)?;
    }
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    let drafts = if ids.is_empty() {
        String::new()
    } else {
        format!(" and {} draft(s)", ids.len())
    };
    out.line(format_args!(
        "{}: {} entries{drafts}, {errors} error(s), {warnings} warning(s)",
        dir.display(),
        loaded.knowledge.entries.len()
    ))?;
    Ok(if errors > 0 || (args.strict && warnings > 0) {
        Code::Problems
    } else {
        Code::Ok
    })
}
