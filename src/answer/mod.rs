//! The decision: answer, clarify, hand off, or small talk.
//!
//! `asides` holds what is recognised before anything is searched: small talk, a request for a
//! person, another country's customs, and questions only a person can answer.
//!
//! Pure functions over plain data: no I/O, no index, no configuration file. `decide` looks at the
//! features of the ranked distinct entries (IDF-weighted coverage of the question, score as a share
//! of the question's ideal score, margin between the top two) — never at raw BM25 scores alone,
//! which are not comparable across questions. `smalltalk` recognises greetings, thanks and requests
//! for a person before anything is searched. A wrong confident answer is worse than an honest
//! hand-off, so every band must be passed, not just one.

mod asides;

use serde::Serialize;

use crate::config::AnswerConfig;

pub use asides::{
    Smalltalk, Specific, foreign_customs, holds_the_admission, is_place, place_in, smalltalk, specific_request,
    wants_human,
};

/// What the assistant does with a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Answer,
    Clarify,
    Handoff,
    Smalltalk,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Answer => "answer",
            Decision::Clarify => "clarify",
            Decision::Handoff => "handoff",
            Decision::Smalltalk => "smalltalk",
        }
    }
}

/// The features of one distinct entry found for a question.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// The ranking score (comparable only within one question).
    pub score: f32,
    pub coverage: f32,
    pub norm: f32,
    /// Absolute weight of the question's words the entry shares (see `index::Hit::matched`).
    pub matched: f32,
}

/// The decision with the positions (in the ranked list) it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub decision: Decision,
    /// For `Answer`: the position of the chosen entry (always 0). For `Clarify`: the choices.
    pub picks: Vec<usize>,
    /// 0–1: how sure the assistant is about its best entry.
    pub confidence: f32,
}

/// How many of the best entries a bare term must name in their titles to be a family's name.
const FAMILY: usize = 3;

