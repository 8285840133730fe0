//! # otklik-import
//!
//! Directory imports for Otklik: the CSV files a region keeps its directory in — territories,
//! organisations, users with their roles, official communities (госпаблики) and collector
//! sources — parsed and validated into an [`otklik_domain::directory::DirectoryBatch`]. The crate
//! is pure: it reads files or readers and never touches the database; the store applies a checked
//! batch in one transaction.
//!
//! Every problem is reported as a [`RowError`] naming the file, the line (the header is line 1,
//! so the first data row is line 2) and the column; all problems of a file are collected, and any
//! problem rejects the whole file. [`check_references`] then verifies that codes refer to records
//! defined earlier in the batch or already in the database ([`KnownCodes`]).
//!
//! ## File formats
//!
//! UTF-8 (a BOM is ignored), comma-separated, a header row naming the columns in any order;
//! fields are trimmed; lists inside a field are separated by `;`; booleans are `1/0`,
//! `true/false`, `да/нет` or `yes/no`; kinds and roles are ASCII codes or Russian labels
//! (`roiv` or `РОИВ`). Columns marked * are required.
//!
//! | file | columns |
//! |------|---------|
//! | `territories.csv` | `code`\*, `kind`\*, `name`\*, `parent_code`, `name_variants` |
//! | `organisations.csv` | `code`\*, `kind`\*, `name`\*, `short_name`, `parent_code`, `territory_code`\*, `competences`, `account_ready`, `training_done`, `widget_installed`, `site_url` |
//! | `users.csv` | `login`\*, `full_name`\*, `email`, `organisation_code`, `roles` (`role` or `role@org_code`), `confirmed` |
//! | `communities.csv` | `url`\*, `organisation_code`\*, `title`\*, `verification` (default `pending`) |
//! | `sources.csv` | `name`\*, `network`\*, `target`\*, `schedule`\* (cron with seconds), `territory_code`, `enabled` (default true) |
//!
//! ## Example
//!
//! ```
//! use otklik_domain::OrgKind;
//! use otklik_import::{KnownCodes, check_references, parse_organisations};
//!
//! let csv = "\
//! code,kind,name,territory_code,competences,account_ready
//! minzdrav,РОИВ,Министерство здравоохранения Северной области,severnaya-oblast,health;covid,да
//! ";
//! let orgs = parse_organisations(csv.as_bytes(), "organisations.csv")?;
//! assert_eq!(orgs[0].kind, OrgKind::Roiv);
//! assert!(orgs[0].onboarding.account_ready);
//!
//! // The region is already in the database, so the reference is satisfied.
//! let mut known = KnownCodes::new();
//! known.add_territory("severnaya-oblast", None);
//! let batch = otklik_domain::directory::DirectoryBatch { organisations: orgs, ..Default::default() };
//! check_references(&batch, &known)?;
//!
//! // Errors name the line and the column; one bad row rejects the file.
//! let bad = "code,kind,name,territory_code\nminzdrav,РОИВ,Минздрав,severnaya-oblast\nx,ROIV2,X,severnaya-oblast\n";
//! let err = parse_organisations(bad.as_bytes(), "organisations.csv").unwrap_err();
//! assert!(err.to_string().starts_with(
//!     "organisations.csv:3: column kind: unknown organisation kind \"ROIV2\""
//! ));
//! # Ok::<(), otklik_import::ImportError>(())
//! ```

mod community_url;
mod error;
mod field;
mod kind;
mod records;
mod refs;
mod table;

use std::fs::File;
use std::io::Read;
use std::path::Path;

use otklik_domain::directory::{
    DirectoryBatch, NewCommunity, NewOrganisation, NewSource, NewTerritory, NewUser,
};

pub use community_url::{CommunityUrlError, community_url, parse_community_url};
pub use error::{ImportError, RowError};
pub use kind::ImportKind;
pub use refs::KnownCodes;

use records::Located;
use refs::Origins;

fn strip<T>(records: Located<T>) -> Vec<T> {
    records.into_iter().map(|(_, r)| r).collect()
}

