//! `customs-bot reindex`: validate, then build a new index generation and switch to it atomically.
//! Refuses to build when validation finds errors; the previous index keeps serving.

use crate::app;
use crate::config::Config;
use crate::index;

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(config: &Config, _args: Args) -> anyhow::Result<Code> {
    let loaded = app::load_knowledge(config);
    let mut out = super::Stdout::new();
    for p in &loaded.problems {
        out.line(p)?;
    }
    if loaded.has_errors() {
        out.line(format_args!(
            "not reindexed: fix the {} error(s) above (the previous index, if any, keeps serving)",
            loaded.errors().count()
        ))?;
        return Ok(Code::Problems);
    }
    let report = index::build(&loaded.knowledge, &config.index.dir)?;
    out.line(format_args!(
        "indexed {} entries ({} documents) in {} ms → {}",
        report.entries,
        report.documents,
        report.elapsed.as_millis(),
        report.generation.display()
    ))?;
    Ok(Code::Ok)
}
