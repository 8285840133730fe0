//! Territory detection: which territory of the region a post or an appeal is about, from the
//! toponyms it mentions in any grammatical case, with the source's own territory (the
//! community's municipality) as the prior.
//!
//! A [`TerritoryDetector`] is built from the territory list ([`TerritoryEntry`]: code, kind,
//! name, parent, variants — as the store or `territories.csv` holds them, see
//! [`read_territories`]) and an optional [`RegionDictionary`] (`dictionaries/<region>/`:
//! streets, microdistricts and small villages, demonyms, misspellings, ordinary words that are
//! also place names). [`TerritoryDetector::detect`] returns [`TerritoryMatch`]es, best first.
//!
//! How it works:
//!
//! - every dictionary word is inflected by a small paradigm generator («Северск» → «Северске»,
//!   «Кедровый» → «Кедровом», «Липки» → «Липок») and indexed under each form and each form's
//!   Snowball stem (`otklik_text::stem_word`, ё→е); a text word is looked up by its exact
//!   lowercase form, else by its stem, checked to start with the word's invariant part
//!   (Snowball gives «Шелехов» → `шелех` but «Шелехова» → `шелехов`; both are indexed). Town
//!   names also index their adjective («Северский», «Волоковского»). Multi-word and hyphenated
//!   names («Нижние Липки», «Усть-Ледянск», «Каменск-Северный») match as word sequences;
//! - kind words are recognised with their abbreviations: «г.», «гор.», «пос.», «п.», «рп»,
//!   «пгт», «с.», «д.», «мкр», «ул.», «пр-т», «пер.», «р-н», «обл.»… A one-letter abbreviation
//!   needs its dot («с.» is a kind word, «с» a preposition; «д. 5» is a house);
//! - names that are also ordinary words (adjectives such as «Светлое», «Горный», words listed
//!   in `common-words.txt` such as «Ключи») need a cue: a kind word before them, or original
//!   capitalisation with a locative preposition («в Светлом») or in mid-sentence. Streets
//!   always need a cue: a street word («ул. Ленина», «Садовая улица»), or «на»/«по» or a house
//!   number after a capitalised name («на Ленина, 5»). A surname-shaped town name next to
//!   another capitalised word («Анна Волокова») is not taken;
//! - overlapping matches keep the longest («в Заречном районе» is the district, not the
//!   settlement Заречный); a name with several targets (a street in several towns) is resolved
//!   by the other toponyms of the text, then by the prior; alternatives left in one subtree
//!   collapse to their common ancestor;
//! - scores combine specificity (street > settlement, city district > town > district >
//!   region), the strength of the cue, agreement between toponyms, and agreement with the
//!   prior. With no toponym at all the prior itself is returned with a low score and the
//!   evidence `source territory`.
//!
//! ```
//! use otklik_classify::territory::{RegionDictionary, StreetEntry, StreetKind, TerritoryDetector, TerritoryEntry};
//! use otklik_domain::TerritoryKind;
//!
//! let t = |code: &str, kind, name: &str, parent: Option<&str>, variants: &[&str]| TerritoryEntry {
//!     code: code.into(),
//!     kind,
//!     name: name.into(),
//!     parent: parent.map(Into::into),
//!     variants: variants.iter().map(|v| v.to_string()).collect(),
//! };
//! let territories = vec![
//!     t("oblast", TerritoryKind::Region, "Северная область", None, &[]),
//!     t("seversk", TerritoryKind::UrbanOkrug, "Городской округ город Северск", Some("oblast"), &["Северск"]),
//!     t("volokov-district", TerritoryKind::MunicipalDistrict, "Волоковский муниципальный район", Some("oblast"), &["Волоковский район"]),
//!     t("volokov", TerritoryKind::Settlement, "город Волоков", Some("volokov-district"), &["Волоков"]),
//! ];
//! let mut dictionary = RegionDictionary::default();
//! for code in ["seversk", "volokov"] {
//!     dictionary.streets.push(StreetEntry {
//!         code: code.into(),
//!         kind: StreetKind::Street,
//!         name: "Ленина".into(),
//!         variants: vec![],
//!     });
//! }
//! let detector = TerritoryDetector::new(territories, &dictionary)?;
//!
//! let found = detector.detect("Опять нет воды в Волокове", None);
//! assert_eq!(found[0].code, "volokov");
//! assert_eq!(found[0].evidence, ["в Волокове"]);
//!
//! // «ул. Ленина» is in both towns: the source's territory decides.
//! let found = detector.detect("Яма на улице Ленина у школы", Some("seversk"));
//! assert_eq!(found[0].code, "seversk");
//! assert_eq!(found[0].street.as_deref(), Some("улица Ленина"));
//!
//! // Nothing found: the prior, with a low score.
//! let found = detector.detect("Спасибо за помощь!", Some("volokov"));
//! assert_eq!((found[0].code.as_str(), found[0].evidence[0].as_str()), ("volokov", "source territory"));
//! # Ok::<(), otklik_classify::ClassifyError>(())
//! ```

mod dict;
mod morph;

use std::cell::RefCell;
use std::path::Path;

use otklik_domain::TerritoryKind;

pub use dict::{
    AliasEntry, AliasKind, PlaceEntry, PlaceKind, RegionDictionary, StreetEntry, StreetKind,
    TerritoryEntry, read_territories, read_territories_from,
};

use crate::error::{ClassifyError, Result};
use morph::{FxMap, FxSet, Kind, Shape, Tokens};

