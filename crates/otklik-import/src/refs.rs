//! Cross-record checks of a whole batch: codes refer to records defined earlier in the batch or
//! already in the database.

use std::collections::{HashMap, HashSet};

use otklik_domain::TerritoryKind;
use otklik_domain::directory::DirectoryBatch;

use crate::records::may_not_contain;
use crate::{ImportError, ImportKind, RowError};

/// Codes that already exist in the database, passed in by the caller of
/// [`check_references`](crate::check_references).
///
/// ```
/// use otklik_domain::TerritoryKind;
/// use otklik_import::KnownCodes;
///
/// let mut known = KnownCodes::default();
/// known.territories.insert("severnaya-oblast".to_owned());
/// known.add_territory("seversk-okrug", Some(TerritoryKind::UrbanOkrug));
/// known.organisations.insert("minzdrav".to_owned());
/// assert!(known.has_territory("seversk-okrug") && known.has_organisation("minzdrav"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct KnownCodes {
    /// Territory codes in the database.
    pub territories: HashSet<String>,
    /// Kinds of known territories, where the caller has them: children in the batch are then
    /// checked with [`TerritoryKind::may_contain`]. Optional.
    pub territory_kinds: HashMap<String, TerritoryKind>,
    /// Organisation codes in the database.
    pub organisations: HashSet<String>,
    /// Category ids of the classifier; when `Some`, organisation competences must be among
    /// them. When `None`, competences are only checked for shape.
    pub categories: Option<HashSet<String>>,
}

impl KnownCodes {
    /// Nothing known: every reference must be satisfied inside the batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an existing territory, with its kind when known.
    pub fn add_territory(&mut self, code: impl Into<String>, kind: Option<TerritoryKind>) {
        let code = code.into();
        if let Some(kind) = kind {
            self.territory_kinds.insert(code.clone(), kind);
        }
        self.territories.insert(code);
    }

    /// Adds an existing organisation.
    pub fn add_organisation(&mut self, code: impl Into<String>) {
        self.organisations.insert(code.into());
    }

    /// Sets the category ids of the classifier (see [`KnownCodes::categories`]).
    pub fn set_categories<I, S>(&mut self, ids: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.categories = Some(ids.into_iter().map(Into::into).collect());
    }

    /// Is the territory code known?
    pub fn has_territory(&self, code: &str) -> bool {
        self.territories.contains(code) || self.territory_kinds.contains_key(code)
    }

    /// Is the organisation code known?
    pub fn has_organisation(&self, code: &str) -> bool {
        self.organisations.contains(code)
    }
}

/// Where each record of a batch came from: file and starting line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origins {
    files: Vec<String>,
    /// Per kind, in batch order: (index into `files`, line).
    lines: [Vec<(usize, u64)>; 5],
}

impl Origins {
    /// Records that `count` records of `kind` were appended from `file` at `lines`.
    pub(crate) fn push(&mut self, kind: ImportKind, file: &str, lines: impl Iterator<Item = u64>) {
        let f = match self.files.iter().position(|x| x == file) {
            Some(i) => i,
            None => {
                self.files.push(file.to_owned());
                self.files.len() - 1
            }
        };
        if let Some(list) = self.lines.get_mut(slot(kind)) {
            list.extend(lines.map(|l| (f, l)));
        }
    }

    pub(crate) fn append(&mut self, other: Origins) {
        for (i, kind) in ImportKind::ALL.into_iter().enumerate() {
            if let Some(list) = other.lines.get(i) {
                for (f, line) in list {
                    let file = other.files.get(*f).map_or("", String::as_str);
                    self.push(kind, file, std::iter::once(*line));
                }
            }
        }
    }

    /// File and line of record `index` of `kind`. Without a recorded origin, the conventional
    /// file name and the line the record would have with one line per record.
    fn at(&self, kind: ImportKind, index: usize) -> (String, u64) {
        self.lines
            .get(slot(kind))
            .and_then(|l| l.get(index))
            .and_then(|(f, line)| self.files.get(*f).map(|f| (f.clone(), *line)))
            .unwrap_or_else(|| (kind.file_name().to_owned(), index as u64 + 2))
    }
}

fn slot(kind: ImportKind) -> usize {
    match kind {
        ImportKind::Territories => 0,
        ImportKind::Organisations => 1,
        ImportKind::Users => 2,
        ImportKind::Communities => 3,
        ImportKind::Sources => 4,
    }
}

