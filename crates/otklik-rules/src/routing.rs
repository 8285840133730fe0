//! `routing.toml`: who answers a message by default (see the header of `rules/routing.toml`).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use otklik_domain::{CategoryId, CategoryTree, Subcategory, SubcategoryId};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::categories::{is_valid_category_id, is_valid_subcategory_id};
use crate::error::{Collector, Located, Origin, RulesError, origin_of};

/// Jurisdiction level: which kind of body answers messages of a category by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The ОМСУ of the message's territory (or of its nearest ancestor that has one).
    Municipal,
    /// The region's РОИВ whose competences contain the category.
    Regional,
    /// An institution of the territory with that competence (school, clinic), else regional.
    Institution,
}

impl Level {
    /// Every level.
    pub const ALL: &'static [Level] = &[Level::Municipal, Level::Regional, Level::Institution];

    /// The code used in `routing.toml`.
    pub fn code(self) -> &'static str {
        match self {
            Level::Municipal => "municipal",
            Level::Regional => "regional",
            Level::Institution => "institution",
        }
    }

    /// Russian label for people.
    pub fn label_ru(self) -> &'static str {
        match self {
            Level::Municipal => "муниципальный",
            Level::Regional => "региональный",
            Level::Institution => "учреждение",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .iter()
            .copied()
            .find(|l| l.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown level {s:?}, expected municipal, regional or institution")
            })
    }
}

/// What a level entry or an explicit rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleTarget {
    /// Every subcategory of a category.
    Category(CategoryId),
    /// One subcategory.
    Subcategory(SubcategoryId),
}

impl fmt::Display for RuleTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleTarget::Category(c) => write!(f, "category \"{c}\""),
            RuleTarget::Subcategory(s) => write!(f, "subcategory \"{s}\""),
        }
    }
}

/// The `[defaults]` table. Missing values mean «not set here» so that an overlay file can set
/// only what it changes; [`RoutingDefaults::level`] and friends give the effective values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingDefaults {
    /// Level of categories without an entry (effective default: municipal).
    pub level: Option<Level>,
    /// Whether the widget owner answers (effective default: true).
    pub by_place_of_submission: Option<bool>,
    /// Code of the region-level fallback organisation (e.g. the ЦУР); checked by the router.
    pub fallback_executor: Option<Located<String>>,
}

impl RoutingDefaults {
    /// Effective default level.
    pub fn level(&self) -> Level {
        self.level.unwrap_or(Level::Municipal)
    }

    /// Effective default of `by_place_of_submission`.
    pub fn by_place_of_submission(&self) -> bool {
        self.by_place_of_submission.unwrap_or(true)
    }
}

/// A `[[category]]` or `[[subcategory]]` entry: level and/or place-of-submission switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelEntry {
    /// What it applies to.
    pub target: RuleTarget,
    /// Jurisdiction level, when set.
    pub level: Option<Level>,
    /// Whether the widget owner may be the executor, when set.
    pub by_place_of_submission: Option<bool>,
    /// Where the entry's `id` is written.
    pub origin: Origin,
}

/// A `[[rule]]`: messages of `target` (in `territory` and below, or anywhere) go to `executor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitRule {
    /// What it applies to.
    pub target: RuleTarget,
    /// Where the target (`category` / `subcategory` value) is written.
    pub target_origin: Origin,
    /// Territory code; the rule covers the territory and everything inside it.
    pub territory: Option<Located<String>>,
    /// Organisation code of the executor.
    pub executor: Located<String>,
    /// Where the rule's `[[rule]]` header is written.
    pub origin: Origin,
}

/// Routing rules from one or more files (a generic `rules/routing.toml`, optionally overlaid by a
/// region's file). Organisation and territory codes are kept with their positions; the router
/// checks them against the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingRules {
    defaults: RoutingDefaults,
    entries: Vec<LevelEntry>,
    rules: Vec<ExplicitRule>,
    files: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    defaults: Option<RawDefaults>,
    #[serde(default)]
    category: Vec<RawEntry>,
    #[serde(default)]
    subcategory: Vec<RawEntry>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    level: Option<Level>,
    by_place_of_submission: Option<bool>,
    fallback_executor: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Spanned<String>,
    level: Option<Level>,
    by_place_of_submission: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    category: Option<Spanned<String>>,
    subcategory: Option<Spanned<String>>,
    territory: Option<Spanned<String>>,
    executor: Spanned<String>,
}

