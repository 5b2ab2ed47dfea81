//! Generations on disk: building one (into `building-gen-…`, fsynced, renamed to `gen-…`), switching
//! `CURRENT` to it, the build lock (`LOCK`), removing old generations and leftovers (through
//! `trash-…`), `meta.json`, and opening a generation with every part checked (a missing or damaged
//! file is named). Called by `app`, `cli reindex` and `web::ops` through `index::build*` and
//! `SearchIndex::open*`; searches nothing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use tantivy::tokenizer::{PreTokenizedString, Token as TToken};
use tantivy::{DocAddress, DocId, IndexReader, ReloadPolicy, TantivyDocument};

use super::{
    BuildReport, Fields, Meta, NO_ENTRY, SCHEMA_VERSION, SearchIndex, Searched, Vocabulary, for_each_posting, schema,
};
use crate::knowledge::{Entry, Knowledge, Lexicon};
use crate::markup;
use crate::text::{self, Analyzer};

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
    stage_with(knowledge, root, analyzer)?.publish()
}

/// A complete generation written but not yet in service: what a gated reindex compares with the
/// one in service before it switches. The build lock is held until it is published or dropped;
/// dropped unpublished, its folder is removed and the generation in service stays.
pub struct Staged {
    _lock: BuildLock,
    root: PathBuf,
    name: String,
    report: BuildReport,
    published: bool,
}

/// Builds a new generation from validated knowledge without switching to it (see [`Staged`]).
pub fn stage(knowledge: &Knowledge, root: &Path) -> anyhow::Result<Staged> {
    stage_with(knowledge, root, &analyzer_for(&knowledge.lexicon)?)
}

fn stage_with(knowledge: &Knowledge, root: &Path, analyzer: &Analyzer) -> anyhow::Result<Staged> {
    let started = Instant::now();
    std::fs::create_dir_all(root).with_context(|| format!("creating the index folder {}", root.display()))?;
    // One build at a time per index folder: concurrent builds would otherwise delete each other's
    // work in progress, or the generation another one just made current.
    let lock = BuildLock::acquire(root)?;
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
    Ok(Staged {
        _lock: lock,
        root: root.to_path_buf(),
        name,
        report: BuildReport {
            generation,
            entries: knowledge.entries.len(),
            documents,
            elapsed: started.elapsed(),
        },
        published: false,
    })
}

impl Staged {
    /// What the build did (the generation is not in service yet).
    pub fn report(&self) -> &BuildReport {
        &self.report
    }

    /// Opens the staged generation, sharing `previous`'s analyzer when the lexicon is the same.
    pub fn open(&self, previous: Option<&SearchIndex>) -> anyhow::Result<SearchIndex> {
        SearchIndex::open_at(&self.report.generation, previous.map(|p| (&p.lexicon, &p.analyzer)))
    }

