//! Attachments of messages: images and PDF files stored content-addressed on disk, with one
//! metadata row per upload.
//!
//! * **On disk** ([`AttachmentFiles`]): a file lives at `ROOT/ab/cd/abcd…` named by the hex
//!   SHA-256 of its content (two levels of fan-out), written to `ROOT/tmp/` first, flushed to
//!   disk and renamed into place, so a reader never sees half a file. Identical content is
//!   stored once.
//! * **Checks**: a size limit, and the type is decided by the content's magic bytes — JPEG, PNG,
//!   WebP, PDF — never by the declared MIME type or the file name (a renamed file keeps its real
//!   type, and its name gets the real extension). The declared file name is sanitised: path
//!   parts, control and invisible direction characters, characters Windows forbids and leading
//!   dots go; it is shortened to 100 characters.
//! * **In the database** (`attachments`): which content, its size and type, the sanitised name,
//!   and the message it belongs to — none until [`Store::attach_to_message`] (or
//!   [`attach_in`] inside the caller's transaction) links it, once and for good.
//!
//! The file is written before the row; a failed insert can leave an unreferenced file, which is
//! harmless (the next identical upload reuses it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use otklik_domain::{EntityKind, MessageId, Timestamp};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use thiserror::Error;

use crate::{Store, StoreError};

const ATTACHMENT_COLS: &str =
    "id, sha256, size_bytes, media_type, file_name, message_id, created_at, attached_at";

/// The longest sanitised file name, in characters (extension included).
pub const MAX_FILE_NAME_CHARS: usize = 100;

/// The content types accepted, recognised by their magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `FF D8 FF`.
    Jpeg,
    /// `89 50 4E 47 0D 0A 1A 0A`.
    Png,
    /// `RIFF????WEBP`.
    WebP,
    /// `%PDF-`.
    Pdf,
}

impl MediaType {
    /// Every type, in declaration order.
    pub const ALL: &'static [MediaType] = &[
        MediaType::Jpeg,
        MediaType::Png,
        MediaType::WebP,
        MediaType::Pdf,
    ];

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::WebP => "image/webp",
            MediaType::Pdf => "application/pdf",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Jpeg => "jpg",
            MediaType::Png => "png",
            MediaType::WebP => "webp",
            MediaType::Pdf => "pdf",
        }
    }

    /// The type of `content` by its first bytes, if it is one of the accepted ones.
    pub fn detect(content: &[u8]) -> Option<MediaType> {
        if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaType::Jpeg)
        } else if content.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(MediaType::Png)
        } else if content.len() >= 12 && content.starts_with(b"RIFF") && &content[8..12] == b"WEBP"
        {
            Some(MediaType::WebP)
        } else if content.starts_with(b"%PDF-") {
            Some(MediaType::Pdf)
        } else {
            None
        }
    }

    /// The type of a MIME string stored by [`MediaType::mime`].
    pub fn from_mime(mime: &str) -> Option<MediaType> {
        MediaType::ALL.iter().copied().find(|t| t.mime() == mime)
    }
}

/// What an upload may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentLimits {
    /// The largest accepted content, bytes (default 10 MiB).
    pub max_bytes: u64,
    /// The accepted types (default: all of [`MediaType::ALL`]).
    pub allowed: Vec<MediaType>,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            allowed: MediaType::ALL.to_vec(),
        }
    }
}

/// Why an upload was refused or could not be stored.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AttachmentError {
    /// No content.
    #[error("the file is empty")]
    Empty,
    /// Over the size limit.
    #[error("the file is {size} bytes, more than the limit of {max} bytes")]
    TooLarge {
        /// The upload's size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The content is not an accepted type (whatever its name or declared MIME type say).
    #[error(
        "the file's content is not an accepted type (declared {declared:?}); accepted: JPEG, PNG, WebP, PDF"
    )]
    TypeNotAllowed {
        /// The type recognised from the content, if it is a known but disallowed one.
        detected: Option<MediaType>,
        /// The MIME type the client declared, for the message only.
        declared: Option<String>,
    },
    /// Writing or reading the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A content file written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// Hex SHA-256 of the content (its name on disk).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Type by magic bytes.
    pub media_type: MediaType,
    /// False when identical content was already stored (deduplicated).
    pub created: bool,
}

