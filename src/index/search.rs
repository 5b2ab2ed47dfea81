//! Searching one open generation: a question's term groups become a `BooleanQuery` of `TermQuery`s
//! (never tantivy's QueryParser, which would turn an unspaced Chinese question into a phrase
//! query), the matching documents are collapsed to distinct entries in force today, and each entry
//! gets its features (`features`). Called through [`SearchIndex::search`]; decides nothing.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, BoostQuery, Occur, Query as TQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyDocument, Term};

use super::features::{self, Counts, QuestionWeights, WordStats};
use super::{BOOST_BIGRAM, BOOST_BODY, BOOST_KW, BOOST_Q, Hit, SearchIndex, Searched};
use crate::text::{self, Form, Query, TermGroup};

/// Weights of a word's synonyms and of its sub-words, relative to the word itself.
const SYNONYM_WEIGHT: f32 = 0.9;
const PART_WEIGHT: f32 = 0.3;
/// The longest stretch of a question read as one mistyped word (see `misheard_around`).
const SLIP_CHARS: usize = 4;
/// Slips are looked for around unknown words only in a question of at most this many words.
const SLIP_WORDS: usize = 16;
/// How many documents to collect before collapsing to entries.
const DOC_LIMIT: usize = 60;

impl SearchIndex {
    /// Searches for a question: up to `limit` distinct current entries, best first, with features.
    pub fn search(&self, question: &str, limit: usize, today: NaiveDate) -> anyhow::Result<(Query, Vec<Hit>)> {
        let mut query = self.analyzer.query(question);
        if query.groups.is_empty() {
            return Ok((query, Vec::new()));
        }
        let searcher = self.reader.searcher();
        let mut stats: Vec<WordStats> = query.groups.iter().map(|g| self.word_stats(g)).collect();
        // A homophone added to a word changes what the index knows about it: count that word again.
        for i in self.add_homophones(&mut query, &stats) {
            stats[i] = self.word_stats(&query.groups[i]);
        }
        // A word the index does not hold (nor a homophone of it, counted above) that the segmenter
        // made by joining a function word to a character (税能, 会禁): the character is searched.
        let mut i = 0;
        while i < query.groups.len() {
            let unknown = stats[i].entries_with == 0 && stats[i].general_freq == 0;
            let split = if unknown {
                self.analyzer.unmerged(&query.groups[i].word)
            } else {
                None
            };
            let Some(parts) = split else {
                i += 1;
                continue;
            };
            let parts: Vec<TermGroup> = parts
                .into_iter()
                .filter(|p| !query.groups.iter().any(|g| g.word == p.word))
                .collect();
            let counted: Vec<WordStats> = parts.iter().map(|g| self.word_stats(g)).collect();
            let n = parts.len();
            query.groups.splice(i..=i, parts);
            stats.splice(i..=i, counted);
            i += n;
        }
        let counts = Counts {
            entries: self.entries.len().max(1) as u64,
            documents: searcher.num_docs().max(1),
        };
        let weights = QuestionWeights::new(&stats, counts);
        let statistics = Statistics {
            index: self,
            searcher: &searcher,
        };
        let top =
            searcher.search_with_statistics_provider(&self.boolean_query(&query), &Best(DOC_LIMIT), &statistics)?;
        let mut hits = Vec::new();
        for (ord, score) in self.distinct_entries(&searcher, top, limit, today)? {
            let terms = self.entry_terms(&searcher, ord)?;
            let shares = query.groups.iter().map(|g| features::share(g, terms));
            let mut hit = weights.hit(ord, score, shares);
            // The words matched were the superseded entry's; the entry in force answers.
            if let Some(now) = self.answers_for(ord, today).filter(|&now| now != ord) {
                hit.entry = now;
                hit.superseded = Some(ord);
            }
            hits.push(hit);
        }
        hits.sort_by(|a, b| b.rank.total_cmp(&a.rank));
        if tracing::enabled!(tracing::Level::DEBUG) {
            let words: Vec<String> = query
                .groups
                .iter()
                .zip(&stats)
                .map(|(g, s)| match g.synonyms.as_slice() {
                    [] => format!("{}:{}/{}", g.word, s.entries_with, s.general_freq),
                    alike => format!("{}={}:{}/{}", g.word, alike.join("="), s.entries_with, s.general_freq),
                })
                .collect();
            tracing::debug!(question, words = ?words, "question words (entries with / general frequency)");
            for h in &hits {
                // The question's words the entry does not hold (what keeps its coverage down).
                let lacks: Vec<&str> = match self.terms[h.superseded.unwrap_or(h.entry)].get() {
                    Some(terms) => query
                        .groups
                        .iter()
                        .filter(|g| features::share(g, terms) == 0.0)
                        .map(|g| g.word.as_str())
                        .collect(),
                    None => Vec::new(),
                };
                tracing::debug!(
                    entry = %self.entries[h.entry].id,
                    lacks = ?lacks,
                    rank = h.rank,
                    coverage = h.coverage,
                    norm = h.norm,
                    matched = h.matched,
                    "candidate"
                );
            }
        }
        Ok((query, hits))
    }