/// Parses `territories.csv` from a reader; `file_name` is used in error messages.
pub fn parse_territories<R: Read>(
    reader: R,
    file_name: &str,
) -> Result<Vec<NewTerritory>, ImportError> {
    records::territories(reader, file_name).map(strip)
}

/// Parses `organisations.csv` from a reader; `file_name` is used in error messages.
pub fn parse_organisations<R: Read>(
    reader: R,
    file_name: &str,
) -> Result<Vec<NewOrganisation>, ImportError> {
    records::organisations(reader, file_name).map(strip)
}

/// Parses `users.csv` from a reader; `file_name` is used in error messages.
pub fn parse_users<R: Read>(reader: R, file_name: &str) -> Result<Vec<NewUser>, ImportError> {
    records::users(reader, file_name).map(strip)
}

/// Parses `communities.csv` from a reader; `file_name` is used in error messages. Network and
/// external id come from the URL ([`parse_community_url`]); the stored URL is the canonical one.
pub fn parse_communities<R: Read>(
    reader: R,
    file_name: &str,
) -> Result<Vec<NewCommunity>, ImportError> {
    records::communities(reader, file_name).map(strip)
}

/// Parses `sources.csv` from a reader; `file_name` is used in error messages.
pub fn parse_sources<R: Read>(reader: R, file_name: &str) -> Result<Vec<NewSource>, ImportError> {
    records::sources(reader, file_name).map(strip)
}

/// Parses one file of the given kind into a batch holding only that kind.
pub fn parse_file(kind: ImportKind, path: &Path) -> Result<DirectoryBatch, ImportError> {
    let mut importer = Importer::new();
    importer.add_file(kind, path)?;
    Ok(importer.into_batch())
}

/// Parses one file and appends its records to `batch`. On error `batch` is left unchanged.
pub fn parse_into(
    batch: &mut DirectoryBatch,
    kind: ImportKind,
    path: &Path,
) -> Result<(), ImportError> {
    append(batch, parse_file(kind, path)?);
    Ok(())
}

/// Reads whichever of `territories.csv`, `organisations.csv`, `users.csv`, `communities.csv`
/// and `sources.csv` exist in `dir`. Errors of all files are reported together; a directory
/// with none of them is an error. References are not checked: use [`load_dir_checked`] (or
/// [`check_references`]) with the codes already in the database.
pub fn load_dir(dir: &Path) -> Result<DirectoryBatch, ImportError> {
    let mut importer = Importer::new();
    importer.add_dir(dir)?;
    Ok(importer.into_batch())
}

/// [`load_dir`] followed by the reference checks, with exact file lines in the messages.
pub fn load_dir_checked(dir: &Path, known: &KnownCodes) -> Result<DirectoryBatch, ImportError> {
    let mut importer = Importer::new();
    importer.add_dir(dir)?;
    importer.check_references(known)?;
    Ok(importer.into_batch())
}

/// Checks that every `parent_code`, `territory_code` and `organisation_code` (of users, role
/// grants and communities) and every source `territory_code` names a record defined earlier in
/// the batch (parents before children; territories before organisations) or one in `known`;
/// also that keys are unique across the batch, that territory kinds nest
/// ([`otklik_domain::TerritoryKind::may_contain`]) and, when [`KnownCodes::set_categories`] was
/// called, that competences are known categories.
///
/// A bare batch does not remember its files, so errors name the conventional file
/// (`organisations.csv`) and the line the record would have with one line per record. For
/// exact positions build the batch with an [`Importer`] or use [`load_dir_checked`].
pub fn check_references(batch: &DirectoryBatch, known: &KnownCodes) -> Result<(), ImportError> {
    refs::check(batch, known, &Origins::default())
}

fn append(batch: &mut DirectoryBatch, other: DirectoryBatch) {
    batch.territories.extend(other.territories);
    batch.organisations.extend(other.organisations);
    batch.users.extend(other.users);
    batch.communities.extend(other.communities);
    batch.sources.extend(other.sources);
}