    /// The switch: only now does anyone see the new generation. The one it replaces is kept (a
    /// running process may still be reading it); older ones are removed.
    pub fn publish(mut self) -> anyhow::Result<BuildReport> {
        let previous = current_name(&self.root);
        write_atomically(&self.root.join(CURRENT), self.name.as_bytes())?;
        sync_dir(&self.root)?;
        self.published = true;
        remove_old_generations(&self.root, &self.name, previous.as_deref());
        Ok(self.report.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.published {
            // Renamed first, like any generation removed, so no half-deleted `gen-…` is left.
            let trash = self.root.join(format!("{TRASH}{}", self.name));
            if std::fs::rename(&self.report.generation, &trash).is_ok() {
                let _ = std::fs::remove_dir_all(&trash);
            }
        }
    }
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
        let (docs, terms) = entry_documents(ord, entry, analyzer, f);
        for t in terms {
            *vocabulary.entry(t).or_default() += 1;
        }
        for doc in docs {
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

/// The documents of entry number `ord` (one per distinct way of asking, the head first) and its
/// distinct terms.
pub(super) fn entry_documents(
    ord: usize,
    entry: &Entry,
    analyzer: &Analyzer,
    f: Fields,
) -> (Vec<TantivyDocument>, Vec<String>) {
    let (keywords, body) = shared_fields(entry, analyzer);
    let mut variants: Vec<String> = Vec::with_capacity(entry.questions.len() + 1);
    for q in std::iter::once(&entry.title).chain(entry.questions.iter()) {
        let v = text::normalize(q);
        if !variants.contains(&v) {
            variants.push(v);
        }
    }
    let variant_tokens: Vec<Vec<text::Token>> = variants.iter().map(|v| analyzer.index_tokens(v)).collect();
    let mut term_set: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let shared_tokens = body.tokens.iter().chain(&keywords.tokens).map(|t| &t.text);
    for t in shared_tokens.chain(variant_tokens.iter().flatten().map(|t| &t.text)) {
        if seen.insert(t.clone()) {
            term_set.push(t.clone());
        }
    }
    let terms_joined = term_set.join(" ");
    let mut docs = Vec::with_capacity(variants.len());
    let mut shared = Some((keywords, body));
    for (variant, tokens) in variants.iter().zip(variant_tokens) {
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.entry, ord as u64);
        doc.add_pre_tokenized_text(f.q, pre_tokenized(variant, tokens));
        let bi = text::bigrams(variant);
        doc.add_pre_tokenized_text(f.q_bi, pre_tokenized(variant, word_tokens(&bi)));
        if let Some((keywords, body)) = shared.take() {
            // Entry-level data lives once per entry, on its first document (the head): the
            // keywords and body, which score every document of the entry alike (the search adds
            // the head's score to each, and the vocabulary counts them once per document); the
            // statistics of how many entries contain a word; and the entry's terms for coverage.
            // Stored on every document, they made the index grow with the square of an entry's
            // questions.
            doc.add_pre_tokenized_text(f.kw, keywords);
            doc.add_pre_tokenized_text(f.body, body);
            doc.add_pre_tokenized_text(f.all, pre_tokenized(&terms_joined, word_tokens(&term_set)));
            doc.add_text(f.terms, &terms_joined);
            doc.add_u64(f.head, 1);
        }
        docs.push(doc);
    }
    (docs, term_set)
}

/// An entry's keywords and body, normalised and segmented: the fields its head document holds for
/// all its documents.
pub(super) fn shared_fields(entry: &Entry, analyzer: &Analyzer) -> (PreTokenizedString, PreTokenizedString) {
    let body = text::normalize(&markup::strip_placeholders(&entry.body));
    // A section is asked about in words its heading does not say (a time limit as 多久): the entry
    // is found by them as by a keyword.
    let mut keywords = entry.keywords.clone();
    keywords.extend(entry.asked_words().iter().map(|w| w.to_string()));
    let keywords = text::normalize(&keywords.join(" "));
    let body_tokens = analyzer.index_tokens(&body);
    let kw_tokens = analyzer.index_tokens(&keywords);
    (pre_tokenized(&keywords, kw_tokens), pre_tokenized(&body, body_tokens))
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

/// Finds every entry's head document, and which entry each document of each segment belongs to
/// ([`NO_ENTRY`] for a deleted one); an entry without a head means the index files are damaged.
fn heads(reader: &IndexReader, entries: usize) -> anyhow::Result<(Vec<DocAddress>, Vec<Vec<u32>>)> {
    let searcher = reader.searcher();
    let mut heads = vec![None; entries];
    let mut owners = Vec::new();
    for (segment, r) in searcher.segment_readers().iter().enumerate() {
        let entry = r.fast_fields().u64("entry")?;
        let head = r.fast_fields().u64("head")?;
        let mut owner = vec![NO_ENTRY; r.max_doc() as usize];
        for doc in r.doc_ids_alive() {
            let Some(ord) = entry.first(doc).filter(|&o| (o as usize) < entries) else {
                continue;
            };
            owner[doc as usize] = ord as u32;
            if head.first(doc) == Some(1) {
                heads[ord as usize] = Some(DocAddress::new(segment as u32, doc));
            }
        }
        owners.push(owner);
    }
    match heads.iter().position(Option::is_none) {
        Some(ord) => bail!("entry number {ord} has no document (the index is damaged)"),
        None => Ok((heads.into_iter().flatten().collect(), owners)),
    }
}

/// The terms of the searched fields and how many documents hold each, summed over the segments
/// (as tantivy's own document frequency is). The keywords and body are on an entry's head document
/// only but stand for every document of the entry: a head there counts as many documents, and
/// its words as many tokens, as the entry has documents — the numbers the index would hold if each
/// document carried them, so BM25 scores as if it did. `owners` are each segment's documents'
/// entries (see `heads`).
fn vocabulary(reader: &IndexReader, fields: Fields, owners: &[Vec<u32>]) -> anyhow::Result<Vocabulary> {
    let searcher = reader.searcher();
    let mut vocabulary = Vocabulary::default();
    // How many documents each entry has.
    let mut per_entry: Vec<u32> = Vec::new();
    for &owner in owners.iter().flatten().filter(|&&o| o != NO_ENTRY) {
        if per_entry.len() <= owner as usize {
            per_entry.resize(owner as usize + 1, 0);
        }
        per_entry[owner as usize] += 1;
    }
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        vocabulary.documents += u64::from(segment.max_doc());
        let documents_of = |doc: DocId| {
            let owner = owners[ord][doc as usize];
            per_entry.get(owner as usize).copied().unwrap_or(1)
        };
        for slot in Searched::ALL {
            let inverted = segment.inverted_index(slot.field(fields))?;
            let shared = matches!(slot, Searched::Kw | Searched::Body);
            if !shared {
                vocabulary.tokens[slot as usize] += inverted.total_num_tokens();
            }
            let mut stream = inverted.terms().stream()?;
            while stream.advance() {
                let word = std::str::from_utf8(stream.key())
                    .context("a term of the index is not UTF-8 (the index is damaged)")?;
                let held = if shared {
                    let mut held = 0;
                    let tokens = &mut vocabulary.tokens[slot as usize];
                    for_each_posting(&inverted, stream.value(), |doc, freq| {
                        let n = documents_of(doc);
                        held += n;
                        *tokens += u64::from(freq) * u64::from(n);
                    })?;
                    held
                } else {
                    stream.value().doc_freq
                };
                let freq = vocabulary.freq.entry(word.to_string()).or_default();
                freq[slot as usize] += held;
            }
        }
    }
    vocabulary.weigh();
    Ok(vocabulary)
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
    pub(super) fn open_at(generation: &Path, reuse: Option<(&Lexicon, &Arc<Analyzer>)>) -> anyhow::Result<Self> {
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
        let (heads, owners) = heads(&reader, entries.len())
            .with_context(|| format!("reading the index files in {}", tantivy_dir.display()))?;
        let (_, fields) = schema();
        let vocabulary = vocabulary(&reader, fields, &owners)
            .with_context(|| format!("reading the index files in {}", tantivy_dir.display()))?;
        let by_id = entries.iter().enumerate().map(|(i, e)| (e.id.clone(), i)).collect();
        let successors = super::successors(&entries, &by_id);
        Ok(Self {
            meta,
            entries,
            by_id,
            successors,
            lexicon,
            analyzer,
            terms: (0..heads.len()).map(|_| std::sync::OnceLock::new()).collect(),
            heads,
            owners,
            sounds,
            vocabulary,
            reader,
            fields,
            generation,
        })
    }
}
