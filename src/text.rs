//! Text handling: the one place where Chinese text becomes search terms.
//!
//! Owns normalisation (Unicode NFKC, traditional → simplified folding, lowercase), word
//! segmentation with jieba plus the customs user dictionary, query stopwords, synonym expansion and
//! character bigrams. Documents (at index time) and questions (at query time) go through the same
//! functions here, so both sides always agree on what a term is.
//!
//! One [`Analyzer`] holds one jieba dictionary (about 24 MB). Build it once per index generation and
//! share it behind an `Arc`; nothing here clones the dictionary. This module knows nothing about
//! tantivy, files or configuration: callers hand it plain strings.

use std::collections::{HashMap, HashSet};
use std::io::BufReader;

use jieba_rs::{Jieba, TokenizeMode};
use unicode_normalization::UnicodeNormalization;

/// Folds a text to the form every comparison uses: NFKC (full-width → half-width, compatibility
/// forms), traditional → simplified Chinese, lowercase, and whitespace runs collapsed to one space.
pub fn normalize(text: &str) -> String {
    let nfkc: String = text.nfkc().collect();
    // fast2s folds 諮 to the variant 谘; everyday simplified text writes 咨.
    let simplified = fast2s::convert(&nfkc).replace('谘', "咨");
    let mut out = String::with_capacity(simplified.len());
    let mut last_space = true;
    for c in simplified.chars() {
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
        } else {
            out.extend(c.to_lowercase());
            last_space = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// True for characters that can belong to a search term: letters (including CJK ideographs) and digits.
fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Only the letters and digits of a text: what a turn says, without punctuation, spaces or emoji.
pub fn letters(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// True when a segment carries something searchable (not punctuation, whitespace or emoji only).
pub fn is_term(word: &str) -> bool {
    word.chars().any(is_term_char)
}

/// True for a CJK ideograph (the ranges jieba segments as Chinese).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF)
}

/// One term of a normalised text, with its character span (for positions) and byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub char_start: usize,
    pub char_end: usize,
    pub byte_start: usize,
    pub byte_end: usize,
}

/// A word of a question together with the words that count as the same thing when searching.
#[derive(Debug, Clone, PartialEq)]
pub struct TermGroup {
    /// The word as segmented from the question.
    pub word: String,
    /// Synonyms from the lexicon (full matches), not including `word`.
    pub synonyms: Vec<String>,
    /// Shorter dictionary words inside `word` (partial matches), e.g. 许可 in 许可证.
    pub parts: Vec<String>,
    /// How much the word says about the topic, from its part of speech: nouns, names, numbers and
    /// verbal nouns 1, verbs 0.6, other words (adverbs, pronouns, particles …) 0.3.
    pub weight: f32,
}

/// How a form of a question word relates to the word (see [`TermGroup::forms`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Word,
    Synonym,
    Part,
}

impl TermGroup {
    /// Every form of the word that should be looked up, with how it relates to the word: the word
    /// itself first, then its synonyms, then its parts.
    pub fn forms(&self) -> impl Iterator<Item = (&str, Form)> {
        std::iter::once((self.word.as_str(), Form::Word))
            .chain(self.synonyms.iter().map(|s| (s.as_str(), Form::Synonym)))
            .chain(self.parts.iter().map(|s| (s.as_str(), Form::Part)))
    }
}

/// What a question becomes before searching.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// The normalised question.
    pub normalized: String,
    /// Content words, stopwords removed, each with its expansions; in question order, no repeats.
    pub groups: Vec<TermGroup>,
    /// Character bigrams of the normalised question's content words.
    pub bigrams: Vec<String>,
}

/// The segmenter and lexicon shared by indexing and querying. Build once, share behind an `Arc`.
pub struct Analyzer {
    jieba: Jieba,
    /// Terms of other authorities' matters (normalised) → where to go instead.
    redirects: Vec<(String, String)>,
    stopwords: HashSet<String>,
    synonyms: HashMap<String, usize>,
    groups: Vec<Vec<String>>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("stopwords", &self.stopwords.len())
            .field("synonym_groups", &self.groups.len())
            .finish_non_exhaustive()
    }
}

