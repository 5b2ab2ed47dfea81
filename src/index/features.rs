//! The features the decision reads (coverage, norm, matched, rank), computed from plain numbers.
//!
//! The search gathers what the index knows about each word of the question ([`WordStats`]: how many
//! entries and questions contain it, how common it is in general Chinese) and which words an entry
//! contains ([`share`]); everything here is arithmetic on those, with no tantivy type in sight, so
//! it is tested on hand-built inputs. Called only by `index::search`; `answer` decides from the
//! result and never sees how it was computed.

use rustc_hash::FxHashSet;

use super::{BOOST_Q, Hit};
use crate::text::{Form, TermGroup};

/// Extra factor on the coverage weight of unknown words that are not nouns.
const UNKNOWN_FILLER: f32 = 0.5;

/// BM25's inverse document frequency of a word found in `df` of `n` units (tantivy's formula).
pub(super) fn idf(df: u64, n: u64) -> f32 {
    let df = df as f32;
    let n = n as f32;
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// Weight of a word in the coverage feature relative to its IDF, from how common it is in general
/// Chinese (jieba's dictionary frequency): 1 for specific words, falling to 0.2 for words as common
/// as 多少 or 时间, which a knowledge base of a hundred entries would otherwise think rare.
pub(super) fn generality_discount(freq: usize) -> f32 {
    let (specific, common) = (1_000f32.ln(), 1_000_000f32.ln());
    ((common - (freq as f32 + 1.0).ln()) / (common - specific)).clamp(0.2, 1.0)
}

/// What the index says about one word of the question (a [`TermGroup`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct WordStats {
    /// How much the word says about the topic (`TermGroup::weight`: 1 nouns, 0.6 verbs, 0.3 other).
    pub topical: f32,
    /// Entries containing the word or one of its synonyms (the largest count of any of them); 0 when
    /// the knowledge base has never seen it.
    pub entries_with: u64,
    /// Documents (ways of asking) whose question contains the word or a synonym (the largest count).
    pub questions_with: u64,
    /// How common the word is in general Chinese (jieba's dictionary frequency, 0 if absent).
    pub general_freq: usize,
}

/// How many entries and documents the statistics were counted over (each at least 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Counts {
    pub entries: u64,
    pub documents: u64,
}

/// The question's side of the features, computed once per question.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct QuestionWeights {
    /// Each word's weight in coverage, in question order: entry-level IDF (an unknown word at the
    /// largest IDF possible) × generality discount × topical weight.
    words: Vec<f32>,
    /// Their sum: what an entry containing every word would match.
    total: f32,
    /// What one document would score with every word in its question field: the reference of `norm`.
    ideal: f32,
}

impl QuestionWeights {
    pub(super) fn new(words: &[WordStats], counts: Counts) -> Self {
        let max_idf = idf(0, counts.entries);
        let mut weights = Vec::with_capacity(words.len());
        let mut ideal = 0.0f32;
        for w in words {
            let unknown = w.entries_with == 0;
            let rarity = if unknown {
                max_idf
            } else {
                idf(w.entries_with, counts.entries)
            };
            // A word the knowledge base has never seen weighs fully when it is a noun (护照, 塔尔寺:
            // likely another topic) but half as much as usual when it is a verb or filler (卡着, 投了).
            let topical = if unknown && w.topical < 1.0 {
                w.topical * UNKNOWN_FILLER
            } else {
                w.topical
            };
            weights.push(rarity * generality_discount(w.general_freq) * topical);
            ideal += BOOST_Q * idf(w.questions_with, counts.documents);
        }
        Self {
            total: weights.iter().sum(),
            words: weights,
            ideal,
        }
    }

    /// The features of one entry with BM25 `score`, given how much of each question word it has
    /// (`shares`, in question order, see [`share`]).
    pub(super) fn hit(&self, entry: usize, score: f32, shares: impl IntoIterator<Item = f32>) -> Hit {
        let mut matched = 0.0;
        for (w, share) in self.words.iter().zip(shares) {
            matched += w * share;
        }
        let coverage = if self.total > 0.0 { matched / self.total } else { 0.0 };
        let norm = if self.ideal > 0.0 { score / self.ideal } else { 0.0 };
        Hit {
            entry,
            score,
            rank: score * coverage.sqrt(),
            coverage,
            norm,
            matched,
            superseded: None,
        }
    }
}