/// A territory found in a text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TerritoryMatch {
    /// Territory code.
    pub code: String,
    /// The territory's official name.
    pub name: String,
    /// Confidence in `(0, 1]`; comparable between matches of one text. The prior alone scores
    /// [`PRIOR_ONLY_SCORE`].
    pub score: f32,
    /// The text spans that matched, with their preposition and kind word («в Северске», «на
    /// улице Ленина»); `["source territory"]` for the prior alone.
    pub evidence: Vec<String>,
    /// The street found, kind word first («улица Ленина»).
    pub street: Option<String>,
    /// The named place found that is not itself a listed territory («микрорайон Солнечный»,
    /// «деревня Нижние Липки»); `code` is the territory it belongs to.
    pub place: Option<String>,
}

/// The score of the prior returned alone (no toponym in the text).
pub const PRIOR_ONLY_SCORE: f32 = 0.1;
/// The evidence of the prior returned alone.
pub const PRIOR_EVIDENCE: &str = "source territory";

/// Special lemma ids: the kind words that may be part of a name.
const DISTRICT: u32 = 0;
const REGION: u32 = 1;
const CITY: u32 = 2;
const SPECIAL: u32 = 3;

#[derive(Debug)]
struct Lemma {
    /// What every form starts with (checked on the stem path).
    base: Box<str>,
    /// A one-letter abbreviation («В.» in «В. Ледянка»): needs its dot in the text.
    initial: bool,
    /// Makes a name distinctive (not an adjective, not a common word, not a bare short word).
    distinctive: bool,
    /// Looks like a surname («Волоков»).
    surname: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Territory(u32),
    Street(u32),
    Place(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Name,
    Derived,
    Demonym,
    Misspelling,
}

impl Class {
    fn factor(self) -> f32 {
        match self {
            Class::Name => 1.0,
            Class::Derived | Class::Demonym => 0.85,
            Class::Misspelling => 0.9,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    /// Has a distinctive word: matched without a cue.
    Strong,
    /// Ordinary words plus a kind word («Лесной район»): needs capitalisation.
    Kinded,
    /// Ordinary words only («Светлое», «Кедровый Бор»): needs a cue.
    Weak,
}

#[derive(Debug)]
struct Name {
    lemmas: Box<[u32]>,
    target: Target,
    class: Class,
    strength: Strength,
}

#[derive(Debug)]
struct Node {
    entry: TerritoryEntry,
    parent: Option<u32>,
    depth: u8,
}

#[derive(Debug)]
struct StreetInfo {
    code: u32,
    kind: StreetKind,
    label: String,
}

#[derive(Debug)]
struct PlaceInfo {
    code: u32,
    label: String,
}

/// Finds territories in texts; see the [module docs](self). Immutable once built; `detect`
/// takes `&self` and may be called from many threads.
#[derive(Debug)]
pub struct TerritoryDetector {
    nodes: Vec<Node>,
    by_code: FxMap<String, u32>,
    lemmas: Vec<Lemma>,
    /// Inflected form → lemmas.
    exact: FxMap<Box<str>, Box<[u32]>>,
    /// Snowball stem of a form → lemmas.
    stems: FxMap<Box<str>, Box<[u32]>>,
    /// First three letters of every stem: words outside are not stemmed.
    prefixes: FxSet<u64>,
    names: Vec<Name>,
    /// Lemma id → names starting with it.
    by_first: Vec<Box<[u32]>>,
    streets: Vec<StreetInfo>,
    places: Vec<PlaceInfo>,
}

/// Words that double as place names in any region (extended by `common-words.txt`).
const BUILTIN_COMMON_WORDS: &[&str] = &[
    "бор",
    "луг",
    "ключи",
    "ключ",
    "пристань",
    "заря",
    "мир",
    "липки",
    "каменка",
    "малиновка",
    "роща",
    "поляна",
    "гора",
    "горка",
    "озеро",
    "речка",
    "дубки",
    "березки",
    "сосны",
    "звезда",
    "победа",
    "рассвет",
    "восход",
    "маяк",
    "центр",
    "север",
    "юг",
    "восток",
    "запад",
    "лесок",
    "родник",
    "ручей",
    "слобода",
    "ледянка",
    "заречье",
    "мира",
    "искра",
];

impl TerritoryDetector {
    /// Builds a detector from the territory list and a region dictionary (use
    /// `&RegionDictionary::default()` for none). Fails on duplicate codes, unknown parent
    /// codes, cycles, and dictionary rows naming an unknown territory.
    pub fn new(territories: Vec<TerritoryEntry>, dictionary: &RegionDictionary) -> Result<Self> {
        Builder::build(territories, dictionary)
    }

    /// Reads the territory list from `territories_csv` ([`read_territories`]) and the region
    /// dictionary from `dictionary_dir` ([`RegionDictionary::load`]) if given.
    pub fn from_files(territories_csv: &Path, dictionary_dir: Option<&Path>) -> Result<Self> {
        let territories = read_territories(territories_csv)?;
        let dictionary = match dictionary_dir {
            Some(dir) => RegionDictionary::load(dir)?,
            None => RegionDictionary::default(),
        };
        Self::new(territories, &dictionary)
    }

    /// The territories, in input order.
    pub fn territories(&self) -> impl ExactSizeIterator<Item = &TerritoryEntry> {
        self.nodes.iter().map(|n| &n.entry)
    }

    /// The territory with `code`.
    pub fn territory(&self, code: &str) -> Option<&TerritoryEntry> {
        self.by_code
            .get(code)
            .and_then(|&i| self.nodes.get(i as usize))
            .map(|n| &n.entry)
    }

    /// True when `code` is `ancestor` or lies inside it. False for unknown codes.
    pub fn is_within(&self, code: &str, ancestor: &str) -> bool {
        match (self.by_code.get(code), self.by_code.get(ancestor)) {
            (Some(&c), Some(&a)) => self.is_ancestor_or_self(a, c),
            _ => false,
        }
    }

    /// The territories `text` is about, best first. `prior` is the code of the source's own
    /// territory (a community's municipality): matches inside it or around it score higher,
    /// an ambiguous street is resolved in it, and with no toponym in the text it is returned
    /// alone with score [`PRIOR_ONLY_SCORE`] and evidence [`PRIOR_EVIDENCE`]. An unknown
    /// prior is ignored. Never panics; texts are analysed as given (run
    /// `otklik_text::clean_text` on raw HTML first).
    pub fn detect(&self, text: &str, prior: Option<&str>) -> Vec<TerritoryMatch> {
        thread_local! {
            static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
        }
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.detect_with(text, prior, &mut s),
            Err(_) => self.detect_with(text, prior, &mut Scratch::default()),
        })
    }

