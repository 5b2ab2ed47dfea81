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
//! entries (max score). Text is tokenised by `text::Analyzer` and handed to tantivy pre-tokenised,
//! so no tokenizer has to be registered on open and the same code segments documents and questions.
//! Queries are built term by term (never with tantivy's QueryParser, which would turn an unspaced
//! Chinese question into a phrase query).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query as TQuery, TermQuery};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{PreTokenizedString, Token as TToken};
use tantivy::{DocAddress, IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::knowledge::{Entry, Knowledge, Lexicon};
use crate::markup;
use crate::text::{self, Analyzer, Query};

/// Bumped whenever the layout or tokenisation changes; an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 4;

const CURRENT: &str = "CURRENT";
/// Held (an advisory `flock`) by whoever builds a generation or cleans up; the OS releases it when
/// the process ends, however it ends, so a killed build never blocks the next one.
const LOCK: &str = "LOCK";
/// A generation is written under this prefix and renamed to `gen-…` only once it is complete, so a
/// folder named `gen-…` is never half-written; a folder being deleted is renamed to `trash-…` first.
const BUILDING: &str = "building-";
const TRASH: &str = "trash-";
const META: &str = "meta.json";
const ENTRIES: &str = "entries.json";
const LEXICON: &str = "lexicon.json";
const TANTIVY: &str = "tantivy";
const SOUNDS: &str = "sounds.json";

/// Field weights, chosen on tests/data/dev.tsv (top-1 accuracy). Every document of an entry carries
/// its keywords and body, so they add to the best-matching way of asking.
const BOOST_Q: f32 = 3.0;
const BOOST_KW: f32 = 1.5;
const BOOST_BODY: f32 = 1.0;
const BOOST_BIGRAM: f32 = 1.0;
/// Weights of a word's synonyms and of its sub-words, relative to the word itself.
const SYNONYM_WEIGHT: f32 = 0.9;
const PART_WEIGHT: f32 = 0.3;
/// Extra factor on the coverage weight of unknown words that are not nouns.
const UNKNOWN_FILLER: f32 = 0.5;
/// How many documents to collect before collapsing to entries.
const DOC_LIMIT: usize = 60;

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

fn pre_tokenized(text: &str, tokens: Vec<text::Token>) -> PreTokenizedString {
    PreTokenizedString {
        text: text.to_string(),
        tokens: tokens
            .into_iter()
            .map(|t| TToken {
                offset_from: t.byte_start,
                offset_to: t.byte_end,
                position: t.char_start,
                text: t.text,
                position_length: t.char_end - t.char_start,
            })
            .collect(),
    }
}

fn word_tokens(words: &[String]) -> Vec<text::Token> {
    let mut pos = 0;
    words
        .iter()
        .map(|w| {
            let t = text::Token {
                text: w.clone(),
                char_start: pos,
                char_end: pos + 1,
                byte_start: 0,
                byte_end: 0,
            };
            pos += 1;
            t
        })
        .collect()
}

/// Builds a new generation from validated knowledge and makes it current. The caller must have
/// checked the knowledge (no errors); entries that expired are still indexed but never answered.
pub fn build(knowledge: &Knowledge, root: &Path) -> anyhow::Result<BuildReport> {
    build_with(knowledge, root, &analyzer_for(&knowledge.lexicon)?)
}

/// Builds a generation and opens it, sharing one analyzer (one jieba dictionary) between the two:
/// what a first start does, so a newcomer's first answer comes sooner.
pub fn build_and_open(knowledge: &Knowledge, root: &Path) -> anyhow::Result<(BuildReport, SearchIndex)> {
    let analyzer = Arc::new(analyzer_for(&knowledge.lexicon)?);
    let report = build_with(knowledge, root, &analyzer)?;
    let index = SearchIndex::open_at(&report.generation, Some((&knowledge.lexicon, &analyzer)))?;
    Ok((report, index))
}

fn analyzer_for(l: &Lexicon) -> anyhow::Result<Analyzer> {
    Ok(Analyzer::new(&l.user_dict, &l.synonyms, &l.stopwords, &l.redirects)?)
}

fn build_with(knowledge: &Knowledge, root: &Path, analyzer: &Analyzer) -> anyhow::Result<BuildReport> {
    let started = Instant::now();
    std::fs::create_dir_all(root).with_context(|| format!("creating the index folder {}", root.display()))?;
    // One build at a time per index folder: concurrent builds would otherwise delete each other's
    // work in progress, or the generation another one just made current.
    let _lock = BuildLock::acquire(root)?;
    let stamp = chrono::Utc::now();
    let name = format!("gen-{}-{}", stamp.format("%Y%m%dT%H%M%S%3f"), std::process::id());
    let building = root.join(format!("{BUILDING}{name}"));
    let generation = root.join(&name);
    let written = write_generation(knowledge, &building, analyzer).and_then(|documents| {
        let meta = Meta {
            schema_version: SCHEMA_VERSION,
            fingerprint: knowledge.fingerprint.clone(),
            entries: knowledge.entries.len(),
            documents,
            built_at: stamp.to_rfc3339(),
        };
        write_atomically(&building.join(META), serde_json::to_vec_pretty(&meta)?.as_slice())?;
        std::fs::rename(&building, &generation)
            .with_context(|| format!("renaming {} to {}", building.display(), generation.display()))?;
        sync_dir(root)?;
        Ok(documents)
    });
    let documents = match written {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&building);
            let _ = std::fs::remove_dir_all(&generation);
            return Err(e);
        }
    };
    // The switch: only now does anyone see the new generation. The one it replaces is kept (a running
    // process may still be reading it).
    let previous = current_name(root);
    write_atomically(&root.join(CURRENT), name.as_bytes())?;
    sync_dir(root)?;
    remove_old_generations(root, &name, previous.as_deref());
    Ok(BuildReport {
        generation,
        entries: knowledge.entries.len(),
        documents,
        elapsed: started.elapsed(),
    })
}