/// Reads a routing rules file (syntax and in-file checks; see [`RoutingRules::validate`] for
/// the check against the category tree).
pub fn load_routing_rules(path: impl AsRef<Path>) -> Result<RoutingRules, RulesError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse_routing_rules(&text, path)
}

/// Parses the text of a routing rules file; `file_name` is used in errors and kept in origins.
pub fn parse_routing_rules(
    text: &str,
    file_name: impl AsRef<Path>,
) -> Result<RoutingRules, RulesError> {
    let file = file_name.as_ref();
    let raw: RawFile = toml::from_str(text).map_err(|e| RulesError::from_toml(file, text, &e))?;
    let at = |span: std::ops::Range<usize>| origin_of(file, text, span);
    let located = |s: &Spanned<String>| Located {
        value: s.get_ref().trim().to_owned(),
        origin: at(s.span()),
    };
    let mut errs = Collector::default();

    let mut defaults = RoutingDefaults::default();
    if let Some(d) = raw.defaults {
        defaults.level = d.level;
        defaults.by_place_of_submission = d.by_place_of_submission;
        defaults.fallback_executor = d.fallback_executor.as_ref().map(located);
        if let Some(f) = &defaults.fallback_executor
            && f.value.is_empty()
        {
            errs.at(&f.origin, "empty fallback_executor");
        }
    }

    let mut entries = Vec::new();
    let mut entry_lines: HashMap<RuleTarget, usize> = HashMap::new();
    let kinds = [("category", raw.category), ("subcategory", raw.subcategory)];
    for (kind, list) in kinds {
        for e in list {
            let origin = at(e.id.span());
            let id = e.id.get_ref().trim().to_owned();
            let target = if kind == "category" {
                if !is_valid_category_id(&id) {
                    errs.at(&origin, format!("bad category id {id:?}"));
                }
                RuleTarget::Category(CategoryId(id))
            } else {
                if !is_valid_subcategory_id(&id) {
                    errs.at(&origin, format!("bad subcategory id {id:?}"));
                }
                RuleTarget::Subcategory(SubcategoryId(id))
            };
            if e.level.is_none() && e.by_place_of_submission.is_none() {
                errs.at(
                    &origin,
                    format!("[[{kind}]] entry for {target} sets neither level nor by_place_of_submission"),
                );
            }
            if let Some(first) = entry_lines.get(&target) {
                errs.at(
                    &origin,
                    format!("duplicate [[{kind}]] entry for {target} (first at line {first})"),
                );
                continue;
            }
            entry_lines.insert(target.clone(), origin.line);
            entries.push(LevelEntry {
                target,
                level: e.level,
                by_place_of_submission: e.by_place_of_submission,
                origin,
            });
        }
    }

    let mut rules = Vec::new();
    let mut rule_lines: HashMap<(RuleTarget, Option<String>), usize> = HashMap::new();
    for r in &raw.rule {
        let origin = at(r.span());
        let r = r.get_ref();
        let (target, target_origin) = match (&r.category, &r.subcategory) {
            (Some(c), None) => {
                let c = located(c);
                if !is_valid_category_id(&c.value) {
                    errs.at(&c.origin, format!("bad category id {:?}", c.value));
                }
                (RuleTarget::Category(CategoryId(c.value)), c.origin)
            }
            (None, Some(s)) => {
                let s = located(s);
                if !is_valid_subcategory_id(&s.value) {
                    errs.at(&s.origin, format!("bad subcategory id {:?}", s.value));
                }
                (RuleTarget::Subcategory(SubcategoryId(s.value)), s.origin)
            }
            _ => {
                errs.at(
                    &origin,
                    "a [[rule]] needs exactly one of `category` or `subcategory`",
                );
                continue;
            }
        };
        let territory = r.territory.as_ref().map(located);
        let executor = located(&r.executor);
        if executor.value.is_empty() {
            errs.at(&executor.origin, "empty executor");
        }
        if let Some(t) = &territory
            && t.value.is_empty()
        {
            errs.at(&t.origin, "empty territory");
        }
        let key = (target.clone(), territory.as_ref().map(|t| t.value.clone()));
        if let Some(first) = rule_lines.get(&key) {
            let place = key.1.as_ref().map_or_else(
                || "without territory".to_owned(),
                |t| format!("in territory \"{t}\""),
            );
            errs.at(
                &origin,
                format!("duplicate [[rule]] for {target} {place} (first at line {first})"),
            );
            continue;
        }
        rule_lines.insert(key, origin.line);
        rules.push(ExplicitRule {
            target,
            target_origin,
            territory,
            executor,
            origin,
        });
    }

    errs.finish()?;
    Ok(RoutingRules {
        defaults,
        entries,
        rules,
        files: vec![file.to_path_buf()],
    })
}