/// Only the letters and digits of a text (`text::letters`; answer depends on nothing but config).
pub(crate) fn letters(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Whether a question that is one bare term (原产地, 担保) names a family of matters rather than
/// one: each of the best entries has the term in its title, and none is titled by the term alone
/// (报关单位备案 is the entry of that title). Such a question is offered the family, never
/// answered with one member. `titles` are the best entries' titles, best first, normalised as the
/// question is.
pub fn names_a_family<S: AsRef<str>>(term: &str, titles: impl IntoIterator<Item = S>) -> bool {
    let titles: Vec<(String, String)> = titles
        .into_iter()
        .take(FAMILY)
        .map(|t| {
            let t = t.as_ref();
            // The title's head, before a bracket or a colon: 「报关单位备案（收发货人、报关企业）」.
            let head = t.split(['（', '(', '：', ':']).next().unwrap_or_default();
            (letters(t), letters(head))
        })
        .collect();
    titles.len() == FAMILY && titles.iter().all(|(t, head)| t.contains(term) && head != term)
}

/// How sure we are of one entry: the geometric mean of coverage and (capped) normalised score.
pub fn confidence(s: &Scored) -> f32 {
    (s.coverage.clamp(0.0, 1.0) * s.norm.clamp(0.0, 1.0)).sqrt()
}

/// Relative lead of the first over the second entry (1 when there is no second).
pub fn margin(ranked: &[Scored]) -> f32 {
    match ranked {
        [first, second, ..] if first.score > 0.0 => ((first.score - second.score) / first.score).max(0.0),
        _ => 1.0,
    }
}

/// Decides from the ranked distinct entries (best first).
pub fn decide(ranked: &[Scored], t: &AnswerConfig) -> Verdict {
    let Some(top) = ranked.first() else {
        return Verdict {
            decision: Decision::Handoff,
            picks: Vec::new(),
            confidence: 0.0,
        };
    };
    let conf = confidence(top);
    let margin = margin(ranked);
    // Strong: the entry covers most of the question, or — for a long question with context around
    // it — shares a lot of specific vocabulary with it while still covering a fair part.
    // Informative: the entry shares at least some specific vocabulary with the question.
    let informative = top.matched >= t.min_matched;
    let strong = informative
        && top.norm >= t.answer_norm
        && (top.coverage >= t.answer_coverage
            || (top.matched >= t.answer_matched && top.coverage >= t.matched_coverage));
    // Dominant: far ahead of every other entry, with a near-ideal score.
    let dominant = informative
        && top.coverage >= t.dominant_coverage
        && margin >= t.dominant_margin
        && top.norm >= t.dominant_norm;
    // A rival explains clearly more of the question: the ranking may be wrong, so ask.
    let rival = ranked
        .iter()
        .skip(1)
        .take(2)
        .any(|s| s.coverage >= top.coverage + t.rival_gap);
    if !rival && ((strong && margin >= t.answer_margin) || dominant) {
        return Verdict {
            decision: Decision::Answer,
            picks: vec![0],
            confidence: conf,
        };
    }
    // A choice, too, must share some specific vocabulary with the question: choices offered on a
    // common word alone (你是人吗 → entries that mention 人) are noise, not a clarification.
    let plausible =
        |s: &Scored| s.coverage >= t.clarify_coverage && s.norm >= t.clarify_norm && s.matched >= t.min_matched;
    let mut picks: Vec<usize> = ranked
        .iter()
        .enumerate()
        .filter(|(_, s)| plausible(s))
        .map(|(i, _)| i)
        .take(t.max_choices.max(1))
        .collect();
    if strong && picks.len() < 2 && ranked.len() >= 2 {
        // The best entry is good but another is too close or explains more: offer both.
        picks = vec![0, 1];
    }
    // Nothing to choose from, but one entry stands well ahead of the rest with a fair share of
    // the question: ask whether it is the one meant (did you mean …?) instead of handing off.
    let guess = informative
        && top.coverage >= t.guess_coverage
        && top.norm >= t.guess_norm
        && margin >= t.guess_margin
        && top.matched >= t.guess_matched;
    if picks.is_empty() && guess {
        picks = vec![0];
    }
    if picks.is_empty() {
        return Verdict {
            decision: Decision::Handoff,
            picks,
            confidence: conf,
        };
    }
    Verdict {
        decision: Decision::Clarify,
        picks,
        confidence: conf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_term_in_every_best_title_names_a_family() {
        let origin = ["原产地证书怎么申领", "RCEP原产地规则", "原产地证书丢了怎么办"];
        assert!(names_a_family("原产地", origin));
        // One of them is titled by the term itself: that entry is the answer.
        let filing = [
            "报关单位备案（收发货人、报关企业）",
            "报关单位备案信息变更",
            "报关单位备案注销",
        ];
        assert!(!names_a_family("报关单位备案", filing));
        // A best entry without the term, or fewer than three: not a family.
        assert!(!names_a_family(
            "原产地",
            ["原产地证书怎么申领", "RCEP原产地规则", "进口货物申报"]
        ));
        assert!(!names_a_family("原产地", ["原产地证书怎么申领", "RCEP原产地规则"]));
    }

    fn s(score: f32, coverage: f32, norm: f32) -> Scored {
        Scored {
            score,
            coverage,
            norm,
            matched: coverage * 5.0,
        }
    }

    /// Fixed thresholds, so these tests check the rules rather than the tuned values.
    fn t() -> AnswerConfig {
        AnswerConfig {
            answer_coverage: 0.6,
            answer_norm: 0.3,
            answer_margin: 0.15,
            answer_matched: 10.0,
            matched_coverage: 0.4,
            min_matched: 1.0,
            dominant_coverage: 0.35,
            dominant_margin: 0.5,
            dominant_norm: 0.8,
            rival_gap: 0.2,
            clarify_coverage: 0.4,
            clarify_norm: 0.2,
            max_choices: 3,
            guess_coverage: 0.3,
            guess_norm: 0.5,
            guess_margin: 0.5,
            guess_matched: 4.0,
            max_question_chars: 300,
        }
    }

    #[test]
    fn a_question_sharing_only_a_common_word_is_not_answered() {
        // 你是人吗: the entry covers the whole question, but the whole question is 人.
        let common = |score| Scored {
            score,
            coverage: 1.0,
            norm: 1.5,
            matched: 0.5,
        };
        let v = decide(&[common(28.0), common(19.0)], &t());
        assert_ne!(v.decision, Decision::Answer);
        let specific = Scored {
            matched: 4.0,
            ..common(28.0)
        };
        assert_eq!(decide(&[specific, common(19.0)], &t()).decision, Decision::Answer);
    }

    #[test]
    fn nothing_found_hands_off() {
        assert_eq!(decide(&[], &t()).decision, Decision::Handoff);
    }

    #[test]
    fn clear_winner_is_answered() {
        let v = decide(&[s(20.0, 0.9, 0.8), s(8.0, 0.5, 0.3)], &t());
        assert_eq!(v.decision, Decision::Answer);
        assert_eq!(v.picks, vec![0]);
        assert!(v.confidence > 0.8);
    }

    #[test]
    fn single_strong_hit_is_answered() {
        assert_eq!(decide(&[s(5.0, 0.8, 0.5)], &t()).decision, Decision::Answer);
    }

    #[test]
    fn close_runner_up_asks_which() {
        let v = decide(&[s(20.0, 0.9, 0.8), s(19.0, 0.85, 0.75), s(5.0, 0.2, 0.1)], &t());
        assert_eq!(v.decision, Decision::Clarify);
        assert_eq!(v.picks, vec![0, 1]);
    }

    #[test]
    fn close_but_weak_runner_up_is_still_offered() {
        let v = decide(&[s(20.0, 0.9, 0.8), s(19.0, 0.2, 0.1)], &t());
        assert_eq!(v.decision, Decision::Clarify);
        assert_eq!(v.picks, vec![0, 1]);
    }

    #[test]
    fn a_rival_that_explains_more_prevents_an_answer() {
        let v = decide(&[s(20.0, 0.6, 0.8), s(10.0, 0.9, 0.5)], &t());
        assert_eq!(v.decision, Decision::Clarify);
        assert_eq!(v.picks, vec![0, 1]);
    }

    #[test]
    fn partial_coverage_offers_choices() {
        let v = decide(
            &[
                s(10.0, 0.5, 0.4),
                s(9.0, 0.45, 0.35),
                s(8.0, 0.42, 0.3),
                s(7.0, 0.41, 0.3),
            ],
            &t(),
        );
        assert_eq!(v.decision, Decision::Clarify);
        assert_eq!(v.picks, vec![0, 1, 2], "at most max_choices");
    }

    #[test]
    fn low_coverage_hands_off_even_with_a_high_raw_score() {
        // Raw BM25 of 40 means nothing on its own: most of the question is unknown to the knowledge base.
        let v = decide(&[s(40.0, 0.3, 0.7), s(30.0, 0.1, 0.2)], &t());
        assert_eq!(v.decision, Decision::Handoff);
    }

    #[test]
    fn a_clear_leader_with_part_of_the_question_is_asked_about_not_answered() {
        // Far ahead of the rest but covering only part of the question: "did you mean …?".
        let leader = Scored {
            score: 50.0,
            coverage: 0.35,
            norm: 0.6,
            matched: 6.0,
        };
        let v = decide(&[leader, s(20.0, 0.2, 0.3)], &t());
        assert_eq!((v.decision, v.picks.as_slice()), (Decision::Clarify, &[0][..]));
        // Not far enough ahead, too little of the question, or too little specific vocabulary:
        // handed off as before.
        assert_eq!(decide(&[leader, s(30.0, 0.2, 0.3)], &t()).decision, Decision::Handoff);
        let thin = Scored {
            coverage: 0.2,
            ..leader
        };
        assert_eq!(decide(&[thin, s(20.0, 0.2, 0.3)], &t()).decision, Decision::Handoff);
        let common = Scored { matched: 3.0, ..leader };
        assert_eq!(decide(&[common, s(20.0, 0.2, 0.3)], &t()).decision, Decision::Handoff);
    }

    #[test]
    fn dominant_entry_is_answered_despite_context_words() {
        let v = decide(&[s(90.0, 0.38, 1.0), s(12.0, 0.15, 0.2)], &t());
        assert_eq!(v.decision, Decision::Answer);
        let not_far_ahead = decide(&[s(90.0, 0.38, 1.0), s(60.0, 0.15, 0.2)], &t());
        assert_eq!(not_far_ahead.decision, Decision::Handoff);
    }

    #[test]
    fn long_question_sharing_much_specific_vocabulary_is_answered() {
        let long = Scored {
            score: 90.0,
            coverage: 0.45,
            norm: 0.5,
            matched: 14.0,
        };
        let other = Scored {
            score: 70.0,
            coverage: 0.2,
            norm: 0.2,
            matched: 4.0,
        };
        assert_eq!(decide(&[long, other], &t()).decision, Decision::Answer);
        let thin = Scored { matched: 3.0, ..long };
        assert_ne!(decide(&[thin, other], &t()).decision, Decision::Answer);
    }

    #[test]
    fn full_coverage_of_a_weak_match_is_not_answered() {
        let v = decide(&[s(2.0, 1.0, 0.1)], &t());
        assert_eq!(v.decision, Decision::Handoff);
    }
}