    /// The words an entry contains (its head document's stored terms), read once per generation:
    /// reading a stored document decompresses a block, which was most of a question's time.
    fn entry_terms(&self, searcher: &Searcher, ord: usize) -> anyhow::Result<&HashSet<String>> {
        if let Some(terms) = self.terms[ord].get() {
            return Ok(terms);
        }
        let doc: TantivyDocument = searcher.doc(self.heads[ord])?;
        let terms: HashSet<String> = doc
            .get_first(self.fields.terms)
            .and_then(|v| v.as_str())
            .map(|s| s.split(' ').map(str::to_string).collect())
            .unwrap_or_default();
        Ok(self.terms[ord].get_or_init(|| terms))
    }

    /// How many entries (the `all` field) hold a word.
    fn entries_with(&self, word: &str) -> u64 {
        self.vocabulary.doc_freq(Searched::All, word)
    }

    /// A word the knowledge base has never seen (nor any synonym of it) may be a homophone typed by
    /// mistake (两部申报 → 两步, 海光 → 海关): the knowledge-base word that sounds the same becomes a
    /// synonym — but only beside a word the knowledge base does know. A message with no known word
    /// at all (你几岁了) is not about customs, and 几岁 must not become 脊髓. A slip can also cut
    /// the question into other words (反倾消税 is 反倾 / 消税, 圆产地证 is 圆 / 产地证): then a few
    /// characters around the word sound like a knowledge-base word ([`Self::misheard_around`]).
    /// Returns the positions of the words that got one; `stats` are what the index knew about each
    /// word before.
    fn add_homophones(&self, query: &mut Query, stats: &[WordStats]) -> Vec<usize> {
        if stats.iter().all(|s| s.entries_with == 0) {
            return Vec::new();
        }
        // A whole long message (its sentences are also read one by one) is not searched for slips:
        // its many unknown words (names, products, background) would cost more than they find.
        let look_around = query.groups.len() <= SLIP_WORDS;
        let mut changed = Vec::new();
        for (i, s) in stats.iter().enumerate() {
            if s.entries_with > 0 {
                continue;
            }
            let word = &query.groups[i].word;
            let alike = match text::sound(word).and_then(|k| self.sounds.get(&k)) {
                Some(alike) => Some(alike.clone()),
                None if look_around => self.misheard_around(&query.normalized, word),
                None => None,
            };
            if let Some(alike) = alike.filter(|a| !query.groups.iter().any(|g| &g.word == a)) {
                query.groups[i].synonyms.push(alike);
                changed.push(i);
            }
        }
        changed
    }

    /// The knowledge-base word that a few characters of the question around `word` (an unknown
    /// word) sound like while being no word of the knowledge base themselves: windows of 2 to
    /// [`SLIP_CHARS`] characters that hold the whole word, the longest first (windows that cut a
    /// word read nonsense into it: 小汽车 would hold 效期). `normalized` is the question.
    fn misheard_around(&self, normalized: &str, word: &str) -> Option<String> {
        let chars: Vec<char> = normalized.chars().collect();
        let w: Vec<char> = word.chars().collect();
        let a = chars.windows(w.len()).position(|c| c == w.as_slice())?;
        let b = a + w.len();
        for len in (2..=SLIP_CHARS).rev() {
            for start in a.saturating_sub(2)..=a {
                let end = start + len;
                if end < b || end > chars.len() || (start, end) == (a, b) {
                    continue;
                }
                let window = &chars[start..end];
                if !window.iter().all(|&c| text::is_cjk(c)) {
                    continue;
                }
                let typed: String = window.iter().collect();
                if let Some(alike) = text::sound(&typed).and_then(|k| self.sounds.get(&k))
                    && *alike != typed
                    && self.entries_with(&typed) == 0
                {
                    return Some(alike.clone());
                }
            }
        }
        None
    }