    fn detect_with(&self, text: &str, prior: Option<&str>, s: &mut Scratch) -> Vec<TerritoryMatch> {
        let prior = prior.and_then(|p| self.by_code.get(p).copied());
        morph::tokenize(text, &mut s.tokens);
        self.lookup_all(s);
        self.find_candidates(s);
        let mentions = self.select(s, prior);
        let mut out = self.aggregate(text, &s.tokens, &mentions, prior);
        if out.is_empty()
            && let Some(p) = prior.and_then(|p| self.nodes.get(p as usize))
        {
            out.push(TerritoryMatch {
                code: p.entry.code.clone(),
                name: p.entry.name.clone(),
                score: PRIOR_ONLY_SCORE,
                evidence: vec![PRIOR_EVIDENCE.to_owned()],
                street: None,
                place: None,
            });
        }
        out
    }

    /// Fills the lemma candidates of every token.
    fn lookup_all(&self, s: &mut Scratch) {
        s.lemma_ids.clear();
        s.ranges.clear();
        for i in 0..s.tokens.toks.len() {
            let start = s.lemma_ids.len() as u32;
            match s.tokens.toks[i].kind {
                Some(Kind::District) => s.lemma_ids.push(DISTRICT),
                Some(Kind::Region) => s.lemma_ids.push(REGION),
                Some(Kind::City) => s.lemma_ids.push(CITY),
                _ => {}
            }
            let word = s.tokens.word(i);
            self.lookup(word, &mut s.lemma_ids);
            s.ranges.push((start, s.lemma_ids.len() as u32));
        }
    }

    fn lookup(&self, w: &str, out: &mut Vec<u32>) {
        if let Some(ids) = self.exact.get(w) {
            out.extend_from_slice(ids);
            return;
        }
        if w.len() < 8 {
            return; // fewer than four Cyrillic letters: the exact forms are all there is
        }
        match morph::prefix3(w) {
            Some(p) if self.prefixes.contains(&p) => {}
            _ => return,
        }
        let stem = otklik_text::stem_word(w);
        if let Some(ids) = self.stems.get(stem.as_str()) {
            for &id in ids.iter() {
                if let Some(l) = self.lemmas.get(id as usize)
                    && w.starts_with(&*l.base)
                    && w.len() <= l.base.len() + 10
                {
                    out.push(id);
                }
            }
        }
    }

