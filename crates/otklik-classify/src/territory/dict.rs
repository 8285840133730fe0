//! The inputs of the territory detector: the territory list (as it comes from the store or
//! `territories.csv`) and the optional region dictionary (`dictionaries/<region>/`).

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use otklik_domain::TerritoryKind;
use otklik_domain::directory::NewTerritory;

use crate::error::{ClassifyError, Result};

/// One territory as the detector needs it: the plain form of a store row or a
/// `territories.csv` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerritoryEntry {
    /// Stable code (`seversk-okrug`).
    pub code: String,
    /// Level in the hierarchy.
    pub kind: TerritoryKind,
    /// Official name in the nominative («Городской округ город Северск»).
    pub name: String,
    /// Code of the enclosing territory; `None` for the region.
    pub parent: Option<String>,
    /// Other names people write («Северск», «г. Северск»); inflected forms are the
    /// detector's job.
    pub variants: Vec<String>,
}

impl From<NewTerritory> for TerritoryEntry {
    fn from(t: NewTerritory) -> Self {
        Self {
            code: t.code,
            kind: t.kind,
            name: t.name,
            parent: t.parent_code,
            variants: t.name_variants,
        }
    }
}

impl From<&NewTerritory> for TerritoryEntry {
    fn from(t: &NewTerritory) -> Self {
        Self::from(t.clone())
    }
}

/// The kind of a street, for the street dictionary and for the `street` of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreetKind {
    /// улица (ул.)
    Street,
    /// проспект (пр-т, просп.)
    Avenue,
    /// переулок (пер.)
    Lane,
    /// бульвар (б-р)
    Boulevard,
    /// шоссе (ш.)
    Highway,
    /// площадь (пл.)
    Square,
    /// набережная (наб.)
    Embankment,
    /// проезд (пр-д)
    Passage,
    /// тупик
    DeadEnd,
    /// аллея
    Alley,
    /// тракт
    Tract,
}

impl StreetKind {
    /// Every kind.
    pub const ALL: &'static [StreetKind] = &[
        Self::Street,
        Self::Avenue,
        Self::Lane,
        Self::Boulevard,
        Self::Highway,
        Self::Square,
        Self::Embankment,
        Self::Passage,
        Self::DeadEnd,
        Self::Alley,
        Self::Tract,
    ];

    /// The Russian word in the nominative («улица»), as used in the dictionary and in
    /// [`TerritoryMatch::street`](super::TerritoryMatch::street).
    pub fn label_ru(self) -> &'static str {
        match self {
            Self::Street => "улица",
            Self::Avenue => "проспект",
            Self::Lane => "переулок",
            Self::Boulevard => "бульвар",
            Self::Highway => "шоссе",
            Self::Square => "площадь",
            Self::Embankment => "набережная",
            Self::Passage => "проезд",
            Self::DeadEnd => "тупик",
            Self::Alley => "аллея",
            Self::Tract => "тракт",
        }
    }

    /// The grammatical gender of the kind word (adjective street names agree with it).
    pub(crate) fn gender(self) -> super::morph::Gender {
        match self {
            Self::Street | Self::Square | Self::Embankment | Self::Alley => {
                super::morph::Gender::Feminine
            }
            _ => super::morph::Gender::Other,
        }
    }

    fn abbreviations(self) -> &'static [&'static str] {
        match self {
            Self::Street => &["ул", "ул."],
            Self::Avenue => &["пр-т", "просп.", "пр."],
            Self::Lane => &["пер", "пер."],
            Self::Boulevard => &["б-р", "бул."],
            Self::Highway => &["ш."],
            Self::Square => &["пл."],
            Self::Embankment => &["наб."],
            Self::Passage => &["пр-д"],
            Self::DeadEnd | Self::Alley | Self::Tract => &[],
        }
    }
}

impl fmt::Display for StreetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_ru())
    }
}

impl FromStr for StreetKind {
    type Err = String;

