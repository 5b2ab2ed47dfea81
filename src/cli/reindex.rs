//! `customs-bot reindex`: validate, then build a new index generation and switch to it atomically.
//! Refuses to build when validation finds errors; the previous index keeps serving.

use crate::config::Config;
use crate::desk::ReindexError;
use crate::desk::knowledge;

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(config: &Config, _args: Args) -> anyhow::Result<Code> {
    let mut out = super::Stdout::new();
    match knowledge::reindex(config) {
        Ok(done) => {
            for w in &done.warnings {
                out.line(w)?;
            }
            let report = done.report;
            out.line(format_args!(
                "indexed {} entries ({} documents) in {} ms → {}",
                report.entries,
                report.documents,
                report.elapsed.as_millis(),
                report.generation.display()
            ))?;
            Ok(Code::Ok)
        }
        Err(ReindexError::Invalid { problems, errors }) => {
            for p in &problems {
                out.line(p)?;
            }
            out.line(format_args!(
                "not reindexed: fix the {errors} error(s) above (the previous index, if any, keeps serving)"
            ))?;
            Ok(Code::Problems)
        }
        Err(ReindexError::Other(e)) => Err(e),
    }
}
