//! The five kinds of directory files.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::ImportError;

/// Which directory file a CSV holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImportKind {
    /// `territories.csv`
    Territories,
    /// `organisations.csv`
    Organisations,
    /// `users.csv`
    Users,
    /// `communities.csv`
    Communities,
    /// `sources.csv`
    Sources,
}

impl ImportKind {
    /// All kinds in the order they must be applied (referenced records first).
    pub const ALL: [ImportKind; 5] = [
        ImportKind::Territories,
        ImportKind::Organisations,
        ImportKind::Users,
        ImportKind::Communities,
        ImportKind::Sources,
    ];

    /// The name used on the command line and in [`FromStr`] (`"territories"`).
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Territories => "territories",
            ImportKind::Organisations => "organisations",
            ImportKind::Users => "users",
            ImportKind::Communities => "communities",
            ImportKind::Sources => "sources",
        }
    }

    /// The conventional file name (`"territories.csv"`).
    pub fn file_name(self) -> &'static str {
        match self {
            ImportKind::Territories => "territories.csv",
            ImportKind::Organisations => "organisations.csv",
            ImportKind::Users => "users.csv",
            ImportKind::Communities => "communities.csv",
            ImportKind::Sources => "sources.csv",
        }
    }

    /// The kind named by a file's stem (`data/organisations.csv` → `Organisations`), if any.
    pub fn from_path(path: &Path) -> Option<ImportKind> {
        path.file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ImportKind {
    type Err = ImportError;

    /// Accepts the plural names, singular forms and the US spelling `organizations`,
    /// case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        Ok(match t.as_str() {
            "territories" | "territory" => ImportKind::Territories,
            "organisations" | "organisation" | "organizations" | "organization" => {
                ImportKind::Organisations
            }
            "users" | "user" => ImportKind::Users,
            "communities" | "community" => ImportKind::Communities,
            "sources" | "source" => ImportKind::Sources,
            _ => return Err(ImportError::UnknownKind(s.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in ImportKind::ALL {
            assert_eq!(k.name().parse::<ImportKind>().ok(), Some(k));
            assert_eq!(
                ImportKind::from_path(Path::new(k.file_name())),
                Some(k),
                "{k}"
            );
        }
        assert_eq!(
            "Organizations".parse::<ImportKind>().ok(),
            Some(ImportKind::Organisations)
        );
        assert!(matches!(
            "polls".parse::<ImportKind>(),
            Err(ImportError::UnknownKind(s)) if s == "polls"
        ));
        assert_eq!(ImportKind::from_path(Path::new("x/readme.md")), None);
    }
}