    fn lemmas_of<'s>(&self, s: &'s Scratch, i: usize) -> &'s [u32] {
        s.ranges
            .get(i)
            .and_then(|&(a, b)| s.lemma_ids.get(a as usize..b as usize))
            .unwrap_or(&[])
    }

    fn lemma_fits(&self, lemma: u32, tok: &morph::Tok) -> bool {
        self.lemmas
            .get(lemma as usize)
            .is_some_and(|l| !l.initial || tok.dot_after)
    }

    /// Every name matching at every position that passes its context checks.
    fn find_candidates(&self, s: &mut Scratch) {
        let mut cands = std::mem::take(&mut s.cands);
        cands.clear();
        let n = s.tokens.toks.len();
        for i in 0..n {
            let first = self.lemmas_of(s, i);
            for &l in first {
                let Some(names) = self.by_first.get(l as usize) else {
                    continue;
                };
                if names.is_empty() || !self.lemma_fits(l, &s.tokens.toks[i]) {
                    continue;
                }
                for &ni in names.iter() {
                    let name = &self.names[ni as usize];
                    let len = name.lemmas.len();
                    if i + len > n {
                        continue;
                    }
                    let rest_ok = name.lemmas.iter().enumerate().skip(1).all(|(k, &lk)| {
                        let tok = &s.tokens.toks[i + k];
                        !tok.sent_start
                            && self.lemmas_of(s, i + k).contains(&lk)
                            && (lk < SPECIAL || self.lemma_fits(lk, tok))
                    });
                    if rest_ok && let Some(c) = self.accept(s, i, i + len, ni) {
                        cands.push(c);
                    }
                }
            }
        }
        s.cands = cands;
    }

    /// Context checks and match quality of name `ni` at tokens `i..j`.
    fn accept(&self, s: &Scratch, i: usize, j: usize, ni: u32) -> Option<Cand> {
        let t = &s.tokens;
        let toks = &t.toks;
        let name = &self.names[ni as usize];
        let first = &toks[i];
        // A kind word right before («ул. Ленина», «в посёлке Лесном»).
        // District and region words follow their name («Берёзовский район»); before a name
        // only the abbreviation «ГО» (городской округ) is a cue.
        let cue_before = i
            .checked_sub(1)
            .and_then(|p| toks.get(p).map(|tok| (p, tok)))
            .filter(|_| !first.sent_start)
            .and_then(|(p, tok)| match tok.kind {
                Some(Kind::District) => (t.word(p) == "го").then_some(Kind::District),
                Some(Kind::Region) => None,
                k => k,
            });
        let mut p = if cue_before.is_some() {
            i.checked_sub(1)
        } else {
            Some(i)
        };
        // «в рабочем посёлке Заречном»
        if cue_before.is_some()
            && let Some(pp) = p.and_then(|p| p.checked_sub(1))
            && t.word(pp).starts_with("рабоч")
            && !toks[pp + 1].sent_start
        {
            p = Some(pp);
        }
        let prep_idx = p.and_then(|p| {
            let q = p.checked_sub(1)?;
            (toks[q].prep && !toks[p].sent_start).then_some(q)
        });
        let ev_start = prep_idx.or(p).unwrap_or(i);
        let cap_reliable = t.cap_reliable();
        // Capitalised: every word of a name of ordinary words («Старая Пристань»), the first
        // word otherwise («Заречный муниципальный район»).
        let cap_all = cap_reliable
            && (first.cap || first.digit)
            && (name.strength != Strength::Weak
                || (i..j).all(|k| {
                    let lk = name.lemmas.get(k - i).copied().unwrap_or(0);
                    lk < SPECIAL || toks[k].cap || toks[k].digit
                }));
        let next = toks.get(j).filter(|n| !n.sent_start);
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        let single = j - i == 1;
        // The next word is capitalised: the name may be part of a longer one we do not know
        // («на Северном Кавказе», «Горный Алтай»).
        let next_cap =
            next.is_some_and(|n| n.cap && n.space_before && n.kind.is_none() && !n.digit);
        // A house number follows: an address.
        let house = next.is_some_and(|n| n.digit)
            || (next.is_some_and(|n| matches!(t.word(j), "д" | "дом") && !n.cap)
                && toks.get(j + 1).is_some_and(|n| n.digit));
        let mut ev_end = j;
        let (quality, cued) = match name.target {
            Target::Street(si) => {
                let street = &self.streets[si as usize];
                let after = next.and_then(|n| match n.kind {
                    Some(Kind::Street(k)) => Some(k),
                    _ => None,
                });
                let before = match cue_before {
                    Some(Kind::Street(k)) => Some(k),
                    _ => None,
                };
                if after.is_some() && before.is_none() {
                    ev_end = j + 1;
                }
                // «Северный проезд» vs «Северная улица»: an adjective agrees with the kind.
                let agree = match morph::adjective_gender(t.word(j - 1)) {
                    Some(g) if g != street.kind.gender() => 0.7,
                    _ => 1.0,
                };
                if let Some(k) = before.or(after) {
                    (agree * if k == street.kind { 1.0 } else { 0.7 }, true)
                } else {
                    let na_po = prep_idx.is_some_and(|q| matches!(t.word(q), "на" | "по"));
                    // «на 8 Марта» is a holiday, «на 8 Марта, 3» an address.
                    if !cap_all || !(house || (na_po && !first.digit)) || (single && next_cap) {
                        return None;
                    }
                    // Without a kind word, prefer a «улица» to a «переулок» of the same name.
                    let plain = if street.kind == StreetKind::Street {
                        1.0
                    } else {
                        0.98
                    };
                    (
                        agree * plain * if na_po && house { 0.9 } else { 0.8 },
                        false,
                    )
                }
            }
            Target::Territory(_) | Target::Place(_) => {
                // «в Солнечном микрорайоне», «в Лесном посёлке»: the kind word after.
                let cue_after = next
                    .and_then(|n| n.kind)
                    .filter(|k| k.is_locality() && self.cue_fits(*k, name.target));
                if cue_after.is_some() {
                    ev_end = j + 1;
                }
                let compatible = cue_before.is_some_and(|k| self.cue_fits(k, name.target))
                    || cue_after.is_some();
                if cue_before.is_some_and(|k| k.is_locality() || matches!(k, Kind::Street(_)))
                    && !compatible
                {
                    // «улица Заречная» is not the settlement Заречный; «Лесной район» is
                    // matched as a whole.
                    return None;
                }
                let prep = prep_idx.is_some();
                let ok = compatible
                    || match name.strength {
                        Strength::Strong => {
                            let surname = single
                                && self.lemmas[name.lemmas[0] as usize].surname
                                && !prep
                                && cap_reliable
                                && (next_cap
                                    || prev.is_some_and(|p| {
                                        p.cap && first.space_before && p.kind.is_none() && !p.prep
                                    }));
                            !surname
                        }
                        Strength::Kinded => cap_all || !cap_reliable,
                        Strength::Weak => {
                            let geo = next.is_some_and(|_| morph::is_geographic_noun(t.word(j)));
                            !geo && if cap_reliable {
                                cap_all && !(single && next_cap) && (prep || !first.sent_start)
                            } else {
                                prep
                            }
                        }
                    };
                if !ok {
                    return None;
                }
                let q = if compatible {
                    1.0
                } else if prep && cap_all {
                    0.95
                } else if prep {
                    0.9
                } else if cap_all {
                    0.85
                } else {
                    0.8
                };
                // «на Северной, 10» is more likely a street than a microdistrict.
                let q = if house && !compatible { q * 0.8 } else { q };
                (q, compatible)
            }
        };
        Some(Cand {
            i: i as u32,
            j: j as u32,
            name: ni,
            quality: quality * name.class.factor(),
            cued,
            ev_start: ev_start as u32,
            ev_end: ev_end as u32,
        })
    }

    /// Whether a kind word before a name fits its target.
    fn cue_fits(&self, kind: Kind, target: Target) -> bool {
        match target {
            Target::Street(_) => matches!(kind, Kind::Street(_)),
            Target::Place(_) => kind.is_locality(),
            Target::Territory(t) => {
                let tk = self.nodes[t as usize].entry.kind;
                match kind {
                    Kind::City | Kind::Settlement | Kind::Microdistrict => matches!(
                        tk,
                        TerritoryKind::Settlement
                            | TerritoryKind::UrbanOkrug
                            | TerritoryKind::CityDistrict
                    ),
                    Kind::District => matches!(
                        tk,
                        TerritoryKind::MunicipalDistrict | TerritoryKind::UrbanOkrug
                    ),
                    Kind::Region => tk == TerritoryKind::Region,
                    Kind::Street(_) => false,
                }
            }
        }
    }

    fn target_code(&self, target: Target) -> u32 {
        match target {
            Target::Territory(t) => t,
            Target::Street(s) => self.streets[s as usize].code,
            Target::Place(p) => self.places[p as usize].code,
        }
    }

    fn specificity(&self, target: Target) -> f32 {
        match target {
            Target::Street(_) => 0.8,
            Target::Place(_) => 0.75,
            Target::Territory(t) => match self.nodes[t as usize].entry.kind {
                TerritoryKind::Region => 0.35,
                TerritoryKind::MunicipalDistrict => 0.55,
                TerritoryKind::UrbanOkrug => 0.65,
                TerritoryKind::CityDistrict | TerritoryKind::Settlement => 0.7,
            },
        }
    }

    /// Keeps the longest non-overlapping matches, then resolves each into one or more
    /// mentions.
    fn select(&self, s: &mut Scratch, prior: Option<u32>) -> Vec<Mention> {
        let cands = &mut s.cands;
        cands.sort_by(|a, b| {
            (b.j - b.i)
                .cmp(&(a.j - a.i))
                .then(a.i.cmp(&b.i))
                .then(b.quality.total_cmp(&a.quality))
        });
        s.taken.clear();
        s.taken.resize(s.tokens.toks.len(), false);
        // Blocks of same-span alternatives, as ranges of `cands`.
        let mut blocks: Vec<(usize, usize)> = Vec::new();
        let mut k = 0;
        while k < cands.len() {
            let (i, j) = (cands[k].i as usize, cands[k].j as usize);
            let mut e = k + 1;
            while e < cands.len() && cands[e].i as usize == i && cands[e].j as usize == j {
                e += 1;
            }
            if s.taken.get(i..j).is_some_and(|t| t.iter().all(|x| !x)) {
                s.taken[i..j].iter_mut().for_each(|x| *x = true);
                blocks.push((k, e));
            }
            k = e;
        }
        blocks.sort_by_key(|&(k, _)| cands[k].i);

        // Alternatives per block: the best-quality tier, distinct codes.
        let mut options: Vec<Vec<(u32, &Cand)>> = Vec::with_capacity(blocks.len());
        for &(a, b) in &blocks {
            let block = &cands[a..b];
            let any_cued = block.iter().any(|c| c.cued);
            let best = block
                .iter()
                .filter(|c| c.cued || !any_cued)
                .map(|c| c.quality)
                .fold(0.0f32, f32::max);
            let mut alts: Vec<(u32, &Cand)> = Vec::new();
            for c in block {
                if (any_cued && !c.cued) || c.quality < best * 0.9 {
                    continue;
                }
                let code = self.target_code(self.names[c.name as usize].target);
                match alts.iter_mut().find(|(x, _)| *x == code) {
                    Some(alt) if alt.1.quality < c.quality => alt.1 = c,
                    Some(_) => {}
                    None => alts.push((code, c)),
                }
            }
            options.push(alts);
        }
        let context: Vec<u32> = options
            .iter()
            .filter(|o| o.len() == 1)
            .map(|o| o[0].0)
            .collect();

        let mut mentions = Vec::new();
        for alts in options {
            let n = alts.len();
            if n == 0 {
                continue;
            }
            if n == 1 {
                mentions.push(self.mention(alts[0].1, alts[0].0, 1.0));
                continue;
            }
            // Evidence for each alternative: other toponyms first, then the prior.
            let support = |code: u32| {
                let ctx = context
                    .iter()
                    .map(|&c| self.related(code, c))
                    .max()
                    .unwrap_or(0);
                let pr = prior.map_or(0, |p| self.related(code, p));
                u32::from(ctx) * 10 + u32::from(pr)
            };
            let best = alts.iter().map(|(c, _)| support(*c)).max().unwrap_or(0);
            let kept: Vec<&(u32, &Cand)> = if best > 0 {
                alts.iter().filter(|(c, _)| support(*c) == best).collect()
            } else {
                alts.iter().collect()
            };
            if let [only] = kept.as_slice() {
                mentions.push(self.mention(only.1, only.0, 1.0));
                continue;
            }
            let codes: Vec<u32> = kept.iter().map(|(c, _)| *c).collect();
            match self.lca(&codes) {
                Some(a) if self.nodes[a as usize].parent.is_some() => {
                    if let Some(first) = kept.first() {
                        mentions.push(self.mention(first.1, a, 0.9));
                    }
                }
                _ => {
                    let share = 1.0 / kept.len() as f32;
                    for (code, c) in kept {
                        mentions.push(self.mention(c, *code, share));
                    }
                }
            }
        }
        mentions
    }

    fn mention(&self, c: &Cand, code: u32, factor: f32) -> Mention {
        let name = &self.names[c.name as usize];
        Mention {
            code,
            score: self.specificity(name.target) * c.quality * factor,
            ev: (c.ev_start, c.ev_end),
            street: match name.target {
                Target::Street(s) => Some(s),
                _ => None,
            },
            place: match name.target {
                Target::Place(p) => Some(p),
                _ => None,
            },
        }
    }

    /// Merges mentions per territory, adds support from related mentions and the prior, and
    /// builds the output.
    fn aggregate(
        &self,
        text: &str,
        t: &Tokens,
        mentions: &[Mention],
        prior: Option<u32>,
    ) -> Vec<TerritoryMatch> {
        struct Agg {
            code: u32,
            score: f32,
            ev: Vec<(u32, u32)>,
            street: Option<u32>,
            place: Option<u32>,
        }
        let mut aggs: Vec<Agg> = Vec::new();
        for m in mentions {
            match aggs.iter_mut().find(|a| a.code == m.code) {
                Some(a) => {
                    a.score = 1.0 - (1.0 - a.score) * (1.0 - m.score);
                    a.ev.push(m.ev);
                    a.street = a.street.or(m.street);
                    a.place = a.place.or(m.place);
                }
                None => aggs.push(Agg {
                    code: m.code,
                    score: m.score,
                    ev: vec![m.ev],
                    street: m.street,
                    place: m.place,
                }),
            }
        }
        // Agreement between toponyms: a street's district and the town named beside it
        // support each other.
        let base: Vec<(u32, f32)> = aggs.iter().map(|a| (a.code, a.score)).collect();
        for a in &mut aggs {
            let support: f32 = base
                .iter()
                .filter(|(c, _)| *c != a.code && self.related(a.code, *c) >= 2)
                .map(|(_, s)| 0.1 * s)
                .sum();
            let prior_bonus = match prior.map(|p| self.related(a.code, p)) {
                Some(3 | 2) => 0.15,
                Some(1) => 0.05,
                _ => 0.0,
            };
            a.score = (a.score + support.min(0.2) + prior_bonus).clamp(0.0, 1.0);
        }
        aggs.sort_by(|x, y| {
            y.score
                .total_cmp(&x.score)
                .then(
                    self.nodes[y.code as usize]
                        .depth
                        .cmp(&self.nodes[x.code as usize].depth),
                )
                .then(x.code.cmp(&y.code))
        });
        aggs.into_iter()
            .filter_map(|a| {
                let node = self.nodes.get(a.code as usize)?;
                let mut evidence: Vec<String> = Vec::with_capacity(a.ev.len());
                for (s, e) in a.ev {
                    let span = match (t.toks.get(s as usize), t.toks.get(e as usize - 1)) {
                        (Some(s), Some(e)) => close_quote(text, s.start, e.end),
                        _ => "",
                    };
                    let span = collapse_spaces(span);
                    if !span.is_empty() && !evidence.contains(&span) {
                        evidence.push(span);
                    }
                }
                Some(TerritoryMatch {
                    code: node.entry.code.clone(),
                    name: node.entry.name.clone(),
                    score: a.score,
                    evidence,
                    street: a
                        .street
                        .and_then(|s| self.streets.get(s as usize))
                        .map(|s| s.label.clone()),
                    place: a
                        .place
                        .and_then(|p| self.places.get(p as usize))
                        .map(|p| p.label.clone()),
                })
            })
            .collect()
    }

    fn parent(&self, a: u32) -> Option<u32> {
        self.nodes.get(a as usize).and_then(|n| n.parent)
    }

    fn is_ancestor_or_self(&self, ancestor: u32, code: u32) -> bool {
        let mut cur = Some(code);
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self.parent(c);
        }
        false
    }

    /// 3: same territory; 2: one contains the other; 1: they share an ancestor below the
    /// region; 0: unrelated (or one of them is the region, which contains everything).
    fn related(&self, a: u32, b: u32) -> u8 {
        if a == b {
            return 3;
        }
        if self.parent(a).is_none() || self.parent(b).is_none() {
            return 0;
        }
        if self.is_ancestor_or_self(a, b) || self.is_ancestor_or_self(b, a) {
            return 2;
        }
        match self.lca(&[a, b]) {
            Some(l) if self.parent(l).is_some() => 1,
            _ => 0,
        }
    }

    /// The lowest common ancestor (or self) of `codes`.
    fn lca(&self, codes: &[u32]) -> Option<u32> {
        let (&first, rest) = codes.split_first()?;
        let mut cur = Some(first);
        while let Some(c) = cur {
            if rest.iter().all(|&r| self.is_ancestor_or_self(c, r)) {
                return Some(c);
            }
            cur = self.parent(c);
        }
        None
    }
}

