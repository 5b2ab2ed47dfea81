//! `customs-bot reindex`: validate, build a new index generation, pass it through the regression
//! gate (the labelled sets in `knowledge/checks/` and the questions people asked lately, answered
//! by the generation in service and the new one), and switch to it atomically. Refuses to build
//! when validation finds errors, and to switch when the gate refuses (unless `--accept`); the
//! previous index keeps serving. Every reindex (but a dry run) is recorded in the audit trail.
//!
//! Exit codes: 0 switched (or a dry run with no change), 1 the knowledge has errors (nothing
//! built), 2 the command could not run, 3 refused by the gate (nothing switched), 4 a dry run that
//! found changes (nothing switched).

use crate::config::Config;
use crate::desk::ReindexError;
use crate::desk::knowledge::{self, Mode, Outcome, cli_user};
use crate::tickets::{StoreOptions, open_store};

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show what would change (entries, questions, the labelled sets' figures); switch nothing.
    #[arg(long, conflicts_with = "accept")]
    pub dry_run: bool,
    /// Switch even when the regression gate refuses (recorded as accepted, with who accepted).
    #[arg(long)]
    pub accept: bool,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Code> {
    let mut out = super::Stdout::new();
    let mode = if args.dry_run {
        Mode::DryRun
    } else if args.accept {
        Mode::Accept(None)
    } else {
        Mode::Gated
    };
    // The question log gives the questions to replay and keeps the audit trail.
    let store = open_store(&config.tickets, StoreOptions::default())?;
    match knowledge::reindex(config, Some(store.as_ref()), &cli_user(), mode) {
        Ok(done) => {
            for w in &done.warnings {
                out.line(w)?;
            }
            for l in done.lines() {
                out.line(l)?;
            }
            let report = &done.report;
            let built = format!(
                "{} entries ({} documents) in {} ms",
                report.entries,
                report.documents,
                report.elapsed.as_millis()
            );
            let changes = !done.diff.is_empty() || done.gate.as_ref().is_some_and(|g| !g.changed.is_empty());
            match done.outcome {
                Outcome::Switched => {
                    out.line(format_args!("indexed {built} → {}", report.generation.display()))?;
                    Ok(Code::Ok)
                }
                Outcome::Accepted => {
                    out.line(format_args!(
                        "accepted: indexed {built} → {} although the gate refused (recorded as accepted by {})",
                        report.generation.display(),
                        cli_user()
                    ))?;
                    Ok(Code::Ok)
                }
                Outcome::Refused => {
                    out.line(
                        "not switched: the regression gate refused (the previous index keeps serving); fix the knowledge, or run `customs-bot reindex --accept` to publish it anyway",
                    )?;
                    Ok(Code::Refused)
                }
                Outcome::DryRun => {
                    out.line(format_args!(
                        "dry run: built {built}, nothing switched{}",
                        if changes { "" } else { " (no change)" }
                    ))?;
                    Ok(if changes { Code::Changes } else { Code::Ok })
                }
            }
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