    /// Accepts the Russian word («улица», «Проспект») or its abbreviation («ул.», «пр-т»).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let t = s.trim().to_lowercase().replace('ё', "е");
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.label_ru() == t || k.abbreviations().contains(&t.as_str()))
            .ok_or_else(|| format!("unknown street kind `{s}`"))
    }
}

/// A street of the region dictionary. The same name in several rows (several towns) is an
/// ambiguous street, resolved by the text's other toponyms and the source's territory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreetEntry {
    /// The territory the street is in (a settlement, a city district or a town's okrug).
    pub code: String,
    /// Kind.
    pub kind: StreetKind,
    /// Name as written after the kind word: «Ленина», «Садовая», «Карла Маркса».
    pub name: String,
    /// Other spellings («К. Маркса»).
    pub variants: Vec<String>,
}

/// The kind of a named place of the region dictionary that is not itself in the territory
/// list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaceKind {
    /// микрорайон (мкр)
    Microdistrict,
    /// квартал
    Quarter,
    /// посёлок (a village too small for the territory list, or part of a town)
    Settlement,
    /// село
    Village,
    /// деревня
    Hamlet,
    /// садоводческое товарищество (СНТ)
    Gardens,
}

impl PlaceKind {
    /// Every kind.
    pub const ALL: &'static [PlaceKind] = &[
        Self::Microdistrict,
        Self::Quarter,
        Self::Settlement,
        Self::Village,
        Self::Hamlet,
        Self::Gardens,
    ];

    /// The Russian word («микрорайон»), used in the dictionary and in
    /// [`TerritoryMatch::place`](super::TerritoryMatch::place).
    pub fn label_ru(self) -> &'static str {
        match self {
            Self::Microdistrict => "микрорайон",
            Self::Quarter => "квартал",
            Self::Settlement => "посёлок",
            Self::Village => "село",
            Self::Hamlet => "деревня",
            Self::Gardens => "СНТ",
        }
    }

    fn abbreviations(self) -> &'static [&'static str] {
        match self {
            Self::Microdistrict => &["мкр", "мкр.", "мкрн"],
            Self::Quarter => &["кв-л"],
            Self::Settlement => &["поселок", "пос.", "п."],
            Self::Village => &["с."],
            Self::Hamlet => &["д."],
            Self::Gardens => &["снт"],
        }
    }
}

impl fmt::Display for PlaceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_ru())
    }
}

impl FromStr for PlaceKind {
    type Err = String;

    /// Accepts the Russian word («микрорайон», «посёлок») or its abbreviation («мкр», «п.»).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let t = s.trim().to_lowercase();
        let folded = t.replace('ё', "е");
        Self::ALL
            .iter()
            .copied()
            .find(|k| {
                k.label_ru().to_lowercase() == t
                    || k.label_ru().to_lowercase().replace('ё', "е") == folded
                    || k.abbreviations().contains(&folded.as_str())
            })
            .ok_or_else(|| format!("unknown place kind `{s}`"))
    }
}

/// A named place of the region dictionary: a microdistrict, a small village, a gardening
/// partnership — anything people name that is not in the territory list. Found, it stands for
/// the territory `code` it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceEntry {
    /// The smallest listed territory the place is in.
    pub code: String,
    /// Kind.
    pub kind: PlaceKind,
    /// Name without the kind word: «Солнечный», «Нижние Липки».
    pub name: String,
    /// Other spellings.
    pub variants: Vec<String>,
}

/// How an extra name of a territory is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AliasKind {
    /// Another name, matched like the territory's own variants («Каменск»).
    Name,
    /// What the inhabitants are called («северчане», «северчанка»): matched in any casing and
    /// without a cue, scored a little lower than a name.
    Demonym,
    /// A common misspelling («Северьск»), scored a little lower than a name.
    Misspelling,
}

impl AliasKind {
    /// The code used in `aliases.csv`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Demonym => "demonym",
            Self::Misspelling => "misspelling",
        }
    }
}

impl FromStr for AliasKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "name" => Ok(Self::Name),
            "demonym" => Ok(Self::Demonym),
            "misspelling" => Ok(Self::Misspelling),
            other => Err(format!(
                "unknown alias kind `{other}` (name, demonym, misspelling)"
            )),
        }
    }
}

