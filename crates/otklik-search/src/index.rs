//! The index: opening, creating, rebuilding, the reader, the watermark, and the [`Indexer`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument};

use crate::doc::{DocKey, SearchDoc};
use crate::schema::{Fields, SCHEMA_VERSION};
use crate::{Result, SearchError};

/// A position in one store feed: every row changed at or before `(changed_at, id)` is in the
/// index.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct FeedMark {
    /// Change time, epoch ms.
    pub changed_at: i64,
    /// Id of the last row at that change time.
    pub id: i64,
}

/// How far the index has followed the store: the last indexed change of each feed. Persisted
/// in the commit payload, so it is exactly as durable as the documents it describes.
/// `None` means nothing of that feed is indexed yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Watermark {
    /// Collected posts.
    pub posts: Option<FeedMark>,
    /// Messages.
    pub messages: Option<FeedMark>,
}

/// The commit payload.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    schema: u32,
    #[serde(default)]
    watermark: Watermark,
}

/// Settings of an [`Indexer`].
#[derive(Debug, Clone, Copy)]
pub struct IndexerOptions {
    /// Indexing threads (default: available cores, at most 4).
    pub threads: usize,
    /// Memory budget of all threads together, bytes (default 256 MiB; at least 15 MB per
    /// thread).
    pub heap_bytes: usize,
}

impl Default for IndexerOptions {
    fn default() -> Self {
        let threads = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
            .clamp(1, 4);
        Self {
            threads,
            heap_bytes: 256 << 20,
        }
    }
}

/// The archive search index: a directory on disk (or RAM, for tests), the Russian analyzers
/// registered on it, and a reader that follows commits.
///
/// Cheap to clone; clones share the reader. Searching takes `&self` and runs concurrently.
#[derive(Clone)]
pub struct SearchIndex {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    pub(crate) analyzers: otklik_text::Analyzers,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating the directory and an empty index when missing.
    /// Fails with [`SearchError::SchemaVersion`] when the index was written by another schema
    /// version (then [`SearchIndex::rebuild_in`] it).
    #[tracing::instrument(skip_all, fields(dir = %dir.as_ref().display()))]
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| SearchError::Directory {
            path: dir.to_path_buf(),
            source,
        })?;
        let directory = MmapDirectory::open(dir).map_err(|e| SearchError::Directory {
            path: dir.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let fields = Fields::new();
        let index = Index::open_or_create(directory, fields.schema.clone())?;
        let this = Self::wrap(index, Some(dir.to_path_buf()))?;
        let payload = this.payload()?;
        if let Some(p) = payload
            && p.schema != SCHEMA_VERSION
        {
            return Err(SearchError::SchemaVersion {
                path: dir.to_path_buf(),
                found: p.schema,
                expected: SCHEMA_VERSION,
            });
        }
        tracing::debug!(docs = this.num_docs(), "search index opened");
        Ok(this)
    }

    /// Deletes the index in `dir` (if any) and creates an empty one: the index is a cache of
    /// the store, so a rebuild is always safe. Refuses to empty a non-empty directory that
    /// holds no index (`meta.json`), so a wrong path cannot wipe unrelated files.
    #[tracing::instrument(skip_all, fields(dir = %dir.as_ref().display()))]
    pub fn rebuild_in(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let io = |source| SearchError::Directory {
            path: dir.to_path_buf(),
            source,
        };
        if dir.exists() {
            let non_empty = std::fs::read_dir(dir).map_err(io)?.next().is_some();
            if non_empty && !dir.join("meta.json").exists() {
                return Err(SearchError::Invalid(format!(
                    "{} is not empty and holds no search index; not deleting it",
                    dir.display()
                )));
            }
            std::fs::remove_dir_all(dir).map_err(io)?;
        }
        tracing::info!("search index recreated");
        Self::open(dir)
    }

    /// An empty index in memory (tests, benchmarks).
    pub fn in_ram() -> Result<Self> {
        let fields = Fields::new();
        let index = Index::create_in_ram(fields.schema.clone());
        Self::wrap(index, None)
    }

    fn wrap(index: Index, path: Option<PathBuf>) -> Result<Self> {
        let analyzers = otklik_text::Analyzers::embedded().clone();
        // Tokenizers are not persisted: register them every time an index is opened.
        analyzers.register(&index);
        let fields = Fields::from_schema(&index.schema())?;
        // Near real time: a background watcher reloads after every commit (this process's
        // or another's); our own commits also reload explicitly (see `Indexer::commit`).
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            analyzers,
            path,
        })
    }

    /// The directory, `None` in RAM.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Documents visible to searches now.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Makes the last commit visible now (the reader also reloads by itself shortly after
    /// every commit).
    pub fn reload(&self) -> Result<()> {
        self.reader.reload()?;
        Ok(())
    }

    fn payload(&self) -> Result<Option<Payload>> {
        let metas = self.index.load_metas()?;
        match metas.payload {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| SearchError::Watermark(e.to_string())),
        }
    }

    /// The watermark of the last commit (default when nothing was committed).
    pub fn watermark(&self) -> Result<Watermark> {
        Ok(self.payload()?.map(|p| p.watermark).unwrap_or_default())
    }

    /// A writer. Only one may exist per index at a time (tantivy locks the directory):
    /// a second one fails with [`SearchError::Index`] (`LockFailure`).
    pub fn indexer(&self, options: IndexerOptions) -> Result<Indexer> {
        let threads = options.threads.max(1);
        let heap = options.heap_bytes.max(threads * 16_000_000);
        let writer: IndexWriter<TantivyDocument> =
            self.index.writer_with_num_threads(threads, heap)?;
        let watermark = self.watermark()?;
        Ok(Indexer {
            writer,
            index: self.clone(),
            watermark,
            pending: 0,
        })
    }
}

