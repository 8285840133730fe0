//! `categories.toml`: the unified category tree.

use std::collections::HashMap;
use std::path::Path;

use otklik_domain::{Category, CategoryId, CategoryTree, FastTrack, Subcategory, SubcategoryId};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{Collector, Origin, RulesError, origin_of};

/// Review deadline of a subcategory that does not set `deadline_days`.
pub const DEFAULT_DEADLINE_DAYS: u16 = 30;

/// Largest accepted `deadline_days`.
pub const MAX_DEADLINE_DAYS: u16 = 365;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    category: Vec<Spanned<RawCategory>>,
    #[serde(default)]
    subcategory: Vec<Spanned<RawSubcategory>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: Spanned<String>,
    name: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubcategory {
    id: Spanned<String>,
    category: Spanned<String>,
    name: Spanned<String>,
    deadline_days: Option<Spanned<i64>>,
    fast_track_days: Option<Spanned<i64>>,
}

/// True for a valid category id: ASCII lowercase letter, then `[a-z0-9_]`, at most 64 bytes.
pub fn is_valid_category_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// True for a valid subcategory id: `<category id>.<slug>`, both parts valid category-id syntax.
pub fn is_valid_subcategory_id(id: &str) -> bool {
    id.split_once('.')
        .is_some_and(|(c, s)| is_valid_category_id(c) && is_valid_category_id(s))
}

/// Reads and validates a category tree file.
///
/// Errors name the file as given in `path`, with line and column.
pub fn load_category_tree(path: impl AsRef<Path>) -> Result<CategoryTree, RulesError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse_category_tree(&text, path)
}

/// Parses and validates the text of a category tree file; `file_name` is used in errors.
///
/// Syntax errors stop at the first one; all validation errors are reported together
/// ([`RulesError::Many`] when more than one).
pub fn parse_category_tree(
    text: &str,
    file_name: impl AsRef<Path>,
) -> Result<CategoryTree, RulesError> {
    let file = file_name.as_ref();
    let raw: RawFile = toml::from_str(text).map_err(|e| RulesError::from_toml(file, text, &e))?;
    let at = |span: std::ops::Range<usize>| origin_of(file, text, span);
    let mut errs = Collector::default();

    if raw.category.is_empty() {
        errs.at(&at(0..0), "no [[category]] defined");
    }

    // Categories.
    let mut categories = Vec::with_capacity(raw.category.len());
    let mut category_lines: HashMap<String, usize> = HashMap::new();
    let mut category_names: HashMap<String, usize> = HashMap::new();
    for c in &raw.category {
        let c = c.get_ref();
        let id_at = at(c.id.span());
        let id = c.id.get_ref();
        if !is_valid_category_id(id) {
            errs.at(
                &id_at,
                format!("bad category id {id:?}: expected ASCII lowercase [a-z][a-z0-9_]*"),
            );
        }
        if let Some(first) = category_lines.get(id.as_str()) {
            errs.at(
                &id_at,
                format!("duplicate category id {id:?} (first defined at line {first})"),
            );
            continue;
        }
        category_lines.insert(id.clone(), id_at.line);
        let name = c.name.get_ref().trim();
        let name_at = at(c.name.span());
        if name.is_empty() {
            errs.at(&name_at, format!("empty name of category {id:?}"));
        } else if let Some(first) = category_names.get(name) {
            errs.at(
                &name_at,
                format!("duplicate category name {name:?} (first used at line {first})"),
            );
        } else {
            category_names.insert(name.to_owned(), name_at.line);
        }
        categories.push(Category {
            id: CategoryId(id.clone()),
            name: name.to_owned(),
        });
    }

    // Subcategories.
    let mut subcategories = Vec::with_capacity(raw.subcategory.len());
    let mut sub_lines: HashMap<String, usize> = HashMap::new();
    let mut sub_names: HashMap<(String, String), usize> = HashMap::new();
    let mut children: HashMap<String, usize> = HashMap::new();
    for s in &raw.subcategory {
        let s = s.get_ref();
        let id_at = at(s.id.span());
        let id = s.id.get_ref();
        let parent = s.category.get_ref();
        let parent_at = at(s.category.span());

        if !is_valid_subcategory_id(id) {
            errs.at(
                &id_at,
                format!(
                    "bad subcategory id {id:?}: expected <category id>.<slug>, \
                     ASCII lowercase [a-z0-9_]"
                ),
            );
        } else if id
            .split_once('.')
            .is_some_and(|(prefix, _)| prefix != parent)
        {
            errs.at(
                &id_at,
                format!("subcategory id {id:?} must start with its category id \"{parent}.\""),
            );
        }
        if let Some(first) = sub_lines.get(id.as_str()) {
            errs.at(
                &id_at,
                format!("duplicate subcategory id {id:?} (first defined at line {first})"),
            );
            continue;
        }
        sub_lines.insert(id.clone(), id_at.line);

        if !category_lines.contains_key(parent.as_str()) {
            errs.at(
                &parent_at,
                format!("subcategory {id:?} refers to unknown category {parent:?}"),
            );
        }
        *children.entry(parent.clone()).or_default() += 1;

        let name = s.name.get_ref().trim();
        let name_at = at(s.name.span());
        if name.is_empty() {
            errs.at(&name_at, format!("empty name of subcategory {id:?}"));
        } else if let Some(first) = sub_names.get(&(parent.clone(), name.to_owned())) {
            errs.at(
                &name_at,
                format!(
                    "duplicate subcategory name {name:?} in category {parent:?} \
                     (first used at line {first})"
                ),
            );
        } else {
            sub_names.insert((parent.clone(), name.to_owned()), name_at.line);
        }

        let deadline = match &s.deadline_days {
            None => Some(DEFAULT_DEADLINE_DAYS),
            Some(d) => check_days(&mut errs, &at(d.span()), *d.get_ref(), id, "deadline_days"),
        };
        let fast_track = s.fast_track_days.as_ref().and_then(|f| {
            let f_at = at(f.span());
            let days = check_days(&mut errs, &f_at, *f.get_ref(), id, "fast_track_days")?;
            match deadline {
                Some(d) if days >= d => {
                    errs.at(
                        &f_at,
                        format!(
                            "fast_track_days ({days}) of subcategory {id:?} must be shorter \
                             than its deadline_days ({d})"
                        ),
                    );
                    None
                }
                _ => Some(FastTrack {
                    deadline_days: days,
                }),
            }
        });

        subcategories.push(Subcategory {
            id: SubcategoryId(id.clone()),
            category: CategoryId(parent.clone()),
            name: name.to_owned(),
            deadline_days: deadline.unwrap_or(DEFAULT_DEADLINE_DAYS),
            fast_track,
        });
    }

    for c in &raw.category {
        let id = c.get_ref().id.get_ref();
        if !children.contains_key(id.as_str()) && category_lines.contains_key(id.as_str()) {
            errs.at(
                &at(c.get_ref().id.span()),
                format!("category {id:?} has no subcategories"),
            );
        }
    }

    errs.finish()?;
    Ok(CategoryTree::new(categories, subcategories))
}