/// A line of the user dictionary that jieba could not take.
#[derive(Debug, thiserror::Error)]
#[error("the user dictionary could not be loaded: {0}")]
pub struct DictError(String);

impl Analyzer {
    /// Builds the analyzer: jieba's default dictionary plus `user_dict` (jieba's `词语 [频率] [词性]`
    /// lines), the synonym groups and the stopwords. Terms are normalised here, so callers may pass
    /// them as staff wrote them.
    pub fn new(
        user_dict: &str,
        synonym_groups: &[Vec<String>],
        stopwords: &[String],
        redirects: &[(Vec<String>, String)],
    ) -> Result<Self, DictError> {
        let mut jieba = Jieba::new();
        // jieba matches dictionary words on the normalised text, so load them normalised too.
        // A line without a frequency gets the one jieba suggests (jieba would otherwise use 0).
        let mut with_freq = Vec::new();
        for line in user_dict
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let mut parts = line.split_whitespace();
            let word = normalize(parts.next().unwrap_or_default()).replace(' ', "");
            let rest: Vec<&str> = parts.collect();
            if rest.is_empty() {
                jieba.add_word(&word, None, None);
            } else {
                with_freq.push(format!("{word} {}", rest.join(" ")));
            }
        }
        jieba
            .load_dict(&mut BufReader::new(with_freq.join("\n").as_bytes()))
            .map_err(|e| DictError(e.to_string()))?;

        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut synonyms = HashMap::new();
        for group in synonym_groups {
            let terms: Vec<String> = group.iter().map(|t| normalize(t)).filter(|t| !t.is_empty()).collect();
            if terms.len() < 2 {
                continue;
            }
            let idx = groups.len();
            for t in &terms {
                synonyms.entry(t.clone()).or_insert(idx);
            }
            groups.push(terms);
        }
        let stopwords = stopwords
            .iter()
            .map(|s| normalize(s))
            .filter(|s| !s.is_empty())
            .collect();
        let mut redirects: Vec<(String, String)> = redirects
            .iter()
            .flat_map(|(terms, to)| terms.iter().map(move |t| (normalize(t), to.clone())))
            .filter(|(t, _)| !t.is_empty())
            .collect();
        // Longest first, so 出口退税率 wins over 退税率 when both are listed.
        redirects.sort_by_key(|(t, _)| std::cmp::Reverse(t.chars().count()));
        Ok(Self {
            jieba,
            redirects,
            stopwords,
            synonyms,
            groups,
        })
    }

    /// Segments an already normalised text for indexing: jieba search mode, so compounds and the
    /// dictionary words inside them are both findable. Punctuation and whitespace are dropped.
    /// Positions are character offsets, so sub-words share their compound's position.
    pub fn index_tokens(&self, normalized: &str) -> Vec<Token> {
        self.tokens(normalized, TokenizeMode::Search)
    }

    /// Segments an already normalised text the way questions are: jieba precise mode.
    pub fn query_tokens(&self, normalized: &str) -> Vec<Token> {
        self.tokens(normalized, TokenizeMode::Default)
    }

    fn tokens(&self, normalized: &str, mode: TokenizeMode) -> Vec<Token> {
        self.jieba
            .tokenize(normalized, mode, true)
            .into_iter()
            .filter(|t| is_term(t.word))
            .map(|t| Token {
                text: t.word.to_string(),
                char_start: t.start,
                char_end: t.end,
                byte_start: t.byte_start,
                byte_end: t.byte_end,
            })
            .collect()
    }

    /// When a normalised question is about another authority's matter (出口退税, 护照 …): the term
    /// found and where to go instead. A term counts only where it starts and ends on word
    /// boundaries of the question (jieba precise mode), so 个税 is found in 「个税怎么交」 but not
    /// in 「哪个税号」 (哪个 / 税号).
    pub fn redirect(&self, normalized: &str) -> Option<(&str, &str)> {
        let candidates: Vec<&(String, String)> = self
            .redirects
            .iter()
            .filter(|(t, _)| normalized.contains(t.as_str()))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let mut bounds: Vec<usize> = vec![0, normalized.len()];
        for t in self.jieba.tokenize(normalized, TokenizeMode::Default, true) {
            bounds.extend([t.byte_start, t.byte_end]);
        }
        let on_bounds = |term: &str| {
            normalized
                .match_indices(term)
                .any(|(at, _)| bounds.contains(&at) && bounds.contains(&(at + term.len())))
        };
        candidates
            .into_iter()
            .find(|(t, _)| on_bounds(t))
            .map(|(t, to)| (t.as_str(), to.as_str()))
    }

    /// True when the word is a query stopword (请问, 怎么, 吗 …).
    pub fn is_stopword(&self, word: &str) -> bool {
        self.stopwords.contains(word)
    }

    /// The synonyms of a normalised word, not including the word itself.
    pub fn synonyms_of(&self, word: &str) -> Vec<String> {
        match self.synonyms.get(word) {
            Some(&g) => self.groups[g].iter().filter(|t| *t != word).cloned().collect(),
            None => Vec::new(),
        }
    }

    /// How often the word occurs in general text, per jieba's dictionary (0 when unknown).
    pub fn word_freq(&self, word: &str) -> usize {
        if self.jieba.has_word(word) {
            self.jieba.suggest_freq(word)
        } else {
            0
        }
    }

    /// Whether a question names a matter: one of its words, of two characters or more, is a noun
    /// (or a name, a number …) or a word less common in general Chinese than [`SPECIFIC_FREQ`]
    /// (缴税, 延期, 投诉). 谁来改, 需要什么证, 能寄吗 and 不去会怎样 name none: their words are
    /// one character long, verbs and pronouns as common as 修改 or 公开, or a function word joined
    /// to its neighbour by jieba's guess (不去: in no dictionary, so of no known frequency).
    pub fn names_a_matter(&self, question: &str) -> bool {
        self.query(question).groups.iter().any(|g| {
            g.word.chars().count() >= 2 && (g.weight >= 1.0 || (1..SPECIFIC_FREQ).contains(&self.word_freq(&g.word)))
        })
    }

    /// Turns a question into search terms: normalise, segment (precise mode), drop stopwords,
    /// expand synonyms and sub-words, and collect bigrams of what is left.
    pub fn query(&self, question: &str) -> Query {
        let normalized = normalize(question);
        let mut groups: Vec<TermGroup> = Vec::new();
        let mut seen = HashSet::new();
        let mut content = String::new();
        for tag in self.jieba.tag(&normalized, true) {
            if !is_term(tag.word) {
                continue;
            }
            let tok = Token {
                text: tag.word.to_string(),
                char_start: tag.start,
                char_end: tag.end,
                byte_start: tag.byte_start,
                byte_end: tag.byte_end,
            };
            if self.is_stopword(&tok.text) {
                content.push(' ');
                continue;
            }
            content.push_str(&tok.text);
            if !seen.insert(tok.text.clone()) {
                continue;
            }
            groups.push(self.group(tok.text, tag.tag));
        }
        let bigrams = bigrams(&content);
        Query {
            normalized,
            groups,
            bigrams,
        }
    }

    /// A question word with its expansions; `tag` is its part of speech.
    fn group(&self, word: String, tag: &str) -> TermGroup {
        let synonyms = self.synonyms_of(&word);
        let parts = if word.chars().count() > 2 {
            self.jieba
                .cut_for_search(&word, true)
                .into_iter()
                .map(|t| t.word.to_string())
                .filter(|w| w != &word && w.chars().count() >= 2 && !self.is_stopword(w))
                .collect::<Vec<_>>()
        } else {
            Vec::new()
        };
        TermGroup {
            word,
            synonyms,
            parts,
            weight: pos_weight(tag),
        }
    }

    /// A question word jieba's HMM guessed (it is in no dictionary) by joining a function word to a
    /// neighbouring character (能修, 税能, 会禁, 发了, 那要): the words it is made of that name or do
    /// something — the function words go, as stopwords do — so the character beside it is searched
    /// instead of the whole counting as an unknown name. None for any other word, and for a guessed
    /// word without a function word in it (机查, 曹家堡): it may be a name, or a homophone typed
    /// by mistake. The caller asks only about words the index does not hold: the index is
    /// segmented the same way, so a guessed word it holds (要交) matches as it is.
    pub fn unmerged(&self, word: &str) -> Option<Vec<TermGroup>> {
        let guessed = word.chars().count() >= 2
            && word.chars().all(is_cjk)
            && !self.jieba.has_word(word)
            && !self.synonyms.contains_key(word);
        if !guessed {
            return None;
        }
        let parts: Vec<&str> = self.jieba.cut(word, false).into_iter().map(|t| t.word).collect();
        if parts.len() < 2 || !parts.iter().any(|p| self.is_stopword(p)) {
            return None;
        }
        let content = parts.into_iter().filter(|p| !self.is_stopword(p)).filter_map(|p| {
            let tag = self
                .jieba
                .tag(p, false)
                .first()
                .map(|t| t.tag.to_string())
                .unwrap_or_default();
            (pos_weight(&tag) >= VERB_WEIGHT).then(|| self.group(p.to_string(), &tag))
        });
        Some(content.collect())
    }
}