/// The exclusive build lock of an index folder (`index/LOCK`), released on drop or when the process
/// ends.
struct BuildLock {
    _file: std::fs::File,
}

impl BuildLock {
    fn acquire(root: &Path) -> anyhow::Result<Self> {
        let path = root.join(LOCK);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the build lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::info!(lock = %path.display(), "another index build is running; waiting for it to finish");
                file.lock()
                    .with_context(|| format!("waiting for the build lock {}", path.display()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("taking the build lock {}", path.display()));
            }
        }
        Ok(Self { _file: file })
    }
}

/// Makes renames inside a folder durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing the folder {}", dir.display()))
}

/// The generation `CURRENT` names, if any.
fn current_name(root: &Path) -> Option<String> {
    let name = std::fs::read_to_string(root.join(CURRENT)).ok()?;
    let name = name.trim();
    (name.starts_with("gen-") && !name.contains(['/', '\\'])).then(|| name.to_string())
}

fn write_generation(knowledge: &Knowledge, generation: &Path, analyzer: &Analyzer) -> anyhow::Result<usize> {
    let tantivy_dir = generation.join(TANTIVY);
    std::fs::create_dir_all(&tantivy_dir).with_context(|| format!("creating {}", tantivy_dir.display()))?;
    let (schema, f) = schema();
    let index = tantivy::Index::create_in_dir(&tantivy_dir, schema)?;
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 100_000_000)?;
    let mut documents = 0;
    // Every word of the knowledge base with the number of entries that use it, for `sounds`.
    let mut vocabulary: HashMap<String, u32> = HashMap::new();
    for (ord, entry) in knowledge.entries.iter().enumerate() {
        let body = text::normalize(&markup::strip_placeholders(&entry.body));
        let keywords = text::normalize(&entry.keywords.join(" "));
        let body_tokens = analyzer.index_tokens(&body);
        let kw_tokens = analyzer.index_tokens(&keywords);
        let mut term_set: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        let mut remember = |tokens: &[text::Token]| {
            for t in tokens {
                if seen.insert(t.text.clone()) {
                    term_set.push(t.text.clone());
                }
            }
        };
        remember(&body_tokens);
        remember(&kw_tokens);
        let mut variants: Vec<String> = Vec::with_capacity(entry.questions.len() + 1);
        for q in std::iter::once(&entry.title).chain(entry.questions.iter()) {
            let v = text::normalize(q);
            if !variants.contains(&v) {
                variants.push(v);
            }
        }
        let variant_tokens: Vec<Vec<text::Token>> = variants.iter().map(|v| analyzer.index_tokens(v)).collect();
        for t in &variant_tokens {
            remember(t);
        }
        for t in &term_set {
            *vocabulary.entry(t.clone()).or_default() += 1;
        }
        let terms_joined = term_set.join(" ");
        for (i, (variant, tokens)) in variants.iter().zip(variant_tokens).enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_u64(f.entry, ord as u64);
            doc.add_pre_tokenized_text(f.q, pre_tokenized(variant, tokens));
            let bi = text::bigrams(variant);
            doc.add_pre_tokenized_text(f.q_bi, pre_tokenized(variant, word_tokens(&bi)));
            doc.add_pre_tokenized_text(f.kw, pre_tokenized(&keywords, kw_tokens.clone()));
            doc.add_pre_tokenized_text(f.body, pre_tokenized(&body, body_tokens.clone()));
            if i == 0 {
                // Entry-level data lives once per entry, on its first document (the head): the
                // statistics of how many entries contain a word, and the entry's terms for coverage.
                // Stored on every document, the terms made the index grow with the square of an
                // entry's questions.
                doc.add_pre_tokenized_text(f.all, pre_tokenized(&terms_joined, word_tokens(&term_set)));
                doc.add_text(f.terms, &terms_joined);
                doc.add_u64(f.head, 1);
            }
            writer.add_document(doc)?;
            documents += 1;
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    write_atomically(&generation.join(ENTRIES), &serde_json::to_vec(&knowledge.entries)?)?;
    write_atomically(&generation.join(LEXICON), &serde_json::to_vec(&knowledge.lexicon)?)?;
    write_atomically(&generation.join(SOUNDS), &serde_json::to_vec(&sounds(&vocabulary))?)?;
    Ok(documents)
}