/// How much of a question word an entry whose terms are `terms` has: all of it when it contains the
/// word or a synonym, otherwise the squared share of the word's parts it contains (half the parts of
/// 结婚登记, i.e. 登记, is much less than half its meaning); nothing for a word without parts.
pub(super) fn share(group: &TermGroup, terms: &FxHashSet<String>) -> f32 {
    let (mut parts, mut have) = (0, 0);
    for (form, kind) in group.forms() {
        let found = terms.contains(form);
        match kind {
            Form::Word | Form::Synonym if found => return 1.0,
            Form::Word | Form::Synonym => {}
            Form::Part => {
                parts += 1;
                have += usize::from(found);
            }
        }
    }
    if parts == 0 {
        0.0
    } else {
        (have as f32 / parts as f32).powi(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNTS: Counts = Counts {
        entries: 100,
        documents: 300,
    };

    /// A specific noun (general frequency 0: no discount) found in `entries_with` entries.
    fn noun(entries_with: u64) -> WordStats {
        WordStats {
            topical: 1.0,
            entries_with,
            questions_with: entries_with,
            general_freq: 0,
        }
    }

    fn group(word: &str, synonyms: &[&str], parts: &[&str]) -> TermGroup {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        TermGroup {
            word: word.into(),
            synonyms: owned(synonyms),
            parts: owned(parts),
            weight: 1.0,
        }
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn idf_is_bm25s() {
        // ln(1 + (n − df + ½) / (df + ½)): never seen = ln(2n + 2), seen everywhere ≈ 0.
        assert!(close(idf(0, 100), 202f32.ln()));
        assert!(close(idf(1, 100), (1.0 + 99.5f32 / 1.5).ln()));
        assert!(idf(100, 100) < 0.01);
        assert!(idf(1, 100) > idf(10, 100) && idf(10, 100) > idf(50, 100));
    }

    #[test]
    fn coverage_weights_words_by_idf() {
        let q = QuestionWeights::new(&[noun(1), noun(50)], COUNTS);
        let (rare, common) = (idf(1, 100), idf(50, 100));
        let only_rare = q.hit(0, 1.0, [1.0, 0.0]);
        let only_common = q.hit(1, 1.0, [0.0, 1.0]);
        assert!(close(only_rare.coverage, rare / (rare + common)), "{only_rare:?}");
        assert!(close(only_common.coverage, common / (rare + common)), "{only_common:?}");
        assert!(only_rare.coverage > 0.8 && only_common.coverage < 0.2);
        assert!(close(q.hit(2, 1.0, [1.0, 1.0]).coverage, 1.0));
        assert_eq!(q.hit(3, 1.0, [0.0, 0.0]).coverage, 0.0);
    }

    #[test]
    fn an_unknown_noun_weighs_the_largest_idf_and_an_unknown_verb_half_its_share() {
        let verb = WordStats {
            topical: 0.6,
            ..noun(0)
        };
        let q = QuestionWeights::new(&[noun(1), noun(0), verb], COUNTS);
        let max = idf(0, 100);
        assert!(max > idf(1, 100));
        assert!(close(q.words[1], max), "{q:?}");
        assert!(close(q.words[2], max * 0.6 * 0.5), "{q:?}");
        // A known verb keeps its topical weight: the halving is for words nobody wrote.
        let known_verb = WordStats {
            topical: 0.6,
            ..noun(1)
        };
        let k = QuestionWeights::new(&[known_verb], COUNTS);
        assert!(close(k.words[0], idf(1, 100) * 0.6), "{k:?}");
        let hit = q.hit(0, 1.0, [1.0, 0.0, 0.0]);
        assert!(close(hit.coverage, idf(1, 100) / (idf(1, 100) + max * 1.3)), "{hit:?}");
    }

    #[test]
    fn common_words_are_discounted() {
        assert_eq!(generality_discount(0), 1.0);
        assert_eq!(generality_discount(999), 1.0);
        assert!((generality_discount(31_622) - 0.5).abs() < 1e-3);
        assert_eq!(generality_discount(999_999), 0.2);
        assert_eq!(generality_discount(50_000_000), 0.2);
        // Two words equally rare in the knowledge base; the one common in Chinese counts a fifth.
        let common = WordStats {
            general_freq: 10_000_000,
            ..noun(5)
        };
        let q = QuestionWeights::new(&[noun(5), common], COUNTS);
        assert!(close(q.words[1], q.words[0] * 0.2), "{q:?}");
        assert!(close(q.hit(0, 1.0, [0.0, 1.0]).coverage, 0.2 / 1.2));
        assert!(close(q.hit(0, 1.0, [1.0, 0.0]).coverage, 1.0 / 1.2));
    }

    #[test]
    fn norm_is_the_share_of_the_ideal_score() {
        let words = [
            WordStats {
                questions_with: 3,
                ..noun(2)
            },
            WordStats {
                questions_with: 30,
                ..noun(9)
            },
        ];
        let q = QuestionWeights::new(&words, COUNTS);
        let ideal = BOOST_Q * idf(3, 300) + BOOST_Q * idf(30, 300);
        assert!(close(q.ideal, ideal), "{q:?}");
        assert!(close(q.hit(0, ideal, [1.0, 1.0]).norm, 1.0));
        assert!(close(q.hit(0, ideal / 4.0, [1.0, 1.0]).norm, 0.25));
        assert!(close(q.hit(0, ideal * 1.5, [1.0, 1.0]).norm, 1.5));
        // An unknown word still has an ideal (at the largest IDF), so it lowers every norm.
        let with_unknown = QuestionWeights::new(&[words[0], noun(0)], COUNTS);
        assert!(close(with_unknown.ideal, BOOST_Q * idf(3, 300) + BOOST_Q * idf(0, 300)));
    }

    #[test]
    fn matched_is_the_shared_vocabulary_however_long_the_question() {
        let short = QuestionWeights::new(&[noun(1), noun(4)], COUNTS);
        let long = QuestionWeights::new(&[noun(1), noun(4), noun(7), noun(20)], COUNTS);
        let a = short.hit(0, 2.0, [1.0, 1.0]);
        let b = long.hit(0, 2.0, [1.0, 1.0, 0.0, 0.0]);
        assert!(close(a.matched, idf(1, 100) + idf(4, 100)), "{a:?}");
        assert_eq!(a.matched, b.matched);
        assert!(b.coverage < a.coverage && close(a.coverage, 1.0));
        // Partial shares count in proportion.
        let half = short.hit(0, 2.0, [0.25, 0.0]);
        assert!(close(half.matched, 0.25 * idf(1, 100)), "{half:?}");
    }

    #[test]
    fn rank_is_score_times_root_coverage() {
        let q = QuestionWeights::new(&[noun(1), noun(1)], COUNTS);
        let hit = q.hit(7, 8.0, [1.0, 0.0]);
        assert_eq!(hit.entry, 7);
        assert_eq!(hit.score, 8.0);
        assert!(close(hit.coverage, 0.5));
        assert!(close(hit.rank, 8.0 * 0.5f32.sqrt()), "{hit:?}");
    }

    #[test]
    fn an_empty_question_has_no_features() {
        let q = QuestionWeights::new(&[], COUNTS);
        let hit = q.hit(0, 5.0, []);
        assert_eq!((hit.coverage, hit.norm, hit.matched, hit.rank), (0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn one_word_found_covers_everything() {
        let q = QuestionWeights::new(&[noun(3)], COUNTS);
        let hit = q.hit(0, 1.0, [1.0]);
        assert_eq!(hit.coverage, 1.0);
        assert!(close(hit.matched, idf(3, 100)));
        assert_eq!(q.hit(0, 1.0, [0.0]).coverage, 0.0);
    }

    #[test]
    fn a_question_of_unknown_words_covers_nothing() {
        let q = QuestionWeights::new(
            &[
                noun(0),
                WordStats {
                    topical: 0.3,
                    ..noun(0)
                },
            ],
            COUNTS,
        );
        assert!(close(q.total, idf(0, 100) * (1.0 + 0.15)), "{q:?}");
        let hit = q.hit(0, 3.0, [0.0, 0.0]);
        assert_eq!((hit.coverage, hit.matched, hit.rank), (0.0, 0.0, 0.0));
        assert!(hit.norm > 0.0);
    }

    #[test]
    fn share_is_whole_for_the_word_or_a_synonym_and_squared_for_parts() {
        let g = group("结婚登记", &["婚姻登记"], &["结婚", "登记"]);
        let terms = |t: &[&'static str]| t.iter().map(|s| s.to_string()).collect::<FxHashSet<String>>();
        assert_eq!(share(&g, &terms(&["结婚登记"])), 1.0);
        assert_eq!(share(&g, &terms(&["婚姻登记", "护照"])), 1.0);
        assert_eq!(share(&g, &terms(&["登记"])), 0.25);
        assert_eq!(share(&g, &terms(&["结婚", "登记"])), 1.0);
        assert_eq!(share(&g, &terms(&["护照"])), 0.0);
        let three = group("进出口许可", &[], &["进出口", "许可", "出口"]);
        assert!(close(share(&three, &terms(&["许可", "出口"])), 4.0 / 9.0));
        assert_eq!(share(&group("报关", &[], &[]), &terms(&["报关单"])), 0.0);
        assert_eq!(share(&group("报关", &[], &[]), &terms(&[])), 0.0);
    }
}