/// How a word of CJK characters sounds, as toneless pinyin syllables joined by spaces, with the
/// sounds that pinyin input methods' fuzzy settings (and many speakers) do not tell apart written
/// alike: zh, ch, sh as z, c, s; -ing, -eng as -in, -en ("报关" → "bao guan", "要素" and "要数" →
/// "yao su"). n and l stay apart (年检 is no slip for 联检). Pinyin input makes people type a
/// homophone of the word they mean (保关 for 报关, 两部申报 for 两步申报); the index uses this to
/// recognise such slips. `None` for words with characters that have no pinyin or that are
/// shorter than two characters.
pub fn sound(word: &str) -> Option<String> {
    use pinyin::ToPinyin;
    if word.chars().count() < 2 {
        return None;
    }
    let mut out = Vec::new();
    for p in word.to_pinyin() {
        out.push(fuzzy(p?.plain()));
    }
    Some(out.join(" "))
}

/// One toneless syllable with the fuzzy pairs of [`sound`] merged.
fn fuzzy(syllable: &str) -> String {
    let (initial, rest) = match syllable {
        s if s.starts_with("zh") || s.starts_with("ch") || s.starts_with("sh") => (&s[..1], &s[2..]),
        s => ("", s),
    };
    let rest = match rest.strip_suffix("ng") {
        Some(stem) if stem.ends_with('i') || stem.ends_with('e') => stem.to_string() + "n",
        _ => rest.to_string(),
    };
    format!("{initial}{rest}")
}