/// Maps how each knowledge-base word sounds to the word (the most used one when several words sound
/// alike), so a homophone typed by mistake can be recognised.
fn sounds(vocabulary: &HashMap<String, u32>) -> HashMap<String, String> {
    let mut best: HashMap<String, (u32, String)> = HashMap::new();
    for (word, &n) in vocabulary {
        if !word.chars().all(text::is_cjk) {
            continue;
        }
        if let Some(key) = text::sound(word) {
            let slot = best.entry(key).or_insert((0, String::new()));
            if n > slot.0 || (n == slot.0 && *word < slot.1) {
                *slot = (n, word.clone());
            }
        }
    }
    best.into_iter().map(|(k, (_, w))| (k, w)).collect()
}

/// Writes a file so that readers see either nothing or all of it: temp file, fsync, rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// Keeps the new generation and the one it replaced (a running process may still be reading it);
/// removes older ones and leftovers of interrupted builds (`building-…`, `trash-…`, temporary
/// files). Runs under the build lock, so no build is in progress: everything else is garbage.
fn remove_old_generations(root: &Path, keep: &str, previous: Option<&str>) {
    let Ok(items) = std::fs::read_dir(root) else { return };
    for item in items.filter_map(|i| i.ok()) {
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        if name == keep || Some(name.as_str()) == previous || name == CURRENT || name == LOCK {
            continue;
        }
        let path = item.path();
        if name.starts_with("gen-") {
            // Renamed first, so a deletion cut short never leaves a half-deleted `gen-…` behind.
            let trash = root.join(format!("{TRASH}{name}"));
            if std::fs::rename(&path, &trash).is_ok() {
                let _ = std::fs::remove_dir_all(&trash);
            }
        } else if name.starts_with(BUILDING) || name.starts_with(TRASH) {
            let _ = std::fs::remove_dir_all(&path);
        } else if name.starts_with(&format!("{CURRENT}.tmp")) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The meta of the current generation, if there is a readable one.
pub fn current_meta(root: &Path) -> Option<Meta> {
    let bytes = std::fs::read(root.join(current_name(root)?).join(META)).ok()?;
    serde_json::from_slice(&bytes).ok()
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
    /// Nouns of the question the whole knowledge base has never seen (护照, 铜精矿, 加拿大): a sign
    /// the question is about something else, however well the rest matches.
    pub unknown_nouns: usize,
}

/// An open index generation, ready to search. Cheap to share behind an `Arc`.
pub struct SearchIndex {
    meta: Meta,
    entries: Vec<Entry>,
    by_id: HashMap<String, usize>,
    /// The lexicon the generation was built from (to share the analyzer with the next generation).
    lexicon: Lexicon,
    /// Shared with the next generation when its lexicon is the same, so a reindex does not load
    /// another jieba dictionary.
    analyzer: Arc<Analyzer>,
    /// Where each entry's head document (its stored terms) is, by entry position.
    heads: Vec<DocAddress>,
    /// How knowledge-base words sound (see `text::sound`) → the word.
    sounds: HashMap<String, String>,
    reader: IndexReader,
    fields: Fields,
    /// Largest IDF possible in the `all` field: what an unknown word weighs.
    max_idf: f32,
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

fn idf(df: u64, n: u64) -> f32 {
    let df = df as f32;
    let n = n as f32;
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// Weight of a word in the coverage feature relative to its IDF, from how common it is in general
/// Chinese (jieba's dictionary frequency): 1 for specific words, falling to 0.2 for words as common
/// as 多少 or 时间, which a knowledge base of a hundred entries would otherwise think rare.
fn generality_discount(freq: usize) -> f32 {
    let (specific, common) = (1_000f32.ln(), 1_000_000f32.ln());
    ((common - (freq as f32 + 1.0).ln()) / (common - specific)).clamp(0.2, 1.0)
}

/// The folder of the current generation under `root`.
fn current_generation(root: &Path) -> anyhow::Result<PathBuf> {
    let path = root.join(CURRENT);
    match std::fs::read_to_string(&path) {
        Ok(_) => match current_name(root) {
            Some(name) => Ok(root.join(name)),
            None => bail!(
                "{} is damaged: it does not name a generation (run `customs-bot reindex`)",
                path.display()
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("no index in {} (run `customs-bot reindex`)", root.display())
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Finds every entry's head document; an entry without one means the index files are damaged.
fn heads(reader: &IndexReader, entries: usize) -> anyhow::Result<Vec<DocAddress>> {
    let searcher = reader.searcher();
    let mut heads = vec![None; entries];
    for (segment, r) in searcher.segment_readers().iter().enumerate() {
        let entry = r.fast_fields().u64("entry")?;
        let head = r.fast_fields().u64("head")?;
        for doc in r.doc_ids_alive() {
            if head.first(doc) == Some(1)
                && let Some(slot) = entry.first(doc).and_then(|o| heads.get_mut(o as usize))
            {
                *slot = Some(DocAddress::new(segment as u32, doc));
            }
        }
    }
    match heads.iter().position(Option::is_none) {
        Some(ord) => bail!("entry number {ord} has no document (the index is damaged)"),
        None => Ok(heads.into_iter().flatten().collect()),
    }
}

/// Reads one JSON part of a generation, naming the file when it is missing or damaged.
fn read_part<T: serde::de::DeserializeOwned>(generation: &Path, name: &str) -> anyhow::Result<T> {
    let path = generation.join(name);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))
}

impl SearchIndex {
    /// Opens the current generation under `root`.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        Self::open_at(&current_generation(root)?, None)
    }

    /// Opens the current generation under `root`, reusing `previous`'s analyzer (its jieba
    /// dictionary: tens of MB and ~100 ms) when both were built from the same lexicon.
    pub fn open_after(root: &Path, previous: &SearchIndex) -> anyhow::Result<Self> {
        Self::open_at(
            &current_generation(root)?,
            Some((&previous.lexicon, &previous.analyzer)),
        )
    }

    /// Opens one generation folder; `reuse` is an analyzer and the lexicon it was built from, used
    /// when the generation's lexicon is the same.
    fn open_at(generation: &Path, reuse: Option<(&Lexicon, &Arc<Analyzer>)>) -> anyhow::Result<Self> {
        let generation = generation.to_path_buf();
        let meta: Meta = read_part(&generation, META)?;
        if meta.schema_version != SCHEMA_VERSION {
            bail!(
                "the index in {} has schema version {}, this program needs {}",
                generation.display(),
                meta.schema_version,
                SCHEMA_VERSION
            );
        }
        let entries: Vec<Entry> = read_part(&generation, ENTRIES)?;
        if entries.len() != meta.entries {
            bail!(
                "{} is damaged: it holds {} entries, {} says {}",
                generation.join(ENTRIES).display(),
                entries.len(),
                generation.join(META).display(),
                meta.entries
            );
        }
        let lexicon: Lexicon = read_part(&generation, LEXICON)?;
        let analyzer = match reuse {
            Some((l, a)) if *l == lexicon => a.clone(),
            _ => Arc::new(analyzer_for(&lexicon)?),
        };
        let sounds: HashMap<String, String> = read_part(&generation, SOUNDS)?;
        let tantivy_dir = generation.join(TANTIVY);
        let index = tantivy::Index::open_in_dir(&tantivy_dir)
            .with_context(|| format!("opening the index files in {}", tantivy_dir.display()))?;
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .with_context(|| format!("opening the index files in {}", tantivy_dir.display()))?;
        let heads = heads(&reader, entries.len())
            .with_context(|| format!("reading the index files in {}", tantivy_dir.display()))?;
        let (_, fields) = schema();
        let by_id = entries.iter().enumerate().map(|(i, e)| (e.id.clone(), i)).collect();
        let max_idf = idf(0, entries.len() as u64);
        Ok(Self {
            meta,
            entries,
            by_id,
            lexicon,
            analyzer,
            heads,
            sounds,
            reader,
            fields,
            max_idf,
            generation,
        })
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

    pub fn find(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Searches for a question: up to `limit` distinct current entries, best first, with features.
    pub fn search(&self, question: &str, limit: usize, today: NaiveDate) -> anyhow::Result<(Query, Vec<Hit>)> {
        let mut query = self.analyzer.query(question);
        if query.groups.is_empty() {
            return Ok((query, Vec::new()));
        }
        let searcher = self.reader.searcher();
        // A word the knowledge base has never seen may be a homophone typed by mistake (保关 → 报关):
        // search for the knowledge-base word that sounds the same as well.
        for g in &mut query.groups {
            let known = |w: &str| {
                searcher
                    .doc_freq(&Term::from_field_text(self.fields.all, w))
                    .map(|n| n > 0)
            };
            if known(&g.word)?
                || g.synonyms
                    .iter()
                    .map(|s| known(s))
                    .collect::<Result<Vec<_>, _>>()?
                    .contains(&true)
            {
                continue;
            }
            if let Some(alike) = text::sound(&g.word).and_then(|k| self.sounds.get(&k)) {
                g.synonyms.push(alike.clone());
            }
        }
        let f = self.fields;
        let n_docs = searcher.num_docs().max(1);
        let n_entries = self.entries.len().max(1) as u64;

        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        let mut add = |field: Field, word: &str, boost: f32| {
            let tq = TermQuery::new(Term::from_field_text(field, word), IndexRecordOption::WithFreqs);
            clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), boost))));
        };
        // Per group: its weight for coverage (entry-level IDF) and its ideal score (question field).
        let mut group_idf = Vec::with_capacity(query.groups.len());
        let mut ideal = 0.0f32;
        let mut unknown_nouns = 0;
        for g in &query.groups {
            let mut df_all = 0;
            let mut df_q = 0;
            for w in std::iter::once(&g.word).chain(g.synonyms.iter()) {
                df_all = df_all.max(searcher.doc_freq(&Term::from_field_text(f.all, w))?);
                df_q = df_q.max(searcher.doc_freq(&Term::from_field_text(f.q, w))?);
            }
            if df_all == 0 && g.weight >= 1.0 && g.parts.is_empty() {
                unknown_nouns += 1;
            }
            let rarity = if df_all == 0 {
                self.max_idf
            } else {
                idf(df_all, n_entries)
            };
            // A word the knowledge base has never seen weighs fully when it is a noun (护照, 塔尔寺: likely
            // another topic) but half as much as usual when it is a verb or filler (卡着, 投了).
            let weight = if df_all == 0 && g.weight < 1.0 {
                g.weight * UNKNOWN_FILLER
            } else {
                g.weight
            };
            group_idf.push(rarity * generality_discount(self.analyzer.word_freq(&g.word)) * weight);
            ideal += BOOST_Q * if df_q == 0 { idf(0, n_docs) } else { idf(df_q, n_docs) };
            let forms = std::iter::once((g.word.as_str(), 1.0))
                .chain(g.synonyms.iter().map(|s| (s.as_str(), SYNONYM_WEIGHT)))
                .chain(g.parts.iter().map(|s| (s.as_str(), PART_WEIGHT)));
            for (w, weight) in forms {
                add(f.q, w, BOOST_Q * weight);
                add(f.kw, w, BOOST_KW * weight);
                add(f.body, w, BOOST_BODY * weight);
            }
        }
        for b in &query.bigrams {
            add(f.q_bi, b, BOOST_BIGRAM);
        }
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(DOC_LIMIT).order_by_score(),
        )?;

        // Collapse to distinct entries (max score), skipping entries not in force today.
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
            if ord >= self.entries.len() || !self.entries[ord].is_current(today) {
                continue;
            }
            if !best.iter().any(|(e, _)| *e == ord) {
                best.push((ord, score));
            }
            if best.len() >= limit {
                break;
            }
        }

        let total_weight: f32 = group_idf.iter().sum();
        let mut hits = Vec::with_capacity(best.len());
        for (ord, score) in best {
            let doc: TantivyDocument = searcher.doc(self.heads[ord])?;
            let terms: HashSet<&str> = doc
                .get_first(f.terms)
                .and_then(|v| v.as_str())
                .map(|s| s.split(' ').collect())
                .unwrap_or_default();
            let mut matched = 0.0;
            for (g, w) in query.groups.iter().zip(&group_idf) {
                let full = std::iter::once(&g.word)
                    .chain(g.synonyms.iter())
                    .any(|t| terms.contains(t.as_str()));
                // A compound the entry does not contain verbatim counts by how many of its parts it has.
                let share = if full {
                    1.0
                } else if g.parts.is_empty() {
                    0.0
                } else {
                    // Squared: half the parts of 结婚登记 (登记) is much less than half its meaning.
                    let have = g.parts.iter().filter(|t| terms.contains(String::as_str(t))).count();
                    (have as f32 / g.parts.len() as f32).powi(2)
                };
                matched += w * share;
            }
            let coverage = if total_weight > 0.0 {
                matched / total_weight
            } else {
                0.0
            };
            let norm = if ideal > 0.0 { score / ideal } else { 0.0 };
            hits.push(Hit {
                entry: ord,
                score,
                rank: score * coverage.sqrt(),
                coverage,
                norm,
                matched,
                unknown_nouns,
            });
        }
        hits.sort_by(|a, b| b.rank.total_cmp(&a.rank));
        Ok((query, hits))
    }
}