/// One change to apply to the index.
// Changes live only for one batch; boxing the document would cost an allocation per change.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add the document, replacing any with the same key.
    Upsert(SearchDoc),
    /// Remove the document with this key (no-op when absent).
    Delete(DocKey),
}

/// Applies batches of changes and commits them with a watermark.
///
/// Nothing is visible (or durable) before [`Indexer::commit`]; a crash loses the uncommitted
/// changes and the watermark with them, so a restart resumes from the last commit.
pub struct Indexer {
    writer: IndexWriter<TantivyDocument>,
    index: SearchIndex,
    watermark: Watermark,
    pending: u64,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer")
            .field("watermark", &self.watermark)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl Indexer {
    /// Adds `doc`, replacing a document with the same key.
    pub fn upsert(&mut self, doc: &SearchDoc) -> Result<()> {
        let fields = &self.index.fields;
        self.writer.delete_term(fields.key_term(&doc.key()));
        self.writer.add_document(fields.to_tantivy(doc))?;
        self.pending += 1;
        Ok(())
    }

    /// Adds `doc` without looking for an older version: only for documents known to be new
    /// (a bulk load into an empty index). Faster than [`Indexer::upsert`].
    pub fn add_new(&mut self, doc: &SearchDoc) -> Result<()> {
        self.writer
            .add_document(self.index.fields.to_tantivy(doc))?;
        self.pending += 1;
        Ok(())
    }

    /// Removes the document with `key`.
    pub fn delete(&mut self, key: DocKey) {
        self.writer.delete_term(self.index.fields.key_term(&key));
        self.pending += 1;
    }

    /// Applies a batch of changes in order.
    pub fn apply<I>(&mut self, changes: I) -> Result<()>
    where
        I: IntoIterator<Item = Change>,
    {
        for change in changes {
            match change {
                Change::Upsert(doc) => self.upsert(&doc)?,
                Change::Delete(key) => self.delete(key),
            }
        }
        Ok(())
    }

    /// Changes applied since the last commit.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// The watermark the next commit will write.
    pub fn watermark(&self) -> Watermark {
        self.watermark
    }

    /// Sets the watermark the next commit will write.
    pub fn set_watermark(&mut self, watermark: Watermark) {
        self.watermark = watermark;
    }

    /// Commits everything applied so far with the current watermark, then reloads the
    /// reader so the changes are searchable at once.
    #[tracing::instrument(skip(self), fields(pending = self.pending))]
    pub fn commit(&mut self) -> Result<()> {
        let started = Instant::now();
        let payload = serde_json::to_string(&Payload {
            schema: SCHEMA_VERSION,
            watermark: self.watermark,
        })
        .map_err(|e| SearchError::Watermark(e.to_string()))?;
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.index.reader.reload()?;
        tracing::debug!(
            changes = self.pending,
            took_ms = started.elapsed().as_millis() as u64,
            "search index committed"
        );
        self.pending = 0;
        Ok(())
    }

    /// Drops everything (committed with the next [`Indexer::commit`]).
    pub fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        self.watermark = Watermark::default();
        Ok(())
    }

    /// Waits for background merges to finish and releases the writer.
    pub fn finish(self) -> Result<()> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}
