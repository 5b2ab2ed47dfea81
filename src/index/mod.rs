//! The search index: building generations atomically, opening the current one, and searching it.
//!
//! Only this module imports tantivy. An index *generation* is a folder `index/gen-…/` holding the
//! tantivy files, the entries and the lexicon it was built from (`entries.json`, `lexicon.json`) and
//! `meta.json` (schema version, knowledge fingerprint). `index/CURRENT` names the generation in
//! service and is replaced by an atomic rename only after the new generation is complete, so a
//! failed or interrupted build leaves the previous index serving and nothing half-written is read.
//!
//! Documents: one per way of asking (the title and each alternate question) so that the margin
//! between the top two results compares *different* entries; results are collapsed to distinct
//! entries (max score). The entry's keywords and body are on its first document (the head) only,
//! but count for each of its documents: the vocabulary counts them once per document, and the
//! search adds the head's keyword and body score to every document of the entry — the scores of an
//! index where every document carried them, from a fourteenth of the postings. Text is tokenised by `text::Analyzer` and handed to tantivy pre-tokenised,
//! so no tokenizer has to be registered on open and the same code segments documents and questions.
//!
//! Three rooms: `generation` (building, the lock, switching, cleaning up, opening), `search` (the
//! query and the hits) and `features` (coverage, norm, matched: plain arithmetic, unit-tested).
//! This file holds what they share: the public types, the document schema and the field weights.
//! Called by `app`, `cli` and `web::ops` (reindex); decides nothing.

mod features;
mod generation;
mod search;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use tantivy::index::InvertedIndexReader;
use tantivy::postings::TermInfo;
use tantivy::query::Bm25Weight;
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions};
use tantivy::{DocAddress, DocId, IndexReader};

pub use generation::{Staged, build, build_and_open, current_meta, stage};

use crate::knowledge::{Entry, Lexicon};
use crate::text::Analyzer;

/// Bumped whenever the layout or tokenisation changes; an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 7;

/// Field weights, chosen on tests/data/dev.tsv (top-1 accuracy). Every document of an entry carries
/// its keywords and body, so they add to the best-matching way of asking.
const BOOST_Q: f32 = 3.0;
const BOOST_KW: f32 = 1.5;
const BOOST_BODY: f32 = 1.0;
const BOOST_BIGRAM: f32 = 1.0;

/// What [`SearchIndex`]'s `owners` hold for a deleted document.
const NO_ENTRY: u32 = u32::MAX;

/// What an index generation records about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub schema_version: u32,
    pub fingerprint: String,
    pub entries: usize,
    pub documents: usize,
    pub built_at: String,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub generation: PathBuf,
    pub entries: usize,
    pub documents: usize,
    pub elapsed: Duration,
}

/// One distinct entry found for a question, with the features the decision uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Position of the entry in [`SearchIndex::entries`].
    pub entry: usize,
    /// Raw BM25 sum (comparable only within one question).
    pub score: f32,
    /// What results are ordered by: `score` × √`coverage`, so that between two similar scores the
    /// entry that explains more of the question comes first.
    pub rank: f32,
    /// IDF-weighted share of the question's content words found in the entry (0–1).
    pub coverage: f32,
    /// `score` as a share of the question's ideal score (roughly 0–1, may exceed 1).
    pub norm: f32,
    /// Sum of the entry-level IDF of the question's words the entry contains: how much specific
    /// vocabulary the two share, however long the question is.
    pub matched: f32,
    /// When `entry` answers in place of an entry no longer in force that supersedes names (whose
    /// words the question matched): that entry's position.
    pub superseded: Option<usize>,
}

/// The fields of every generation's documents (see ARCHITECTURE.md, "Index layout").
#[derive(Clone, Copy)]
struct Fields {
    entry: Field,
    q: Field,
    q_bi: Field,
    kw: Field,
    body: Field,
    all: Field,
    terms: Field,
    head: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let freqs = TextOptions::default()
        .set_indexing_options(TextFieldIndexing::default().set_index_option(IndexRecordOption::WithFreqs));
    let basic = TextOptions::default()
        .set_indexing_options(TextFieldIndexing::default().set_index_option(IndexRecordOption::Basic));
    let fields = Fields {
        entry: b.add_u64_field("entry", INDEXED | FAST | STORED),
        q: b.add_text_field("q", freqs.clone()),
        q_bi: b.add_text_field("q_bi", freqs.clone()),
        kw: b.add_text_field("kw", freqs.clone()),
        body: b.add_text_field("body", freqs),
        all: b.add_text_field("all", basic),
        terms: b.add_text_field("terms", STORED),
        head: b.add_u64_field("head", FAST),
    };
    (b.build(), fields)
}

/// An open index generation, ready to search. Cheap to share behind an `Arc`. Opened by
/// `generation`, searched by `search`.
pub struct SearchIndex {
    meta: Meta,
    entries: Vec<Entry>,
    by_id: HashMap<String, usize>,
    /// Entry position → the entries that supersede it, most recently updated first.
    successors: HashMap<usize, Vec<usize>>,
    /// The lexicon the generation was built from (to share the analyzer with the next generation).
    lexicon: Lexicon,
    /// Shared with the next generation when its lexicon is the same, so a reindex does not load
    /// another jieba dictionary.
    analyzer: Arc<Analyzer>,
    /// Where each entry's head document (its stored terms) is, by entry position.
    heads: Vec<DocAddress>,
    /// Segment → document → the position of the entry it belongs to ([`NO_ENTRY`] if deleted).
    owners: Vec<Vec<u32>>,
    /// Each entry's words, read from its head document the first time a question finds it.
    terms: Vec<std::sync::OnceLock<FxHashSet<String>>>,
    /// How knowledge-base words sound (see `text::sound`) → the word.
    sounds: HashMap<String, String>,
    /// Every word the generation holds, with the number of documents holding it in each field.
    vocabulary: Vocabulary,
    reader: IndexReader,
    fields: Fields,
    generation: PathBuf,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("generation", &self.generation)
            .field("meta", &self.meta)
            .finish()
    }
}

