//! Opening a [`Store`]: URL parsing, SQLite file creation and per-connection settings.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

use crate::error::redact_url;
use crate::{Backend, Result, Store, StoreError, StoreOptions};

/// Statements run on every new SQLite connection. `busy_timeout` first, so the others wait
/// for a lock instead of failing; `journal_mode` is persistent but cheap to repeat.
/// `cache_size` is 8 MiB of private page cache per connection (the default is 2 MiB, too small
/// for the random positions of the duplicate-search index). `wal_autocheckpoint` at 8,000
/// pages (~32 MB of WAL) instead of 1,000: a page changed by many commits is copied back to the
/// database (and the file fsynced) once per checkpoint, so fewer, larger checkpoints write much
/// less. (`mmap_size` was measured and left off: the growing file is remapped again and again,
/// and the workflow benchmark ran ~10 % slower with it.)
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA temp_store = MEMORY; \
     PRAGMA cache_size = -8192; \
     PRAGMA wal_autocheckpoint = 8000;";

/// File name of the SQLite database inside a data directory.
pub const DATA_DIR_DB_FILE: &str = "otklik.db";

impl Store {
    /// Opens `sqlite://PATH` (or `sqlite:PATH`, `sqlite::memory:`) or `postgres://…`
    /// (`postgresql://…`) with default [`StoreOptions`].
    ///
    /// For SQLite the file and its parent folders are created on first run, and every
    /// connection gets WAL journaling, `busy_timeout` 5 s, `foreign_keys=ON` and
    /// `synchronous=NORMAL`. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    #[tracing::instrument(skip(url, options), fields(url = %redact_url(url)))]
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let target = redact_url(url);
        let backend = backend_of(url).ok_or_else(|| {
            StoreError::Invalid(format!(
                "unsupported database URL {target:?}: expected sqlite://PATH or postgres://…"
            ))
        })?;

        let url = match backend {
            Backend::Sqlite => prepare_sqlite(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let connect_options =
            AnyConnectOptions::from_str(&url).map_err(|source| StoreError::Connect {
                target: target.clone(),
                source,
            })?;

        let mut pool_options = AnyPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout);
        if backend == Backend::Sqlite {
            // A local file cannot drop a connection the way a network peer can: skip the
            // liveness ping on every acquire (a round trip to SQLite's worker thread each time).
            pool_options = pool_options.test_before_acquire(false);
            pool_options = pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::raw_sql(SQLITE_PRAGMAS).execute(&mut *conn).await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect_with(connect_options)
            .await
            .map_err(|source| StoreError::Connect {
                target: target.clone(),
                source,
            })?;
        tracing::info!(backend = %backend, url = %target, "database opened");
        Ok(Store {
            pool,
            backend,
            target,
        })
    }

    /// Opens (creating if needed) the SQLite database `dir/otklik.db`.
    pub async fn open_data_dir(dir: impl AsRef<Path>) -> Result<Store> {
        let path = dir.as_ref().join(DATA_DIR_DB_FILE);
        Self::connect(&sqlite_url(&path)).await
    }
}

/// The `sqlite:` URL for a file path (characters special in URLs are percent-encoded).
///
/// ```
/// use std::path::Path;
/// assert_eq!(
///     otklik_store::sqlite_url(Path::new("/srv/otklik data/otklik.db")),
///     "sqlite:///srv/otklik%20data/otklik.db"
/// );
/// ```
pub fn sqlite_url(path: &Path) -> String {
    let raw = path.to_string_lossy();
    let mut encoded = String::with_capacity(raw.len());
    for ch in raw.chars() {
        match ch {
            ' ' | '"' | '#' | '%' | '?' | '<' | '>' | '`' | '{' | '}' | '\\' => {
                let mut buf = [0u8; 4];
                for b in ch.encode_utf8(&mut buf).bytes() {
                    encoded.push_str(&format!("%{b:02X}"));
                }
            }
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    encoded.push_str(&format!("%{b:02X}"));
                }
            }
            c => encoded.push(c),
        }
    }
    if path.is_absolute() {
        format!("sqlite://{encoded}")
    } else {
        format!("sqlite:{encoded}")
    }
}

/// The backend a URL names, from its scheme.
pub(crate) fn backend_of(url: &str) -> Option<Backend> {
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => Some(Backend::Sqlite),
        "postgres" | "postgresql" => Some(Backend::Postgres),
        _ => None,
    }
}

/// Creates the parent folders of a file-backed SQLite URL and makes sure the file is created
/// (`mode=rwc`) unless the URL chose a mode itself. Returns the URL to connect with.
fn prepare_sqlite(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (database, params) = match rest.split_once('?') {
        Some((d, p)) => (d, Some(p)),
        None => (rest, None),
    };
    let has_mode = params.is_some_and(|p| p.split('&').any(|kv| kv.starts_with("mode=")));
    let in_memory = database.is_empty()
        || database == ":memory:"
        || params.is_some_and(|p| p.split('&').any(|kv| kv == "mode=memory"));
    if !in_memory {
        let path = PathBuf::from(percent_decode(database)?);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Invalid(format!(
                    "cannot create folder {} for the database: {e}",
                    parent.display()
                ))
            })?;
        }
    }
    Ok(if has_mode || in_memory {
        url.to_owned()
    } else if params.is_some() {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| StoreError::Invalid("database path is not valid UTF-8".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_from_schemes() {
        assert_eq!(backend_of("sqlite:///x.db"), Some(Backend::Sqlite));
        assert_eq!(backend_of("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(backend_of("postgres://h/db"), Some(Backend::Postgres));
        assert_eq!(backend_of("PostgreSQL://h/db"), Some(Backend::Postgres));
        assert_eq!(backend_of("mysql://h/db"), None);
        assert_eq!(backend_of("nothing"), None);
    }

    #[test]
    fn sqlite_urls_round_trip_paths() {
        let p = Path::new("/tmp/a b#c?d%e/otklik.db");
        let url = sqlite_url(p);
        assert_eq!(url, "sqlite:///tmp/a%20b%23c%3Fd%25e/otklik.db");
        let rest = url.strip_prefix("sqlite://").unwrap_or_default();
        assert_eq!(percent_decode(rest).ok().as_deref(), p.to_str());
        assert_eq!(
            sqlite_url(Path::new("data/otklik.db")),
            "sqlite:data/otklik.db"
        );
    }

    #[test]
    fn sqlite_mode_is_added_once() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("otklik-store-unit-{}", std::process::id()));
        let file = dir.join("x.db");
        let url = sqlite_url(&file);
        assert_eq!(prepare_sqlite(&url)?, format!("{url}?mode=rwc"));
        assert!(dir.is_dir());
        assert_eq!(
            prepare_sqlite(&format!("{url}?mode=ro"))?,
            format!("{url}?mode=ro")
        );
        assert_eq!(prepare_sqlite("sqlite::memory:")?, "sqlite::memory:");
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