fn check_days(
    errs: &mut Collector,
    origin: &Origin,
    value: i64,
    id: &str,
    field: &str,
) -> Option<u16> {
    match u16::try_from(value) {
        Ok(d) if (1..=MAX_DEADLINE_DAYS).contains(&d) => Some(d),
        _ => {
            errs.at(
                origin,
                format!(
                    "{field} of subcategory {id:?} must be 1..={MAX_DEADLINE_DAYS}, got {value}"
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_syntax() {
        assert!(is_valid_category_id("roads"));
        assert!(is_valid_category_id("apartment_buildings2"));
        assert!(!is_valid_category_id(""));
        assert!(!is_valid_category_id("Roads"));
        assert!(!is_valid_category_id("2roads"));
        assert!(!is_valid_category_id("дороги"));
        assert!(is_valid_subcategory_id("roads.potholes"));
        assert!(!is_valid_subcategory_id("roads"));
        assert!(!is_valid_subcategory_id("roads.pot-holes"));
        assert!(!is_valid_subcategory_id("roads.a.b"));
        assert!(!is_valid_subcategory_id(".potholes"));
    }

    #[test]
    fn minimal_tree() {
        let text = "[[category]]\nid = \"roads\"\nname = \"Дороги\"\n\n\
                    [[subcategory]]\nid = \"roads.potholes\"\ncategory = \"roads\"\n\
                    name = \"Ямы\"\nfast_track_days = 3\n";
        let tree = parse_category_tree(text, "t.toml");
        let tree = tree.ok();
        let sub = tree
            .as_ref()
            .and_then(|t| t.subcategory(&SubcategoryId("roads.potholes".into())));
        assert_eq!(sub.map(|s| s.deadline_days), Some(DEFAULT_DEADLINE_DAYS));
        assert_eq!(sub.map(|s| s.effective_deadline_days()), Some(3));
    }
}