/// The reference checks, reporting positions from `origins`.
pub(crate) fn check(
    batch: &DirectoryBatch,
    known: &KnownCodes,
    origins: &Origins,
) -> Result<(), ImportError> {
    let mut errors = Vec::new();
    let mut err = |kind: ImportKind, index: usize, column: &str, message: String| {
        let (file, row) = origins.at(kind, index);
        errors.push(RowError::new(file, row, Some(column), message));
    };
    let first_at = |kind: ImportKind, index: usize| {
        let (file, row) = origins.at(kind, index);
        format!("{file}:{row}")
    };

    // Territories: parents earlier in the batch or known.
    let mut territories: HashMap<&str, (usize, TerritoryKind)> = HashMap::new();
    for (i, t) in batch.territories.iter().enumerate() {
        if let Some(parent) = t.parent_code.as_deref() {
            let parent_kind = match territories.get(parent) {
                Some((_, k)) => Some(*k),
                None if known.has_territory(parent) => known.territory_kinds.get(parent).copied(),
                None => {
                    let later = batch
                        .territories
                        .iter()
                        .skip(i)
                        .position(|x| x.code == parent);
                    let message = match later {
                        Some(j) => format!(
                            "parent territory \"{parent}\" is defined later ({}); parents must come first",
                            first_at(ImportKind::Territories, i + j)
                        ),
                        None => format!("unknown territory \"{parent}\""),
                    };
                    err(ImportKind::Territories, i, "parent_code", message);
                    None
                }
            };
            if let Some(pk) = parent_kind
                && !pk.may_contain(t.kind)
            {
                err(
                    ImportKind::Territories,
                    i,
                    "parent_code",
                    may_not_contain(parent, pk, t.kind),
                );
            }
        }
        if let Some((j, _)) = territories.get(t.code.as_str()) {
            let message = format!(
                "duplicate territory code \"{}\" (first defined at {})",
                t.code,
                first_at(ImportKind::Territories, *j)
            );
            err(ImportKind::Territories, i, "code", message);
        } else {
            territories.insert(&t.code, (i, t.kind));
        }
    }
    let territory_known = |code: &str| territories.contains_key(code) || known.has_territory(code);

    // Organisations: parents earlier or known; territories anywhere in the batch or known.
    let mut organisations: HashMap<&str, usize> = HashMap::new();
    for (i, o) in batch.organisations.iter().enumerate() {
        if let Some(parent) = o.parent_code.as_deref()
            && !organisations.contains_key(parent)
            && !known.has_organisation(parent)
        {
            let later = batch
                .organisations
                .iter()
                .skip(i)
                .position(|x| x.code == parent);
            let message = match later {
                Some(j) => format!(
                    "parent organisation \"{parent}\" is defined later ({}); parents must come first",
                    first_at(ImportKind::Organisations, i + j)
                ),
                None => format!("unknown organisation \"{parent}\""),
            };
            err(ImportKind::Organisations, i, "parent_code", message);
        }
        if !territory_known(&o.territory_code) {
            err(
                ImportKind::Organisations,
                i,
                "territory_code",
                format!("unknown territory \"{}\"", o.territory_code),
            );
        }
        if let Some(categories) = &known.categories {
            for c in &o.competences {
                if !categories.contains(&c.0) {
                    err(
                        ImportKind::Organisations,
                        i,
                        "competences",
                        format!("unknown category \"{c}\""),
                    );
                }
            }
        }
        if let Some(j) = organisations.get(o.code.as_str()) {
            let message = format!(
                "duplicate organisation code \"{}\" (first defined at {})",
                o.code,
                first_at(ImportKind::Organisations, *j)
            );
            err(ImportKind::Organisations, i, "code", message);
        } else {
            organisations.insert(&o.code, i);
        }
    }
    let organisation_known =
        |code: &str| organisations.contains_key(code) || known.has_organisation(code);

    // Users.
    let mut logins: HashMap<String, usize> = HashMap::new();
    for (i, u) in batch.users.iter().enumerate() {
        if let Some(org) = u.organisation_code.as_deref()
            && !organisation_known(org)
        {
            err(
                ImportKind::Users,
                i,
                "organisation_code",
                format!("unknown organisation \"{org}\""),
            );
        }
        for g in &u.roles {
            if !organisation_known(&g.organisation_code)
                && u.organisation_code.as_deref() != Some(g.organisation_code.as_str())
            {
                err(
                    ImportKind::Users,
                    i,
                    "roles",
                    format!(
                        "role {}: unknown organisation \"{}\"",
                        g.role, g.organisation_code
                    ),
                );
            }
        }
        let key = u.login.to_lowercase();
        if let Some(j) = logins.get(&key) {
            let message = format!(
                "duplicate login \"{}\" (first defined at {})",
                u.login,
                first_at(ImportKind::Users, *j)
            );
            err(ImportKind::Users, i, "login", message);
        } else {
            logins.insert(key, i);
        }
    }

    // Communities.
    let mut communities: HashMap<(String, &str), usize> = HashMap::new();
    for (i, c) in batch.communities.iter().enumerate() {
        if !organisation_known(&c.organisation_code) {
            err(
                ImportKind::Communities,
                i,
                "organisation_code",
                format!("unknown organisation \"{}\"", c.organisation_code),
            );
        }
        let key = (c.network.code().to_owned(), c.external_id.as_str());
        if let Some(j) = communities.get(&key) {
            let message = format!(
                "duplicate community \"{}/{}\" (first defined at {})",
                c.network,
                c.external_id,
                first_at(ImportKind::Communities, *j)
            );
            err(ImportKind::Communities, i, "url", message);
        } else {
            communities.insert(key, i);
        }
    }

    // Sources.
    let mut sources: HashMap<&str, usize> = HashMap::new();
    for (i, s) in batch.sources.iter().enumerate() {
        if let Some(t) = s.territory_code.as_deref()
            && !territory_known(t)
        {
            err(
                ImportKind::Sources,
                i,
                "territory_code",
                format!("unknown territory \"{t}\""),
            );
        }
        if let Some(j) = sources.get(s.name.as_str()) {
            let message = format!(
                "duplicate source name \"{}\" (first defined at {})",
                s.name,
                first_at(ImportKind::Sources, *j)
            );
            err(ImportKind::Sources, i, "name", message);
        } else {
            sources.insert(&s.name, i);
        }
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Invalid { errors })
    }
}