    /// What the index knows about a question word: the largest frequencies of the word and its
    /// synonyms, and how common the word is in general Chinese.
    fn word_stats(&self, g: &TermGroup) -> WordStats {
        let (mut entries_with, mut questions_with) = (0, 0);
        for (w, _) in g.forms().filter(|(_, kind)| *kind != Form::Part) {
            let counts = self.vocabulary.counts(w);
            entries_with = entries_with.max(u64::from(counts[Searched::All as usize]));
            questions_with = questions_with.max(u64::from(counts[Searched::Q as usize]));
        }
        WordStats {
            topical: g.weight,
            entries_with,
            questions_with,
            general_freq: self.analyzer.word_freq(&g.word),
        }
    }

    /// Every form of every word in the question, keyword and body fields (weighted by how the form
    /// relates to the word), and the question's bigrams.
    fn boolean_query(&self, query: &Query) -> BooleanQuery {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        // A word no document holds in a field matches nothing there: no clause for it.
        let mut add = |searched: Searched, counts: &[u32; 5], word: &str, boost: f32| {
            if counts[searched as usize] == 0 {
                return;
            }
            let tq = TermQuery::new(
                Term::from_field_text(searched.field(f), word),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), boost))));
        };
        for g in &query.groups {
            for (w, kind) in g.forms() {
                let weight = match kind {
                    Form::Word => 1.0,
                    Form::Synonym => SYNONYM_WEIGHT,
                    Form::Part => PART_WEIGHT,
                };
                let counts = self.vocabulary.counts(w);
                add(Searched::Q, &counts, w, BOOST_Q * weight);
                add(Searched::Kw, &counts, w, BOOST_KW * weight);
                add(Searched::Body, &counts, w, BOOST_BODY * weight);
            }
        }
        // A bigram repeated in a long message is one clause: tantivy would look it up once per copy.
        let mut seen = HashSet::new();
        for b in query.bigrams.iter().filter(|b| seen.insert(b.as_str())) {
            add(Searched::QBi, &self.vocabulary.counts(b), b, BOOST_BIGRAM);
        }
        BooleanQuery::new(clauses)
    }

    /// The entry that answers for entry `ord` on `today`: itself when in force, else the entry in
    /// force that supersedes it (the most recently updated), else none.
    pub fn answers_for(&self, ord: usize, today: NaiveDate) -> Option<usize> {
        if self.entries[ord].is_current(today) {
            return Some(ord);
        }
        self.successors
            .get(&ord)?
            .iter()
            .copied()
            .find(|&s| self.entries[s].is_current(today))
    }

    /// Collapses the best documents to distinct entries (the score of their best document), in
    /// order, skipping entries not in force `today` unless an entry in force supersedes them; at
    /// most `limit`.
    fn distinct_entries(
        &self,
        searcher: &Searcher,
        top: Vec<(f32, tantivy::DocAddress)>,
        limit: usize,
        today: NaiveDate,
    ) -> anyhow::Result<Vec<(usize, f32)>> {
        let mut best: Vec<(usize, f32)> = Vec::new();
        let mut columns = HashMap::new();
        for (score, addr) in top {
            let column = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(searcher.segment_reader(addr.segment_ord).fast_fields().u64("entry")?)
                }
            };
            let Some(ord) = column.first(addr.doc_id) else { continue };
            let ord = ord as usize;
            if ord >= self.entries.len() {
                continue;
            }
            // An entry not in force counts only through the entry in force that supersedes it
            // (`answers`): found once, under the successor's place.
            let Some(answers) = self.answers_for(ord, today) else {
                continue;
            };
            if !best.iter().any(|(e, _)| self.answers_for(*e, today) == Some(answers)) {
                best.push((ord, score));
            }
            if best.len() >= limit {
                break;
            }
        }
        Ok(best)
    }
}