impl SearchIndex {
    /// Opens generation `name` under `root` — the one the ticket store names as published, which
    /// may differ from what `CURRENT` says in a shared folder for a moment — reusing `previous`'s
    /// analyzer when the lexicon is the same. The name comes from outside the folder, so it must be
    /// a plain `gen-…` folder name (letters, digits, `-`, `_`, `.`; no path) before it is opened.
    pub fn open_generation(root: &Path, name: &str, previous: &SearchIndex) -> anyhow::Result<Self> {
        let plain = name.starts_with("gen-")
            && !name.contains("..")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        anyhow::ensure!(plain, "{name:?} is not the name of an index generation");
        Self::open_at(&root.join(name), Some((&previous.lexicon, &previous.analyzer)))
    }

    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, ord: usize) -> &Entry {
        &self.entries[ord]
    }

    /// The position of entry `id` in [`entries`](Self::entries).
    pub fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// The lexicon the generation was built from.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The generation's folder name (`gen-…`): what logged answers record.
    pub fn generation_name(&self) -> String {
        self.generation
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Every term of the searched fields with its document frequency in each, read once when a
/// generation opens (a few thousand words for the shipped knowledge base). A question's words are
/// looked up here rather than in tantivy's term dictionaries: a long message has a hundred words,
/// each with its synonyms, in four fields, and most of them are in none — the clauses for a word a
/// field does not hold would match nothing, so they are left out of the query (same results, a
/// fraction of the lookups).
#[derive(Default)]
struct Vocabulary {
    /// Term → documents holding it in `q`, `kw`, `body`, `q_bi`, `all` (in that order).
    freq: FxHashMap<String, [u32; 5]>,
    /// BM25's weight of a term in each field (same order) by how many documents hold it, for every
    /// such number a term of the field has: tantivy's `Bm25Weight`, whose table of 256 length
    /// factors would otherwise be worked out again for every clause of every question.
    bm25: [FxHashMap<u32, Bm25Weight>; 5],
    /// Tokens in each field over all documents, in the same order (BM25's average length).
    tokens: [u64; 5],
    /// Documents in the generation (deleted ones included, as tantivy counts them).
    documents: u64,
}

/// A field's place in [`Vocabulary::freq`]'s arrays.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Searched {
    Q = 0,
    Kw = 1,
    Body = 2,
    QBi = 3,
    All = 4,
}

impl Searched {
    const ALL: [Searched; 5] = [Searched::Q, Searched::Kw, Searched::Body, Searched::QBi, Searched::All];

    /// The schema field this is.
    fn field(self, fields: Fields) -> Field {
        match self {
            Searched::Q => fields.q,
            Searched::Kw => fields.kw,
            Searched::Body => fields.body,
            Searched::QBi => fields.q_bi,
            Searched::All => fields.all,
        }
    }
}

impl Vocabulary {
    /// How many documents hold `word` in each field (all 0 when none does).
    fn counts(&self, word: &str) -> [u32; 5] {
        self.freq.get(word).copied().unwrap_or_default()
    }

    /// How many documents hold `word` in `field` (0 when none does).
    fn doc_freq(&self, field: Searched, word: &str) -> u64 {
        u64::from(self.counts(word)[field as usize])
    }

    /// BM25's weight in `field` of a word `n` documents hold there (kept by [`Self::weigh`]).
    fn bm25(&self, field: Searched, n: u32) -> Bm25Weight {
        match self.bm25[field as usize].get(&n) {
            Some(weight) => weight.clone(),
            None => self.new_bm25(field, n),
        }
    }

    /// Makes and keeps the BM25 weight of every document frequency a term of each field has, once
    /// the frequencies and token totals are counted.
    fn weigh(&mut self) {
        for field in Searched::ALL {
            let mut weights = FxHashMap::default();
            for counts in self.freq.values() {
                let n = counts[field as usize];
                weights.entry(n).or_insert_with(|| self.new_bm25(field, n));
            }
            self.bm25[field as usize] = weights;
        }
    }

    fn new_bm25(&self, field: Searched, n: u32) -> Bm25Weight {
        let documents = self.documents.max(1);
        let average = self.tokens[field as usize] as f32 / documents as f32;
        Bm25Weight::for_one_term_without_explain(u64::from(n), documents, average)
    }
}

/// Calls `each` with every (document, term frequency) of a term's postings, in document order.
fn for_each_posting(
    inverted: &InvertedIndexReader,
    term: &TermInfo,
    mut each: impl FnMut(DocId, u32),
) -> std::io::Result<()> {
    let mut postings = inverted.read_block_postings_from_terminfo(term, IndexRecordOption::WithFreqs)?;
    loop {
        let docs = postings.docs();
        if docs.is_empty() {
            return Ok(());
        }
        for (&doc, &freq) in docs.iter().zip(postings.freqs()) {
            each(doc, freq);
        }
        postings.advance();
    }
}

/// Entry position → the positions of the entries that name it in `supersedes`, most recently
/// updated first.
fn successors(entries: &[Entry], by_id: &HashMap<String, usize>) -> HashMap<usize, Vec<usize>> {
    let mut out: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        for old in &e.supersedes {
            if let Some(&o) = by_id.get(old) {
                out.entry(o).or_default().push(i);
            }
        }
    }
    for list in out.values_mut() {
        list.sort_by(|&a, &b| (entries[b].updated, &entries[b].id).cmp(&(entries[a].updated, &entries[a].id)));
    }
    out
}