/// `text[start..end]`, extended by a closing quote right after it when the span opens one
/// («мкр «Солнечный»»).
fn close_quote(text: &str, start: usize, end: usize) -> &str {
    let span = text.get(start..end).unwrap_or("");
    let opens = span
        .chars()
        .filter(|c| matches!(c, '«' | '„' | '“'))
        .count();
    let closes = span.chars().filter(|c| matches!(c, '»' | '”')).count();
    let straight = span.chars().filter(|&c| c == '"').count();
    let next = text.get(end..).and_then(|r| r.chars().next());
    match next {
        Some(c @ ('»' | '”')) if opens > closes => text.get(start..end + c.len_utf8()),
        Some('"') if straight % 2 == 1 => text.get(start..end + 1),
        _ => None,
    }
    .unwrap_or(span)
}

fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// A name matched at tokens `i..j`.
#[derive(Debug, Clone, Copy)]
struct Cand {
    i: u32,
    j: u32,
    name: u32,
    quality: f32,
    /// A kind word fitting the target is next to it.
    cued: bool,
    /// Evidence tokens (with the preposition and kind word).
    ev_start: u32,
    ev_end: u32,
}

/// One resolved mention of a territory.
#[derive(Debug, Clone, Copy)]
struct Mention {
    code: u32,
    score: f32,
    ev: (u32, u32),
    street: Option<u32>,
    place: Option<u32>,
}

