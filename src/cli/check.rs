//! `customs-bot check`: validate the knowledge folder and its drafts, print every problem, exit 1
//! on errors.

use crate::app;
use crate::config::Config;
use crate::knowledge::{Problem, drafts, lexicon};
use crate::text::{self, Analyzer};

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
    problems.extend(unsegmented_synonyms(config, &loaded.knowledge.lexicon)?);
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

/// Synonym terms that questions never contain as one word: the segmenter splits them (国际邮包 →
/// 国际 / 邮包), so their group silently does less than it says. A warning naming the line and
/// the fix (a dictionary line, or removing the term).
fn unsegmented_synonyms(config: &Config, lexicon: &lexicon::Lexicon) -> anyhow::Result<Vec<Problem>> {
    let path = config.knowledge.dir.join(lexicon::SYNONYMS);
    let Ok(source) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let analyzer = Analyzer::new(&lexicon.user_dict, &[], &lexicon.stopwords, &[])?;
    let shown = path.display().to_string();
    let mut problems = Vec::new();
    for (line, terms) in lexicon::synonym_lines(&source) {
        for term in terms {
            let words: Vec<String> = analyzer
                .query_tokens(&text::normalize(&term))
                .into_iter()
                .map(|t| t.text)
                .collect();
            if words.len() != 1 {
                // The dictionary's convention: 300 for a two-character word, 500 for a longer one.
                let frequency = if term.chars().count() <= 2 { 300 } else { 500 };
                problems.push(Problem::warning(
                    &shown,
                    line,
                    format!(
                        "the synonym `{term}` is not one word to the segmenter ({}), so no question matches it",
                        words.join(" / ")
                    ),
                    &format!(
                        "add `{term} {frequency} n` to {} and reindex, or remove it from the group",
                        lexicon::USER_DICT
                    ),
                ));
            }
        }
    }
    Ok(problems)
}
