//! Searching one open generation: a question's term groups become term clauses, scored as a
//! `BooleanQuery` of `TermQuery`s would be (never tantivy's QueryParser, which would turn an
//! unspaced Chinese question into a phrase query); the matching documents are collapsed to
//! distinct entries in force today, and each entry gets its features (`features`). Called through
//! [`SearchIndex::search`]; decides nothing.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};

use chrono::NaiveDate;
use rustc_hash::FxHashSet;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::InvertedIndexReader;
use tantivy::schema::Value;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, TantivyDocument, Term};

use super::features::{self, Counts, QuestionWeights, WordStats};
use super::{BOOST_BIGRAM, BOOST_BODY, BOOST_KW, BOOST_Q, Hit, NO_ENTRY, SearchIndex, Searched, for_each_posting};
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
        let top = self.best_documents(&searcher, &self.clauses(&query))?;
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
    fn entry_terms(&self, searcher: &Searcher, ord: usize) -> anyhow::Result<&FxHashSet<String>> {
        if let Some(terms) = self.terms[ord].get() {
            return Ok(terms);
        }
        let doc: TantivyDocument = searcher.doc(self.heads[ord])?;
        let terms: FxHashSet<String> = doc
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
            // A function word joined to a word the knowledge base holds (寄点 is 寄 + 点, not a slip
            // for 几点): the next step searches the word it holds.
            if self
                .analyzer
                .unmerged(word)
                .is_some_and(|parts| !parts.is_empty() && parts.iter().all(|p| self.entries_with(&p.word) > 0))
            {
                continue;
            }
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

    /// Every form of every word of the question looked for in the `q`, `kw` and `body` fields
    /// (weighted by how the form relates to the word), and the question's bigrams in `q_bi`.
    fn clauses<'q>(&self, query: &'q Query) -> Vec<Clause<'q>> {
        let mut clauses = Vec::new();
        // A word no document holds in a field matches nothing there: no clause for it.
        let mut add = |searched: Searched, counts: &[u32; 5], word: &'q str, boost: f32| {
            let documents = counts[searched as usize];
            if documents > 0 {
                clauses.push(Clause {
                    searched,
                    word,
                    documents,
                    boost,
                });
            }
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
        // A bigram repeated in a long message is one clause: it would be counted once per copy.
        let mut seen = HashSet::new();
        for b in query.bigrams.iter().filter(|b| seen.insert(b.as_str())) {
            add(Searched::QBi, &self.vocabulary.counts(b), b, BOOST_BIGRAM);
        }
        clauses
    }

    /// The best [`DOC_LIMIT`] documents for a question's clauses, ties in index order. A document
    /// scores the sum, over the clauses it matches, of the clause's BM25 score (tantivy's
    /// `Bm25Weight`, with the vocabulary's statistics) times its boost: what tantivy scores for a
    /// `BooleanQuery` of `Should` `TermQuery`s (`tests::the_scores_are_tantivys`).
    ///
    /// Summed here rather than by tantivy's union of scorers: a long message makes hundreds of
    /// clauses over a few thousand documents, and setting up and merging a scorer per clause was
    /// most of its time. An entry's keywords and body are on its head document only
    /// (`generation::entry_documents`) and stand for every document of the entry: a keyword or
    /// body clause is scored on the head, and its score added to each of the entry's documents.
    /// Every matching document is scored (block-WAND pruning costs more than it saves at that
    /// many clauses).
    fn best_documents(&self, searcher: &Searcher, clauses: &[Clause]) -> anyhow::Result<Vec<(Score, DocAddress)>> {
        let shared = |c: &&Clause| matches!(c.searched, Searched::Kw | Searched::Body);
        let mut by_entry = vec![0.0 as Score; self.entries.len()];
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            // Only head documents hold keywords and body: a posting's document names its entry.
            let owners = &self.owners[ord];
            let entry = |doc: DocId| {
                let owner = owners[doc as usize];
                (owner != NO_ENTRY).then_some(owner as usize)
            };
            self.score_postings(segment, clauses.iter().filter(shared), entry, &mut by_entry)?;
        }
        let mut best: BinaryHeap<Found> = BinaryHeap::with_capacity(DOC_LIMIT + 1);
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let owners = &self.owners[ord];
            let mut scores = vec![0.0 as Score; segment.max_doc() as usize];
            self.score_postings(
                segment,
                clauses.iter().filter(|c| !shared(c)),
                |doc| Some(doc as usize),
                &mut scores,
            )?;
            // Every clause scores a document it matches above zero (idf and boosts are positive).
            // The best so far are kept in a heap whose top is the worst of them: most documents
            // of a long message score below it and cost one comparison.
            for (doc, (&own, &owner)) in scores.iter().zip(owners).enumerate() {
                if owner == NO_ENTRY {
                    continue;
                }
                let score = own + by_entry[owner as usize];
                if score <= 0.0 {
                    continue;
                }
                let found = Found(score, DocAddress::new(ord as u32, doc as u32));
                if best.len() < DOC_LIMIT {
                    best.push(found);
                } else if let Some(mut worst) = best.peek_mut()
                    && found < *worst
                {
                    *worst = found;
                }
            }
        }
        Ok(best.into_sorted_vec().into_iter().map(|Found(s, d)| (s, d)).collect())
    }

    /// Adds each clause's BM25 score × boost for the documents of its postings in `segment` to
    /// `scores`, clause after clause, in the slot `slot` gives a document (none: not scored).
    fn score_postings<'c>(
        &self,
        segment: &SegmentReader,
        clauses: impl Iterator<Item = &'c Clause<'c>>,
        slot: impl Fn(DocId) -> Option<usize>,
        scores: &mut [Score],
    ) -> anyhow::Result<()> {
        let max_doc = segment.max_doc();
        // Each field's postings and norms, opened when a clause first needs them.
        let mut opened: [Option<(std::sync::Arc<InvertedIndexReader>, FieldNormReader)>; 5] = Default::default();
        for c in clauses {
            let field = c.searched.field(self.fields);
            let (inverted, norms) = match &mut opened[c.searched as usize] {
                Some(open) => open,
                slot => slot.insert((
                    segment.inverted_index(field)?,
                    segment
                        .fieldnorms_readers()
                        .get_field(field)?
                        .unwrap_or_else(|| FieldNormReader::constant(max_doc, 1)),
                )),
            };
            let Some(info) = inverted.get_term_info(&Term::from_field_text(field, c.word))? else {
                continue;
            };
            let bm25 = self.vocabulary.bm25(c.searched, c.documents).boost_by(c.boost);
            for_each_posting(inverted, &info, |doc, freq| {
                if let Some(i) = slot(doc) {
                    scores[i] += bm25.score(norms.fieldnorm_id(doc), freq);
                }
            })?;
        }
        Ok(())
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

/// A scored document, ordered best first: a higher score, then (a tie) the earlier document.
/// In a [`BinaryHeap`] the greatest, the worst kept, is on top.
#[derive(Debug, Clone, Copy)]
struct Found(Score, DocAddress);

impl Ord for Found {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Found {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Found {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Found {}

/// One clause of a question's search: a word (or a synonym, a sub-word, a bigram) looked for in
/// one field, with the weight of that field and form.
struct Clause<'q> {
    searched: Searched,
    word: &'q str,
    /// How many documents hold the word in that field.
    documents: u32,
    boost: f32,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tantivy::Term;
    use tantivy::collector::TopDocs;
    use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, BoostQuery, Occur, Query as TQuery, TermQuery};
    use tantivy::schema::IndexRecordOption;

    use super::{DOC_LIMIT, Searched};
    use crate::config::Config;
    use crate::index::{self, SearchIndex, generation};

    /// The shipped knowledge base, indexed in a temporary folder, and the same documents in
    /// memory with each document carrying its entry's keywords and body (the reference: what the
    /// head-only layout must score exactly as).
    fn shipped() -> (tempfile::TempDir, SearchIndex, tantivy::Searcher) {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = Config::load(&repo.join("bot.toml")).unwrap();
        let loaded = crate::app::load_knowledge(&config);
        assert!(!loaded.has_errors());
        let dir = tempfile::tempdir().unwrap();
        index::build(&loaded.knowledge, dir.path()).unwrap();
        let idx = SearchIndex::open(dir.path()).unwrap();
        let (schema, f) = index::schema();
        let reference = tantivy::Index::create_in_ram(schema);
        let mut writer: tantivy::IndexWriter = reference.writer_with_num_threads(1, 100_000_000).unwrap();
        for (ord, entry) in loaded.knowledge.entries.iter().enumerate() {
            let (docs, _) = generation::entry_documents(ord, entry, &idx.analyzer, f);
            for (i, mut doc) in docs.into_iter().enumerate() {
                if i > 0 {
                    let (keywords, body) = generation::shared_fields(entry, &idx.analyzer);
                    doc.add_pre_tokenized_text(f.kw, keywords);
                    doc.add_pre_tokenized_text(f.body, body);
                }
                writer.add_document(doc).unwrap();
            }
        }
        writer.commit().unwrap();
        let searcher = reference.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 1);
        assert_eq!(searcher.num_docs(), idx.reader.searcher().num_docs());
        (dir, idx, searcher)
    }

    /// The statistics the vocabulary holds are those tantivy counts, term by term and field by
    /// field, on the reference (every document carrying its entry's keywords and body): BM25 is
    /// computed with the numbers tantivy would count itself.
    #[test]
    fn the_vocabulary_counts_what_tantivy_counts() {
        let (_dir, idx, searcher) = shipped();
        let f = idx.fields;
        assert_eq!(idx.vocabulary.documents, searcher.num_docs());
        let mut compared = 0;
        for searched in Searched::ALL {
            let field = searched.field(f);
            assert_eq!(
                idx.vocabulary.tokens[searched as usize],
                searcher.total_num_tokens(field).unwrap()
            );
            for word in idx.vocabulary.freq.keys().map(String::as_str).chain(["不在词表里的词"]) {
                let term = Term::from_field_text(field, word);
                assert_eq!(
                    idx.vocabulary.doc_freq(searched, word),
                    searcher.doc_freq(&term).unwrap(),
                    "{word}"
                );
                compared += 1;
            }
        }
        assert!(compared > 10_000, "only {compared} terms compared");
    }

    /// The documents and scores of a question are those tantivy finds for a `BooleanQuery` of the
    /// same clauses as `Should` `TermQuery`s on the reference, on the dev questions and on long
    /// messages: the same best documents, in the same order but for near ties, with the same
    /// scores.
    #[test]
    fn the_scores_are_tantivys() {
        let (_dir, idx, reference) = shipped();
        let searcher = idx.reader.searcher();
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut questions: Vec<String> = std::fs::read_to_string(repo.join("tests/data/dev.tsv"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t').map(|(_, q)| q.to_string()))
            .collect();
        questions.extend(
            std::fs::read_to_string(repo.join("tests/data/long-messages.tsv"))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.splitn(4, '\t').nth(3).map(|m| m.replace("\\n", "\n"))),
        );
        assert!(questions.len() > 200, "only {} questions", questions.len());
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * a.abs().max(b.abs()).max(1.0);
        let mut compared = 0;
        for q in &questions {
            let query = idx.analyzer.query(q);
            let clauses = idx.clauses(&query);
            let ours = idx.best_documents(&searcher, &clauses).unwrap();
            let tantivy_query = BooleanQuery::new(
                clauses
                    .iter()
                    .map(|c| {
                        let term = TermQuery::new(
                            Term::from_field_text(c.searched.field(idx.fields), c.word),
                            IndexRecordOption::WithFreqs,
                        );
                        let boosted: Box<dyn TQuery> = Box::new(BoostQuery::new(Box::new(term), c.boost));
                        (Occur::Should, boosted)
                    })
                    .collect(),
            );
            let all = reference.num_docs() as usize;
            let theirs = reference
                .search(&tantivy_query, &TopDocs::with_limit(all).order_by_score())
                .unwrap();
            assert_eq!(ours.len(), theirs.len().min(DOC_LIMIT), "{q}");
            let scored: HashMap<_, _> = theirs.iter().map(|&(s, d)| (d, s)).collect();
            for (i, &(score, doc)) in ours.iter().enumerate() {
                let theirs_here = scored.get(&doc).copied().unwrap_or(0.0);
                assert!(
                    close(score, theirs_here),
                    "{q}: document {doc:?} scored {score}, tantivy {theirs_here}"
                );
                assert!(
                    close(score, theirs[i].0),
                    "{q}: place {i} scored {score}, tantivy {}",
                    theirs[i].0
                );
                compared += 1;
            }
        }
        assert!(compared > 5_000, "only {compared} documents compared");
    }
}