/// Per-thread buffers of `detect`.
#[derive(Debug, Default)]
struct Scratch {
    tokens: Tokens,
    lemma_ids: Vec<u32>,
    ranges: Vec<(u32, u32)>,
    cands: Vec<Cand>,
    taken: Vec<bool>,
}

/// Builds the detector's indexes.
struct Builder {
    nodes: Vec<Node>,
    by_code: FxMap<String, u32>,
    common: FxSet<String>,
    lemmas: Vec<Lemma>,
    lemma_ids: FxMap<(String, u8), u32>,
    exact: FxMap<String, Vec<u32>>,
    stems: FxMap<String, Vec<u32>>,
    prefixes: FxSet<u64>,
    names: Vec<Name>,
    seen: FxSet<(Vec<u32>, Target)>,
    streets: Vec<StreetInfo>,
    places: Vec<PlaceInfo>,
    tokens: Tokens,
}

/// How a dictionary word is indexed.
const MODE_FORMS: u8 = 0;
const MODE_EXACT: u8 = 1;
const MODE_INITIAL: u8 = 2;

impl Builder {
    fn build(
        territories: Vec<TerritoryEntry>,
        dictionary: &RegionDictionary,
    ) -> Result<TerritoryDetector> {
        let mut b = Builder {
            nodes: Vec::with_capacity(territories.len()),
            by_code: FxMap::default(),
            common: FxSet::default(),
            lemmas: Vec::new(),
            lemma_ids: FxMap::default(),
            exact: FxMap::default(),
            stems: FxMap::default(),
            prefixes: FxSet::default(),
            names: Vec::new(),
            seen: FxSet::default(),
            streets: Vec::new(),
            places: Vec::new(),
            tokens: Tokens::default(),
        };
        for w in BUILTIN_COMMON_WORDS
            .iter()
            .copied()
            .chain(dictionary.common_words.iter().map(String::as_str))
        {
            b.common.insert(normalize(w));
        }
        // The special lemmas: kind words that may be part of a name.
        for _ in 0..SPECIAL {
            b.lemmas.push(Lemma {
                base: "".into(),
                initial: false,
                distinctive: false,
                surname: false,
            });
        }
        b.add_nodes(territories)?;
        b.add_territory_names();
        for a in &dictionary.aliases {
            let t = b.code(&a.code, || format!("alias «{}»", a.alias))?;
            let class = match a.kind {
                AliasKind::Name => Class::Name,
                AliasKind::Demonym => Class::Demonym,
                AliasKind::Misspelling => Class::Misspelling,
            };
            let derive = a.kind != AliasKind::Demonym;
            b.add_name(&a.alias, Target::Territory(t), class, derive);
        }
        for st in &dictionary.streets {
            let code = b.code(&st.code, || format!("street «{}»", st.name))?;
            let idx = b.streets.len() as u32;
            b.streets.push(StreetInfo {
                code,
                kind: st.kind,
                label: format!("{} {}", st.kind.label_ru(), st.name),
            });
            for n in std::iter::once(&st.name).chain(&st.variants) {
                b.add_name(n, Target::Street(idx), Class::Name, false);
            }
        }
        for pl in &dictionary.places {
            let code = b.code(&pl.code, || format!("place «{}»", pl.name))?;
            let idx = b.places.len() as u32;
            b.places.push(PlaceInfo {
                code,
                label: format!("{} {}", pl.kind.label_ru(), pl.name),
            });
            for n in std::iter::once(&pl.name).chain(&pl.variants) {
                b.add_name(n, Target::Place(idx), Class::Name, false);
            }
        }
        Ok(b.finish())
    }