/// An extra name of a listed territory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasEntry {
    /// The territory.
    pub code: String,
    /// How the alias is used.
    pub kind: AliasKind,
    /// The alias in the nominative.
    pub alias: String,
}

/// The region dictionary: extra toponyms for one region, read from `dictionaries/<region>/`
/// (see that directory's README for the file formats). Every file is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionDictionary {
    /// `streets.csv`.
    pub streets: Vec<StreetEntry>,
    /// `places.csv`.
    pub places: Vec<PlaceEntry>,
    /// `aliases.csv`.
    pub aliases: Vec<AliasEntry>,
    /// `common-words.txt`: toponym words that are also ordinary words («ключи», «бор»); a
    /// name made only of such words (or of adjectives) needs a context cue.
    pub common_words: Vec<String>,
}

/// File names inside a region dictionary directory.
pub(crate) const STREETS_FILE: &str = "streets.csv";
pub(crate) const PLACES_FILE: &str = "places.csv";
pub(crate) const ALIASES_FILE: &str = "aliases.csv";
pub(crate) const COMMON_WORDS_FILE: &str = "common-words.txt";

impl RegionDictionary {
    /// Reads `streets.csv`, `places.csv`, `aliases.csv` and `common-words.txt` from `dir`; a
    /// missing file is empty, a missing directory an error. Errors name the file and line.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(ClassifyError::Io {
                path: dir.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "region dictionary directory not found",
                ),
            });
        }
        let mut d = Self::default();
        if let Some(text) = read_optional(&dir.join(STREETS_FILE))? {
            d.streets = parse_streets(text.as_bytes(), &dir.join(STREETS_FILE).display())?;
        }
        if let Some(text) = read_optional(&dir.join(PLACES_FILE))? {
            d.places = parse_places(text.as_bytes(), &dir.join(PLACES_FILE).display())?;
        }
        if let Some(text) = read_optional(&dir.join(ALIASES_FILE))? {
            d.aliases = parse_aliases(text.as_bytes(), &dir.join(ALIASES_FILE).display())?;
        }
        if let Some(text) = read_optional(&dir.join(COMMON_WORDS_FILE))? {
            d.common_words = parse_word_list(&text);
        }
        Ok(d)
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ClassifyError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// One word a line; `#` starts a comment; blank lines ignored.
fn parse_word_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads the territory list from a CSV file with the columns `code,kind,name,parent_code,
/// name_variants` (variants separated by `;`), the format of `demo/territories.csv`.
pub fn read_territories(path: &Path) -> Result<Vec<TerritoryEntry>> {
    let file = std::fs::File::open(path).map_err(|source| ClassifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    read_territories_from(file, &path.display())
}

/// [`read_territories`] from any reader; `origin` names it in errors.
pub fn read_territories_from(
    reader: impl Read,
    origin: &dyn fmt::Display,
) -> Result<Vec<TerritoryEntry>> {
    let rows = read_table(
        reader,
        origin,
        &[
            ("code", true),
            ("kind", true),
            ("name", true),
            ("parent_code", false),
            ("name_variants", false),
        ],
    )?;
    rows.into_iter()
        .map(|(line, f)| {
            let [code, kind, name, parent, variants] = f;
            let err = |message: String| ClassifyError::Territory {
                origin: format!("{origin}:{line}"),
                message,
            };
            if code.is_empty() || name.is_empty() {
                return Err(err("empty code or name".to_owned()));
            }
            let kind = kind
                .parse::<TerritoryKind>()
                .map_err(|e| err(e.to_string()))?;
            Ok(TerritoryEntry {
                code,
                kind,
                name,
                parent: Some(parent).filter(|p| !p.is_empty()),
                variants: split_list(&variants),
            })
        })
        .collect()
}

/// Parses `streets.csv`: `code,kind,name,variants`.
pub(crate) fn parse_streets(
    reader: impl Read,
    origin: &dyn fmt::Display,
) -> Result<Vec<StreetEntry>> {
    let rows = read_table(
        reader,
        origin,
        &[
            ("code", true),
            ("kind", true),
            ("name", true),
            ("variants", false),
        ],
    )?;
    rows.into_iter()
        .map(|(line, [code, kind, name, variants])| {
            let err = |message: String| ClassifyError::Territory {
                origin: format!("{origin}:{line}"),
                message,
            };
            if code.is_empty() || name.is_empty() {
                return Err(err("empty code or name".to_owned()));
            }
            let kind = if kind.is_empty() {
                StreetKind::Street
            } else {
                kind.parse().map_err(err)?
            };
            Ok(StreetEntry {
                code,
                kind,
                name,
                variants: split_list(&variants),
            })
        })
        .collect()
}

/// Parses `places.csv`: `code,kind,name,variants`.
pub(crate) fn parse_places(
    reader: impl Read,
    origin: &dyn fmt::Display,
) -> Result<Vec<PlaceEntry>> {
    let rows = read_table(
        reader,
        origin,
        &[
            ("code", true),
            ("kind", true),
            ("name", true),
            ("variants", false),
        ],
    )?;
    rows.into_iter()
        .map(|(line, [code, kind, name, variants])| {
            let err = |message: String| ClassifyError::Territory {
                origin: format!("{origin}:{line}"),
                message,
            };
            if code.is_empty() || name.is_empty() {
                return Err(err("empty code or name".to_owned()));
            }
            Ok(PlaceEntry {
                code,
                kind: kind.parse().map_err(err)?,
                name,
                variants: split_list(&variants),
            })
        })
        .collect()
}

/// Parses `aliases.csv`: `code,kind,alias`.
pub(crate) fn parse_aliases(
    reader: impl Read,
    origin: &dyn fmt::Display,
) -> Result<Vec<AliasEntry>> {
    let rows = read_table(
        reader,
        origin,
        &[("code", true), ("kind", true), ("alias", true)],
    )?;
    rows.into_iter()
        .map(|(line, [code, kind, alias])| {
            let err = |message: String| ClassifyError::Territory {
                origin: format!("{origin}:{line}"),
                message,
            };
            if code.is_empty() || alias.is_empty() {
                return Err(err("empty code or alias".to_owned()));
            }
            Ok(AliasEntry {
                code,
                kind: kind.parse().map_err(err)?,
                alias,
            })
        })
        .collect()
}

fn split_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads a headed CSV; returns, for every record, its line and the trimmed values of
/// `columns` in order (an optional column that is absent reads as empty). Lines starting with
/// `#` are comments.
fn read_table<const N: usize>(
    reader: impl Read,
    origin: &dyn fmt::Display,
    columns: &[(&str, bool); N],
) -> Result<Vec<(u64, [String; N])>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .comment(Some(b'#'))
        .from_reader(reader);
    let csv_err = |e: &csv::Error, fallback: u64| {
        let line = e.position().map_or(fallback, csv::Position::line);
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("expected {expected_len} fields, found {len}"),
            csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_owned(),
            _ => e.to_string(),
        };
        ClassifyError::Territory {
            origin: format!("{origin}:{line}"),
            message,
        }
    };
    let headers = rdr.headers().map_err(|e| csv_err(&e, 1))?.clone();
    let mut idx = [None; N];
    for (slot, (name, required)) in idx.iter_mut().zip(columns) {
        *slot = headers
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == *name);
        if slot.is_none() && *required {
            return Err(ClassifyError::Territory {
                origin: format!("{origin}:1"),
                message: format!("header has no column `{name}`"),
            });
        }
    }
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                line = record.position().map_or(line + 1, csv::Position::line);
                let values: [String; N] = std::array::from_fn(|k| {
                    idx[k]
                        .and_then(|c| record.get(c))
                        .unwrap_or("")
                        .trim()
                        .to_owned()
                });
                if values.iter().all(String::is_empty) {
                    continue;
                }
                out.push((line, values));
            }
            Err(e) => return Err(csv_err(&e, line + 1)),
        }
    }
    Ok(out)
}
