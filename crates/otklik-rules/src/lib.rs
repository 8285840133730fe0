//! # otklik-rules
//!
//! The rules directory of Otklik (`rules/`): the unified category tree (`categories.toml`:
//! categories, subcategories, review deadlines, fast-tracks) and the routing rules
//! (`routing.toml`: jurisdiction level per category, place-of-submission switch, explicit
//! executor rules), and the classifier's keyword rules (`keywords/<category id>.toml`, see
//! [`load_keyword_rules`]). This crate reads and validates them; it never panics on bad input
//! and every error names the file, line and column (`rules/categories.toml:12:6: duplicate
//! subcategory id "roads.potholes" (first defined at line 5)`), with all validation errors of a
//! load reported together. Organisation and territory codes in routing rules are kept with their positions and
//! checked later against the directory by `otklik-route`.
//!
//! ```
//! use otklik_domain::SubcategoryId;
//! use otklik_rules::{Level, parse_category_tree, parse_routing_rules};
//!
//! let tree = parse_category_tree(
//!     r#"
//! [[category]]
//! id = "roads"
//! name = "Автомобильные дороги"
//!
//! [[subcategory]]
//! id = "roads.potholes"
//! category = "roads"
//! name = "Ямы, выбоины"
//! fast_track_days = 5
//! "#,
//!     "rules/categories.toml",
//! )?;
//! let potholes = tree
//!     .subcategory(&SubcategoryId("roads.potholes".into()))
//!     .expect("defined above");
//! assert_eq!(potholes.deadline_days, 30);
//! assert_eq!(potholes.effective_deadline_days(), 5);
//!
//! let routing = parse_routing_rules(
//!     r#"
//! [defaults]
//! level = "municipal"
//!
//! [[category]]
//! id = "roads"
//! level = "regional"
//! "#,
//!     "rules/routing.toml",
//! )?;
//! routing.validate(&tree)?;
//! assert_eq!(routing.level_for(potholes), Level::Regional);
//!
//! // Errors carry file:line:column.
//! let err = parse_routing_rules("[[category]]\nid = \"roads\"\nlevel = \"federal\"\n", "r.toml")
//!     .unwrap_err();
//! assert!(err.to_string().starts_with("r.toml:3:9: unknown variant `federal`"));
//! # Ok::<(), otklik_rules::RulesError>(())
//! ```

mod categories;
mod error;
mod keywords;
mod reject_reasons;
mod routing;

use std::fmt;
use std::path::{Path, PathBuf};

use otklik_domain::CategoryTree;

pub use categories::{
    DEFAULT_DEADLINE_DAYS, MAX_DEADLINE_DAYS, is_valid_category_id, is_valid_subcategory_id,
    load_category_tree, parse_category_tree,
};
pub use error::{Located, Origin, RulesError};
pub use keywords::{
    CategoryKeywords, DEFAULT_BOOST, KeywordRules, KeywordSet, KeywordSummary, MAX_BOOST, MAX_SLOP,
    MIN_WILDCARD_PREFIX, Phrase, SubcategoryKeywords, check_coverage, load_keyword_rules,
    parse_keyword_file,
};
pub use reject_reasons::{
    REJECT_REASONS_FILE, RejectReason, RejectReasons, load_reject_reasons, parse_reject_reasons,
};
pub use routing::{
    ExplicitRule, Level, LevelEntry, RoutingDefaults, RoutingRules, RuleTarget, load_routing_rules,
    parse_routing_rules,
};

use error::Collector;

/// A loaded and validated rules directory.
#[derive(Debug, Clone)]
pub struct RulesDir {
    dir: PathBuf,
    tree: CategoryTree,
    routing: RoutingRules,
    keywords: Option<KeywordRules>,
}

impl RulesDir {
    /// File name of the category tree in a rules directory.
    pub const CATEGORIES_FILE: &'static str = "categories.toml";
    /// File name of the routing rules in a rules directory.
    pub const ROUTING_FILE: &'static str = "routing.toml";
    /// Directory of the keyword rules (`<category id>.toml` files), loaded when it exists.
    pub const KEYWORDS_DIR: &'static str = "keywords";