    fn code(&self, code: &str, what: impl FnOnce() -> String) -> Result<u32> {
        self.by_code
            .get(code)
            .copied()
            .ok_or_else(|| ClassifyError::Territory {
                origin: what(),
                message: format!("unknown territory code `{code}`"),
            })
    }

    fn add_nodes(&mut self, territories: Vec<TerritoryEntry>) -> Result<()> {
        for (i, t) in territories.iter().enumerate() {
            if self.by_code.insert(t.code.clone(), i as u32).is_some() {
                return Err(ClassifyError::Territory {
                    origin: format!("territory `{}`", t.code),
                    message: "duplicate code".to_owned(),
                });
            }
        }
        for t in territories {
            let parent =
                match &t.parent {
                    Some(p) => Some(self.by_code.get(p).copied().ok_or_else(|| {
                        ClassifyError::Territory {
                            origin: format!("territory `{}`", t.code),
                            message: format!("unknown parent code `{p}`"),
                        }
                    })?),
                    None => None,
                };
            self.nodes.push(Node {
                entry: t,
                parent,
                depth: 0,
            });
        }
        for i in 0..self.nodes.len() {
            let mut depth = 0u8;
            let mut cur = self.nodes[i].parent;
            while let Some(c) = cur {
                depth += 1;
                if usize::from(depth) > self.nodes.len() || depth == u8::MAX {
                    return Err(ClassifyError::Territory {
                        origin: format!("territory `{}`", self.nodes[i].entry.code),
                        message: "parent codes form a cycle".to_owned(),
                    });
                }
                cur = self.nodes[c as usize].parent;
            }
            self.nodes[i].depth = depth;
        }
        Ok(())
    }

    fn add_territory_names(&mut self) {
        for i in 0..self.nodes.len() {
            let entry = &self.nodes[i].entry;
            let kind = entry.kind;
            let names: Vec<String> = std::iter::once(entry.name.clone())
                .chain(entry.variants.iter().cloned())
                .collect();
            let derive = matches!(kind, TerritoryKind::Settlement | TerritoryKind::UrbanOkrug);
            for n in names {
                self.add_name(&n, Target::Territory(i as u32), Class::Name, derive);
            }
        }
    }