/// The best `0` documents by score, ties in index order. Every matching document is scored (the
/// index holds a few thousand documents): tantivy's `TopDocs` prunes with block-WAND, which costs
/// more than it saves when a long message makes hundreds of clauses.
struct Best(usize);

/// One segment's scored documents.
struct BestInSegment {
    segment: SegmentOrdinal,
    docs: Vec<(Score, DocAddress)>,
}

impl Collector for Best {
    type Fruit = Vec<(Score, DocAddress)>;
    type Child = BestInSegment;

    fn for_segment(&self, segment: SegmentOrdinal, _reader: &SegmentReader) -> tantivy::Result<BestInSegment> {
        Ok(BestInSegment {
            segment,
            docs: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(Score, DocAddress)>>) -> tantivy::Result<Self::Fruit> {
        let order = |a: &(Score, DocAddress), b: &(Score, DocAddress)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let mut all: Vec<(Score, DocAddress)> = fruits.into_iter().flatten().collect();
        if all.len() > self.0 {
            all.select_nth_unstable_by(self.0, order);
            all.truncate(self.0);
        }
        all.sort_unstable_by(order);
        Ok(all)
    }
}

impl SegmentCollector for BestInSegment {
    type Fruit = Vec<(Score, DocAddress)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.docs.push((score, DocAddress::new(self.segment, doc)));
    }

    fn harvest(self) -> Self::Fruit {
        self.docs
    }
}

/// BM25's statistics read from the generation's [`Vocabulary`](super::Vocabulary) — the same
/// numbers tantivy would find in its term dictionaries, without looking each of a long message's
/// words up there once more (any other field is asked of the searcher).
struct Statistics<'a> {
    index: &'a SearchIndex,
    searcher: &'a Searcher,
}

impl Bm25StatisticsProvider for Statistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        match Searched::of(field, self.index.fields) {
            Some(searched) => Ok(self.index.vocabulary.tokens[searched as usize]),
            None => self.searcher.total_num_tokens(field),
        }
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.index.vocabulary.documents)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        match (Searched::of(term.field(), self.index.fields), term.value().as_str()) {
            (Some(searched), Some(word)) => Ok(self.index.vocabulary.doc_freq(searched, word)),
            _ => Bm25StatisticsProvider::doc_freq(self.searcher, term),
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::Term;
    use tantivy::query::Bm25StatisticsProvider;

    use super::{Searched, Statistics};
    use crate::config::Config;
    use crate::index::{self, SearchIndex};

    /// The statistics read from the vocabulary are tantivy's own, term by term and field by field,
    /// on the shipped knowledge base: scores are the same as when tantivy counts them itself.
    #[test]
    fn the_vocabulary_counts_what_tantivy_counts() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = Config::load(&repo.join("bot.toml")).unwrap();
        let loaded = crate::app::load_knowledge(&config);
        assert!(!loaded.has_errors());
        let dir = tempfile::tempdir().unwrap();
        index::build(&loaded.knowledge, dir.path()).unwrap();
        let idx = SearchIndex::open(dir.path()).unwrap();
        let searcher = idx.reader.searcher();
        let ours = Statistics {
            index: &idx,
            searcher: &searcher,
        };
        let f = idx.fields;
        assert_eq!(
            ours.total_num_docs().unwrap(),
            Bm25StatisticsProvider::total_num_docs(&searcher).unwrap()
        );
        let mut compared = 0;
        for field in Searched::ALL.map(|s| s.field(f)) {
            assert_eq!(
                ours.total_num_tokens(field).unwrap(),
                searcher.total_num_tokens(field).unwrap()
            );
            for word in idx.vocabulary.freq.keys().map(String::as_str).chain(["不在词表里的词"]) {
                let term = Term::from_field_text(field, word);
                assert_eq!(
                    ours.doc_freq(&term).unwrap(),
                    searcher.doc_freq(&term).unwrap(),
                    "{word}"
                );
                compared += 1;
            }
        }
        assert!(compared > 10_000, "only {compared} terms compared");
    }
}