/// A word rarer than this in general Chinese (jieba's dictionary frequency) names something even
/// when it is a verb (投诉 2,720, 延期 359); 修改 (5,259) and 公开 (5,095) do not. See
/// [`Analyzer::names_a_matter`].
const SPECIFIC_FREQ: usize = 5_000;

/// The weight of a verb (see [`pos_weight`]).
const VERB_WEIGHT: f32 = 0.6;

/// The topical weight of a jieba part-of-speech tag (see `TermGroup::weight`).
fn pos_weight(tag: &str) -> f32 {
    match tag {
        "v" | "vd" | "vi" | "vq" => VERB_WEIGHT,
        t if t.starts_with('n') || matches!(t, "vn" | "an" | "eng" | "m" | "j" | "i" | "l" | "g") => 1.0,
        _ => 0.3,
    }
}

/// Overlapping character bigrams over runs of CJK characters; a lone CJK character is kept as a
/// unigram and runs of other letters or digits are kept whole. Expects normalised text.
pub fn bigrams(normalized: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        match run.len() {
            0 => {}
            1 => out.push(run[0].to_string()),
            _ => out.extend(run.windows(2).map(|w| w.iter().collect::<String>())),
        }
        run.clear();
    };
    for c in normalized.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            run.push(c);
        } else if is_term_char(c) {
            flush_run(&mut run, &mut out);
            word.push(c);
        } else {
            flush_run(&mut run, &mut out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_run(&mut run, &mut out);
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests;