impl RoutingRules {
    /// The effective defaults.
    pub fn defaults(&self) -> &RoutingDefaults {
        &self.defaults
    }

    /// Level entries (`[[category]]`, `[[subcategory]]`), base file first, overlays after.
    pub fn level_entries(&self) -> &[LevelEntry] {
        &self.entries
    }

    /// Explicit rules, in priority order (an overlay's rules before the base file's).
    pub fn rules(&self) -> &[ExplicitRule] {
        &self.rules
    }

    /// Files the rules were read from, base first.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Laid over `self`: `other`'s defaults replace the values they set, its level entries win
    /// over `self`'s for the same target, its explicit rules come first.
    pub fn overlay(&mut self, other: RoutingRules) {
        let d = other.defaults;
        if d.level.is_some() {
            self.defaults.level = d.level;
        }
        if d.by_place_of_submission.is_some() {
            self.defaults.by_place_of_submission = d.by_place_of_submission;
        }
        if d.fallback_executor.is_some() {
            self.defaults.fallback_executor = d.fallback_executor;
        }
        self.entries.extend(other.entries);
        let mut rules = other.rules;
        rules.append(&mut self.rules);
        self.rules = rules;
        self.files.extend(other.files);
    }

    /// The entry value for a subcategory: its own entry, else its category's, else `None`.
    /// Later entries (overlays) win.
    fn lookup<T>(&self, sub: &Subcategory, get: impl Fn(&LevelEntry) -> Option<T>) -> Option<T> {
        let own = self.entries.iter().rev().find_map(|e| match &e.target {
            RuleTarget::Subcategory(id) if *id == sub.id => get(e),
            _ => None,
        });
        own.or_else(|| {
            self.entries.iter().rev().find_map(|e| match &e.target {
                RuleTarget::Category(id) if *id == sub.category => get(e),
                _ => None,
            })
        })
    }

    /// Jurisdiction level of a subcategory.
    pub fn level_for(&self, sub: &Subcategory) -> Level {
        self.lookup(sub, |e| e.level)
            .unwrap_or_else(|| self.defaults.level())
    }

    /// Whether the organisation whose widget received a message of this subcategory answers it.
    pub fn by_place_of_submission_for(&self, sub: &Subcategory) -> bool {
        self.lookup(sub, |e| e.by_place_of_submission)
            .unwrap_or_else(|| self.defaults.by_place_of_submission())
    }

    /// Checks every category and subcategory reference against the tree; reports all unknown
    /// ones with file:line.
    pub fn validate(&self, tree: &CategoryTree) -> Result<(), RulesError> {
        let mut errs = Collector::default();
        let mut check = |target: &RuleTarget, origin: &Origin, what: &str| {
            let known = match target {
                RuleTarget::Category(c) => tree.category(c).is_some(),
                RuleTarget::Subcategory(s) => tree.subcategory(s).is_some(),
            };
            if !known {
                errs.at(origin, format!("{what} refers to unknown {target}"));
            }
        };
        for e in &self.entries {
            let what = match e.target {
                RuleTarget::Category(_) => "[[category]] entry",
                RuleTarget::Subcategory(_) => "[[subcategory]] entry",
            };
            check(&e.target, &e.origin, what);
        }
        for r in &self.rules {
            check(&r.target, &r.target_origin, "[[rule]]");
        }
        errs.finish()
    }
}

/// Loads a rules file and, on success, validates it against `tree`, collecting errors.
pub(crate) fn load_and_validate(
    path: &Path,
    tree: Option<&CategoryTree>,
    errs: &mut Collector,
) -> Option<RoutingRules> {
    let rules = errs.merge(load_routing_rules(path))?;
    if let Some(tree) = tree {
        errs.merge(rules.validate(tree))?;
    }
    Some(rules)
}