/// The content-addressed folder of attachment files.
#[derive(Debug, Clone)]
pub struct AttachmentFiles {
    root: PathBuf,
    limits: AttachmentLimits,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AttachmentError + '_ {
    move |source| AttachmentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl AttachmentFiles {
    /// Files under `root` (created on first write) with the default limits.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            limits: AttachmentLimits::default(),
        }
    }

    /// The same folder with other limits.
    pub fn with_limits(mut self, limits: AttachmentLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The limits.
    pub fn limits(&self) -> &AttachmentLimits {
        &self.limits
    }

    /// Where content with hex SHA-256 `sha256` lives (`ROOT/ab/cd/abcd…`), or `None` when
    /// `sha256` is not 64 lowercase hex digits (never a path outside the root).
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| {
            self.root
                .join(&sha256[0..2])
                .join(&sha256[2..4])
                .join(sha256)
        })
    }

    /// Checks `content` against the limits and returns its type.
    pub fn check(
        &self,
        content: &[u8],
        declared_mime: Option<&str>,
    ) -> Result<MediaType, AttachmentError> {
        if content.is_empty() {
            return Err(AttachmentError::Empty);
        }
        let size = content.len() as u64;
        if size > self.limits.max_bytes {
            return Err(AttachmentError::TooLarge {
                size,
                max: self.limits.max_bytes,
            });
        }
        match MediaType::detect(content) {
            Some(t) if self.limits.allowed.contains(&t) => Ok(t),
            detected => Err(AttachmentError::TypeNotAllowed {
                detected,
                declared: declared_mime.map(|m| m.chars().take(100).collect()),
            }),
        }
    }

    /// Checks and writes `content` (blocking I/O; see [`Store::save_attachment`] for the async
    /// path). Identical content already stored is not written again.
    pub fn write(
        &self,
        content: &[u8],
        declared_mime: Option<&str>,
    ) -> Result<StoredBlob, AttachmentError> {
        let media_type = self.check(content, declared_mime)?;
        let sha256 = hex_lower(&Sha256::digest(content));
        let target = self
            .path_of(&sha256)
            .ok_or_else(|| StoreError::Invalid("bad digest".into()))?;
        let blob = |created| StoredBlob {
            sha256: sha256.clone(),
            size: content.len() as u64,
            media_type,
            created,
        };
        if target.is_file() {
            return Ok(blob(false));
        }
        let tmp_dir = self.root.join("tmp");
        std::fs::create_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
        let tmp = tmp_dir.join(unique_temp_name());
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(content)?;
            f.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(&tmp)(e));
        }
        if let Some(parent) = target.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(parent)(e));
        }
        if let Err(e) = std::fs::rename(&tmp, &target) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(&target)(e));
        }
        Ok(blob(true))
    }

    /// The content stored under `sha256`.
    pub fn read(&self, sha256: &str) -> Result<Vec<u8>, AttachmentError> {
        let path = self.path_of(sha256).ok_or_else(|| {
            StoreError::Invalid(format!("{sha256:?} is not a SHA-256 hex digest"))
        })?;
        std::fs::read(&path).map_err(io_err(&path))
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn unique_temp_name() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{nanos:x}-{}.part",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Characters that never belong in a stored name: invisible direction and zero-width marks
/// (a name could hide `exe.jpg` behind `gpj.exe`), the byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// A safe display and download name for an upload named `declared` whose content is `media`:
/// the last path component only, without control, invisible or Windows-forbidden characters,
/// without leading dots, whitespace collapsed, the stem shortened so that the whole name has at
/// most [`MAX_FILE_NAME_CHARS`] characters, and the real extension of `media` (replacing the
/// declared one when that is a known attachment extension, or appended). Never empty: an
/// unusable name becomes `file.EXT`; Windows device names (`CON`, `NUL`, `COM1`…) get a `_`.
pub fn sanitize_file_name(declared: &str, media: MediaType) -> String {
    let last = declared.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut cleaned = String::new();
    for c in last.chars() {
        if c.is_control() || is_invisible(c) || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')
        {
            continue;
        }
        if c.is_whitespace() {
            if !cleaned.ends_with(' ') && !cleaned.is_empty() {
                cleaned.push(' ');
            }
            continue;
        }
        cleaned.push(c);
    }
    let trimmed = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    // Drop a declared extension that is one of ours (it may lie); keep any other as part of the
    // stem so that «отчёт.docx» stays recognisable as «отчёт.docx.pdf».
    let stem = match trimmed.rsplit_once('.') {
        Some((stem, ext))
            if ["jpg", "jpeg", "jpe", "png", "webp", "pdf"]
                .contains(&ext.to_ascii_lowercase().as_str()) =>
        {
            stem.trim_end_matches(['.', ' '])
        }
        _ => trimmed,
    };
    let ext = media.extension();
    let room = MAX_FILE_NAME_CHARS - ext.len() - 1;
    let mut stem: String = stem.chars().take(room).collect();
    stem = stem.trim_end_matches(['.', ' ']).to_string();
    if stem.is_empty() {
        stem = "file".to_string();
    }
    let device = stem
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let reserved = matches!(device.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((device.starts_with("COM") || device.starts_with("LPT"))
            && device.len() == 4
            && device.as_bytes()[3].is_ascii_digit());
    if reserved {
        stem.insert(0, '_');
        if stem.chars().count() > room {
            stem = stem.chars().take(room).collect();
        }
    }
    format!("{stem}.{ext}")
}

/// An attachment's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttachmentId(pub i64);

impl AttachmentId {
    /// The raw database value.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for AttachmentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One uploaded attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Database id.
    pub id: AttachmentId,
    /// Hex SHA-256 of the content: the file on disk ([`AttachmentFiles::path_of`]).
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Type by magic bytes.
    pub media_type: MediaType,
    /// Sanitised file name.
    pub file_name: String,
    /// The message it belongs to, once attached.
    pub message: Option<MessageId>,
    /// Uploaded at.
    pub created_at: Timestamp,
    /// Attached to its message at.
    pub attached_at: Option<Timestamp>,
}

fn attachment(row: &AnyRow) -> crate::Result<Attachment> {
    let mime: String = row.try_get("media_type")?;
    Ok(Attachment {
        id: AttachmentId(row.try_get("id")?),
        sha256: row.try_get("sha256")?,
        size_bytes: row.try_get("size_bytes")?,
        media_type: MediaType::from_mime(&mime)
            .ok_or_else(|| StoreError::Invalid(format!("stored media type {mime:?}")))?,
        file_name: row.try_get("file_name")?,
        message: row.try_get::<Option<i64>, _>("message_id")?.map(MessageId),
        created_at: Timestamp(row.try_get("created_at")?),
        attached_at: row.try_get::<Option<i64>, _>("attached_at")?.map(Timestamp),
    })
}

async fn attachments_by_ids(
    conn: &mut AnyConnection,
    ids: &[AttachmentId],
) -> crate::Result<Vec<Attachment>> {
    let mut out = Vec::with_capacity(ids.len());
    let sql = format!("SELECT {ATTACHMENT_COLS} FROM attachments WHERE id = $1");
    for id in ids {
        let row = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(id.get())
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(row) => out.push(attachment(&row)?),
            None => {
                return Err(StoreError::Invalid(format!(
                    "attachment {id} does not exist"
                )));
            }
        }
    }
    Ok(out)
}

/// Links uploaded attachments to `message` on the caller's connection or transaction (use it in
/// the transaction that creates the message). All or nothing: every id must exist and be
/// unattached or already attached to this same message (repeating the call is harmless);
/// otherwise [`StoreError::Invalid`] and nothing changes (roll the transaction back).
pub async fn attach_in(
    conn: &mut AnyConnection,
    ids: &[AttachmentId],
    message: MessageId,
    now: Timestamp,
) -> crate::Result<Vec<Attachment>> {
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE id = $1")
        .bind(message.get())
        .fetch_one(&mut *conn)
        .await?;
    if found == 0 {
        return Err(StoreError::NotFound {
            entity: EntityKind::Message,
            key: message.to_string(),
        });
    }
    for a in attachments_by_ids(conn, ids).await? {
        if let Some(other) = a.message.filter(|m| *m != message) {
            return Err(StoreError::Invalid(format!(
                "attachment {} already belongs to message {other}",
                a.id
            )));
        }
    }
    for id in ids {
        sqlx::query(
            "UPDATE attachments SET message_id = $1, attached_at = $2 \
             WHERE id = $3 AND message_id IS NULL",
        )
        .bind(message.get())
        .bind(now.millis())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    }
    let attached = attachments_by_ids(conn, ids).await?;
    // A concurrent attach to another message between the check and the update.
    if let Some(a) = attached.iter().find(|a| a.message != Some(message)) {
        return Err(StoreError::Invalid(format!(
            "attachment {} was attached elsewhere concurrently",
            a.id
        )));
    }
    Ok(attached)
}

impl Store {
    /// Checks `content` (size, type by magic bytes), writes it to `files` (once per distinct
    /// content) and records an unattached upload named after the sanitised `declared_name`.
    /// `declared_mime` is only quoted in the refusal; it decides nothing.
    #[tracing::instrument(skip(self, files, content), fields(size = content.len()))]
    pub async fn save_attachment(
        &self,
        files: &AttachmentFiles,
        declared_name: &str,
        declared_mime: Option<&str>,
        content: Vec<u8>,
        now: Timestamp,
    ) -> Result<Attachment, AttachmentError> {
        // Cheap checks first, before handing the bytes to a blocking thread.
        files.check(&content, declared_mime)?;
        let writer = files.clone();
        let mime = declared_mime.map(str::to_owned);
        let blob = tokio::task::spawn_blocking(move || writer.write(&content, mime.as_deref()))
            .await
            .map_err(|e| StoreError::Invalid(format!("attachment writer failed: {e}")))??;
        let name = sanitize_file_name(declared_name, blob.media_type);
        let sql = format!(
            "INSERT INTO attachments (sha256, size_bytes, media_type, file_name, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {ATTACHMENT_COLS}"
        );
        let size = i64::try_from(blob.size)
            .map_err(|_| StoreError::Invalid("attachment too large".into()))?;
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(blob.sha256.as_str())
            .bind(size)
            .bind(blob.media_type.mime())
            .bind(name.as_str())
            .bind(now.millis())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)?;
        tracing::debug!(sha256 = %blob.sha256, created = blob.created, "attachment stored");
        Ok(attachment(&row)?)
    }

    /// Links uploaded attachments to `message` in one transaction (see [`attach_in`]).
    #[tracing::instrument(skip(self))]
    pub async fn attach_to_message(
        &self,
        ids: &[AttachmentId],
        message: MessageId,
        now: Timestamp,
    ) -> crate::Result<Vec<Attachment>> {
        let mut tx = self.begin_write().await?;
        let attached = attach_in(&mut tx, ids, message, now).await?;
        tx.commit().await?;
        Ok(attached)
    }

    /// An attachment by id.
    #[tracing::instrument(skip(self))]
    pub async fn attachment(&self, id: AttachmentId) -> crate::Result<Option<Attachment>> {
        let sql = format!("SELECT {ATTACHMENT_COLS} FROM attachments WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(attachment).transpose()
    }

    /// The attachments of `message`, in upload order.
    #[tracing::instrument(skip(self))]
    pub async fn attachments_of(&self, message: MessageId) -> crate::Result<Vec<Attachment>> {
        let sql =
            format!("SELECT {ATTACHMENT_COLS} FROM attachments WHERE message_id = $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(message.get())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(attachment).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_types_by_magic_bytes() {
        assert_eq!(
            MediaType::detect(b"\xFF\xD8\xFF\xE0rest"),
            Some(MediaType::Jpeg)
        );
        assert_eq!(
            MediaType::detect(b"\x89PNG\r\n\x1a\n...."),
            Some(MediaType::Png)
        );
        assert_eq!(
            MediaType::detect(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(MediaType::WebP)
        );
        assert_eq!(MediaType::detect(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(MediaType::detect(b"%PDF-1.7\n"), Some(MediaType::Pdf));
        assert_eq!(MediaType::detect(b"MZ\x90\0"), None);
        assert_eq!(MediaType::detect(b"GIF89a"), None);
        assert_eq!(MediaType::detect(b""), None);
        for t in MediaType::ALL {
            assert_eq!(MediaType::from_mime(t.mime()), Some(*t));
        }
    }

    #[test]
    fn hostile_names_are_sanitised() {
        let s = |n| sanitize_file_name(n, MediaType::Jpeg);
        assert_eq!(s("../../etc/passwd"), "passwd.jpg");
        assert_eq!(s("C:\\Users\\x\\фото ямы.JPG"), "фото ямы.jpg");
        assert_eq!(s("..."), "file.jpg");
        assert_eq!(s(""), "file.jpg");
        assert_eq!(s(".htaccess"), "htaccess.jpg");
        assert_eq!(s("a\u{0}b\r\nc.png"), "abc.jpg");
        assert_eq!(s("photo\u{202E}gpj.exe"), "photogpj.exe.jpg");
        assert_eq!(s("what?<x>|y*.jpg"), "whatxy.jpg");
        assert_eq!(s("  many    spaces  .jpeg "), "many spaces.jpg");
        assert_eq!(s("CON.jpg"), "_CON.jpg");
        assert_eq!(s("com1"), "_com1.jpg");
        assert_eq!(s("report.pdf.jpg"), "report.pdf.jpg");
        assert_eq!(sanitize_file_name("scan.jpg", MediaType::Pdf), "scan.pdf");
        let long = "я".repeat(500);
        let out = s(&long);
        assert_eq!(out.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(out.ends_with(".jpg"));
    }

    #[test]
    fn paths_fan_out_and_refuse_non_digests() {
        let files = AttachmentFiles::new("/data/att");
        let sha = "ab".repeat(32);
        assert_eq!(
            files.path_of(&sha),
            Some(PathBuf::from("/data/att/ab/ab").join(&sha))
        );
        assert_eq!(files.path_of("../../../../etc/passwd"), None);
        assert_eq!(files.path_of(&"AB".repeat(32)), None);
        assert_eq!(files.path_of(&"ab".repeat(31)), None);
    }
}