/// Builds a batch from several files while remembering where each record came from, so that
/// [`Importer::check_references`] reports exact files and lines.
///
/// ```
/// use otklik_import::{ImportKind, Importer, KnownCodes};
///
/// let mut importer = Importer::new();
/// importer.add_reader(
///     ImportKind::Territories,
///     "code,kind,name,parent_code\nzarechny,settlement,р. п. Заречный,zarechny-district\n".as_bytes(),
///     "territories.csv",
/// )?;
/// let err = importer.check_references(&KnownCodes::new()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "territories.csv:2: column parent_code: unknown territory \"zarechny-district\""
/// );
/// # Ok::<(), otklik_import::ImportError>(())
/// ```
#[derive(Debug, Default)]
pub struct Importer {
    batch: DirectoryBatch,
    origins: Origins,
}

impl Importer {
    /// An empty importer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a reader of the given kind and appends its records; returns how many were added.
    /// On error nothing is added.
    pub fn add_reader<R: Read>(
        &mut self,
        kind: ImportKind,
        reader: R,
        file_name: &str,
    ) -> Result<usize, ImportError> {
        fn put<T>(
            list: &mut Vec<T>,
            origins: &mut Origins,
            kind: ImportKind,
            file: &str,
            records: Located<T>,
        ) -> usize {
            let n = records.len();
            origins.push(kind, file, records.iter().map(|(line, _)| *line));
            list.extend(records.into_iter().map(|(_, r)| r));
            n
        }
        let b = &mut self.batch;
        let o = &mut self.origins;
        let f = file_name;
        Ok(match kind {
            ImportKind::Territories => put(
                &mut b.territories,
                o,
                kind,
                f,
                records::territories(reader, f)?,
            ),
            ImportKind::Organisations => put(
                &mut b.organisations,
                o,
                kind,
                f,
                records::organisations(reader, f)?,
            ),
            ImportKind::Users => put(&mut b.users, o, kind, f, records::users(reader, f)?),
            ImportKind::Communities => put(
                &mut b.communities,
                o,
                kind,
                f,
                records::communities(reader, f)?,
            ),
            ImportKind::Sources => put(&mut b.sources, o, kind, f, records::sources(reader, f)?),
        })
    }

    /// Parses a file of the given kind and appends its records; errors name the path as given.
    pub fn add_file(&mut self, kind: ImportKind, path: &Path) -> Result<usize, ImportError> {
        let file = File::open(path).map_err(|source| ImportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.add_reader(kind, file, &path.display().to_string())
    }

    /// Parses whichever directory files exist in `dir` (see [`load_dir`]); all-or-nothing: on
    /// error nothing is added, and the errors of every file are reported together.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, ImportError> {
        std::fs::metadata(dir).map_err(|source| ImportError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut staged = Importer::new();
        let mut errors = Vec::new();
        let mut found = false;
        let mut added = 0;
        for kind in ImportKind::ALL {
            let path = dir.join(kind.file_name());
            if !path.is_file() {
                continue;
            }
            found = true;
            match staged.add_file(kind, &path) {
                Ok(n) => added += n,
                Err(ImportError::Invalid { errors: e }) => errors.extend(e),
                Err(other) => return Err(other),
            }
        }
        if !found {
            return Err(ImportError::NoFiles {
                dir: dir.to_path_buf(),
            });
        }
        if !errors.is_empty() {
            return Err(ImportError::Invalid { errors });
        }
        append(&mut self.batch, staged.batch);
        self.origins.append(staged.origins);
        Ok(added)
    }

    /// Checks the references of everything added so far (see [`check_references`]), naming
    /// the exact file and line of each offending record.
    pub fn check_references(&self, known: &KnownCodes) -> Result<(), ImportError> {
        refs::check(&self.batch, known, &self.origins)
    }

    /// The batch assembled so far.
    pub fn batch(&self) -> &DirectoryBatch {
        &self.batch
    }

    /// The assembled batch.
    pub fn into_batch(self) -> DirectoryBatch {
        self.batch
    }
}