    /// Adds a name (and, with `derive`, the adjective of a town name) for `target`.
    fn add_name(&mut self, text: &str, target: Target, class: Class, derive: bool) {
        let mut tokens = std::mem::take(&mut self.tokens);
        morph::tokenize(text, &mut tokens);
        let toks = &tokens.toks;
        let mut start = 0;
        let mut end = toks.len();
        let is_filler = |k: usize| {
            toks[k].kind.is_some_and(|k| !matches!(k, Kind::Street(_)))
                || morph::LEADING_FILLERS.contains(&tokens.word(k))
        };
        let is_street_word = |k: usize| matches!(toks[k].kind, Some(Kind::Street(_)));
        // Kind words around the name are cues in the text, not part of the name — unless
        // they are all there is («Набережная»).
        match target {
            Target::Street(_) => {
                while start + 1 < end && is_street_word(start) {
                    start += 1;
                }
                while end > start + 1 && is_street_word(end - 1) {
                    end -= 1;
                }
            }
            _ => {
                while start + 1 < end && is_filler(start) {
                    start += 1;
                }
            }
        }
        let mut lemmas = Vec::with_capacity(end - start);
        let mut words = Vec::with_capacity(end - start);
        for k in start..end {
            let tok = &toks[k];
            let word = tokens.word(k).to_owned();
            let id = match tok.kind {
                Some(Kind::District) => DISTRICT,
                Some(Kind::Region) => REGION,
                Some(Kind::City) => CITY,
                _ => {
                    let mode = if tok.digit || tok.acronym {
                        MODE_EXACT
                    } else if tok.dot_after && word.chars().count() == 1 {
                        MODE_INITIAL
                    } else if tok.dot_after && k + 1 == toks.len() {
                        MODE_EXACT // «Каменск-Сев.»
                    } else {
                        MODE_FORMS
                    };
                    self.lemma(&word, mode)
                }
            };
            lemmas.push(id);
            words.push(word);
        }
        self.tokens = tokens;
        if lemmas.iter().all(|&l| l < SPECIAL) {
            return;
        }
        let has_kind = lemmas.iter().any(|&l| l < SPECIAL);
        let distinctive = lemmas
            .iter()
            .any(|&l| l >= SPECIAL && self.lemmas[l as usize].distinctive);
        let strength = if class == Class::Demonym || distinctive {
            Strength::Strong
        } else if has_kind {
            Strength::Kinded
        } else {
            Strength::Weak
        };
        if derive
            && !has_kind
            && let (Some(&last), Some(word)) = (lemmas.last(), words.last())
            && self.lemmas[last as usize].distinctive
            && let Some(adj) = morph::derived_adjective(word)
        {
            let adj_id = self.lemma(&adj, MODE_FORMS);
            // «Берёзовский» is as distinctive as «Берёзовск», also inside «Берёзовский
            // район» (strengths are settled in `finish`, once every adjective is known).
            if let Some(l) = self.lemmas.get_mut(adj_id as usize) {
                l.distinctive = true;
            }
            let mut derived = lemmas.clone();
            if let Some(l) = derived.last_mut() {
                *l = adj_id;
            }
            self.push_name(derived, target, Class::Derived, Strength::Strong);
        }
        self.push_name(lemmas, target, class, strength);
    }

    fn push_name(&mut self, lemmas: Vec<u32>, target: Target, class: Class, strength: Strength) {
        if self.seen.insert((lemmas.clone(), target)) {
            self.names.push(Name {
                lemmas: lemmas.into_boxed_slice(),
                target,
                class,
                strength,
            });
        }
    }

    /// The id of a dictionary word, indexing its forms and stems on first sight.
    fn lemma(&mut self, word: &str, mode: u8) -> u32 {
        let key = (word.to_owned(), mode);
        if let Some(&id) = self.lemma_ids.get(&key) {
            return id;
        }
        let id = self.lemmas.len() as u32;
        let (forms, shape) = if mode == MODE_FORMS {
            morph::forms(word)
        } else {
            (vec![word.to_owned()], Shape::Exact)
        };
        let common = self.common.contains(word) || forms.iter().any(|f| self.common.contains(f));
        let distinctive = match shape {
            Shape::Noun => !common,
            Shape::Adjective => false,
            Shape::Exact => mode != MODE_FORMS || word.chars().count() >= 3,
        };
        let base = if shape == Shape::Exact {
            word.to_owned()
        } else {
            morph::common_prefix(&forms)
        };
        for f in &forms {
            self.exact.entry(f.clone()).or_default().push(id);
            if shape != Shape::Exact {
                let stem = otklik_text::stem_word(f);
                if stem.chars().count() >= 3 {
                    if let Some(p) = morph::prefix3(&stem) {
                        self.prefixes.insert(p);
                    }
                    let ids = self.stems.entry(stem).or_default();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        self.lemmas.push(Lemma {
            base: base.into(),
            initial: mode == MODE_INITIAL,
            distinctive,
            surname: shape == Shape::Noun && morph::surname_shaped(word),
        });
        self.lemma_ids.insert(key, id);
        id
    }

    fn finish(mut self) -> TerritoryDetector {
        for name in &mut self.names {
            if matches!(name.class, Class::Name | Class::Misspelling) {
                let distinctive = name.lemmas.iter().any(|&l| {
                    l >= SPECIAL && self.lemmas.get(l as usize).is_some_and(|l| l.distinctive)
                });
                let has_kind = name.lemmas.iter().any(|&l| l < SPECIAL);
                name.strength = if distinctive {
                    Strength::Strong
                } else if has_kind {
                    Strength::Kinded
                } else {
                    Strength::Weak
                };
            }
        }
        let mut by_first: Vec<Vec<u32>> = vec![Vec::new(); self.lemmas.len()];
        for (i, n) in self.names.iter().enumerate() {
            if let Some(&f) = n.lemmas.first()
                && let Some(v) = by_first.get_mut(f as usize)
            {
                v.push(i as u32);
            }
        }
        let boxed = |m: FxMap<String, Vec<u32>>| -> FxMap<Box<str>, Box<[u32]>> {
            m.into_iter()
                .map(|(k, mut v)| {
                    v.dedup();
                    (k.into_boxed_str(), v.into_boxed_slice())
                })
                .collect()
        };
        TerritoryDetector {
            nodes: self.nodes,
            by_code: self.by_code,
            lemmas: self.lemmas,
            exact: boxed(self.exact),
            stems: boxed(self.stems),
            prefixes: self.prefixes,
            names: self.names,
            by_first: by_first.into_iter().map(Vec::into_boxed_slice).collect(),
            streets: self.streets,
            places: self.places,
        }
    }
}

/// Lowercase, ё→е.
fn normalize(w: &str) -> String {
    w.trim().to_lowercase().replace('ё', "е")
}