    /// Loads `categories.toml` and `routing.toml` from `dir` and checks the routing rules
    /// against the tree; when the directory has a `keywords/` subdirectory, its keyword rules
    /// are loaded and checked against the tree too. Errors of all files are reported together.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, RulesError> {
        let dir = dir.as_ref();
        let mut errs = Collector::default();
        let tree = errs.merge(load_category_tree(dir.join(Self::CATEGORIES_FILE)));
        let routing =
            routing::load_and_validate(&dir.join(Self::ROUTING_FILE), tree.as_ref(), &mut errs);
        let keywords_dir = dir.join(Self::KEYWORDS_DIR);
        let keywords = match &tree {
            Some(tree) if keywords_dir.is_dir() => {
                errs.merge(load_keyword_rules(&keywords_dir, tree))
            }
            _ => None,
        };
        errs.finish()?;
        match (tree, routing) {
            (Some(tree), Some(routing)) => Ok(Self {
                dir: dir.to_path_buf(),
                tree,
                routing,
                keywords,
            }),
            // Unreachable in practice: a missing part always leaves an error behind.
            _ => Err(RulesError::Invalid {
                file: dir.to_path_buf(),
                line: 0,
                column: 0,
                message: "rules directory could not be loaded".into(),
            }),
        }
    }

    /// The directory the rules were loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The category tree from `categories.toml`.
    pub fn tree(&self) -> &CategoryTree {
        &self.tree
    }

    /// The routing rules from `routing.toml`, with any added region files laid over them.
    pub fn routing(&self) -> &RoutingRules {
        &self.routing
    }

    /// The keyword rules from `keywords/`, when the directory has one.
    pub fn keywords(&self) -> Option<&KeywordRules> {
        self.keywords.as_ref()
    }

    /// The tree and the routing rules, by value.
    pub fn into_parts(self) -> (CategoryTree, RoutingRules) {
        (self.tree, self.routing)
    }

    /// Lays a region-specific routing file (e.g. `demo/routing.toml`) over the loaded rules,
    /// after checking it against the tree (see [`RoutingRules::overlay`]). On error nothing
    /// changes.
    pub fn add_routing_file(&mut self, path: impl AsRef<Path>) -> Result<(), RulesError> {
        let mut errs = Collector::default();
        let extra = routing::load_and_validate(path.as_ref(), Some(&self.tree), &mut errs);
        errs.finish()?;
        if let Some(extra) = extra {
            self.routing.overlay(extra);
        }
        Ok(())
    }

    /// Counts for logs and `otklik rules check`.
    pub fn summary(&self) -> RulesSummary {
        RulesSummary {
            categories: self.tree.categories().len(),
            subcategories: self.tree.subcategories().len(),
            fast_tracks: self.tree.fast_track_count(),
            routing_rules: self.routing.rules().len(),
            routing_levels: self.routing.level_entries().len(),
            keyword_rules: self
                .keywords
                .as_ref()
                .map_or(0, |k| k.summary().subcategories),
        }
    }
}

/// Counts of a loaded rules directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulesSummary {
    /// Categories.
    pub categories: usize,
    /// Subcategories.
    pub subcategories: usize,
    /// Fast-track subcategories.
    pub fast_tracks: usize,
    /// Explicit executor rules (`[[rule]]` in routing files).
    pub routing_rules: usize,
    /// Level entries (`[[category]]` and `[[subcategory]]` in routing files).
    pub routing_levels: usize,
    /// Subcategories with keyword rules (`keywords/`; 0 without that directory). Details:
    /// [`KeywordRules::summary`].
    pub keyword_rules: usize,
}

impl fmt::Display for RulesSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} categories, {} subcategories ({} fast-track); routing: {} explicit rules, {} level entries",
            self.categories,
            self.subcategories,
            self.fast_tracks,
            self.routing_rules,
            self.routing_levels
        )?;
        if self.keyword_rules > 0 {
            write!(f, "; keywords: {} subcategories", self.keyword_rules)?;
        }
        Ok(())
    }
}
