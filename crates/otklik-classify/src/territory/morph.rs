//! Words for territory detection: a tokenizer that keeps what the detector needs (original
//! casing, dots after abbreviations, hyphens, sentence breaks), the kind words («улица»,
//! «пос.», «р-н»), prepositions, and a small generator of the inflected forms of a toponym.

use std::ops::Range;
use std::sync::LazyLock;

use super::dict::StreetKind;

pub(crate) use crate::hash::{FastMap as FxMap, FastSet as FxSet};

/// What a kind word says about the toponym next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// «район», «р-н», «округ», «МР», «ГО».
    District,
    /// «область», «обл.», «регион», «край».
    Region,
    /// «город», «г.», «гор.».
    City,
    /// «посёлок», «пос.», «п.», «рп», «пгт», «село», «с.», «деревня», «д.», «хутор», «СНТ».
    Settlement,
    /// «микрорайон», «мкр», «квартал».
    Microdistrict,
    /// «улица», «ул.», «проспект», «пр-т», «переулок», …
    Street(StreetKind),
}

impl Kind {
    /// A cue for a named locality (town, village, microdistrict).
    pub(crate) fn is_locality(self) -> bool {
        matches!(self, Kind::City | Kind::Settlement | Kind::Microdistrict)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dot {
    /// The word is a kind word with or without a dot after it.
    Optional,
    /// Only with a dot right after it («г.», «п.», «с.»): without one it is another word.
    Required,
    /// Like `Required`, and not before a number («д. 5» is a house).
    RequiredNotBeforeNumber,
}

/// Kind words: (normalized form, kind, dot rule).
const KIND_WORDS: &[(&str, Kind, Dot)] = {
    use Dot::{Optional as O, Required as R, RequiredNotBeforeNumber as N};
    use Kind::*;
    use StreetKind as S;
    &[
        ("район", District, O),
        ("района", District, O),
        ("районе", District, O),
        ("району", District, O),
        ("районом", District, O),
        ("районы", District, O),
        ("районов", District, O),
        ("районах", District, O),
        ("р-н", District, O),
        ("округ", District, O),
        ("округа", District, O),
        ("округе", District, O),
        ("округу", District, O),
        ("округом", District, O),
        ("мр", District, O),
        ("мо", District, O),
        ("го", District, O),
        ("область", Region, O),
        ("области", Region, O),
        ("областью", Region, O),
        ("обл", Region, O),
        ("регион", Region, O),
        ("региона", Region, O),
        ("регионе", Region, O),
        ("региону", Region, O),
        ("регионом", Region, O),
        ("край", Region, O),
        ("края", Region, O),
        ("крае", Region, O),
        ("город", City, O),
        ("города", City, O),
        ("городе", City, O),
        ("городу", City, O),
        ("городом", City, O),
        ("г", City, R),
        ("гор", City, R),
        ("поселок", Settlement, O),
        ("поселка", Settlement, O),
        ("поселке", Settlement, O),
        ("поселку", Settlement, O),
        ("поселком", Settlement, O),
        ("пос", Settlement, O),
        ("п", Settlement, R),
        ("пгт", Settlement, O),
        ("рп", Settlement, O),
        ("село", Settlement, O),
        ("села", Settlement, O),
        ("селе", Settlement, O),
        ("селу", Settlement, O),
        ("селом", Settlement, O),
        ("с", Settlement, R),
        ("деревня", Settlement, O),
        ("деревни", Settlement, O),
        ("деревне", Settlement, O),
        ("деревню", Settlement, O),
        ("деревней", Settlement, O),
        ("дер", Settlement, R),
        ("д", Settlement, N),
        ("хутор", Settlement, O),
        ("хуторе", Settlement, O),
        ("хутора", Settlement, O),
        ("станица", Settlement, O),
        ("станице", Settlement, O),
        ("станицы", Settlement, O),
        ("снт", Settlement, O),
        ("днт", Settlement, O),
        ("микрорайон", Microdistrict, O),
        ("микрорайона", Microdistrict, O),
        ("микрорайоне", Microdistrict, O),
        ("микрорайону", Microdistrict, O),
        ("микрорайоном", Microdistrict, O),
        ("мкр", Microdistrict, O),
        ("мкрн", Microdistrict, O),
        ("мкр-н", Microdistrict, O),
        ("квартал", Microdistrict, O),
        ("квартала", Microdistrict, O),
        ("квартале", Microdistrict, O),
        ("улица", Street(S::Street), O),
        ("улицы", Street(S::Street), O),
        ("улице", Street(S::Street), O),
        ("улицу", Street(S::Street), O),
        ("улицей", Street(S::Street), O),
        ("ул", Street(S::Street), O),
        ("проспект", Street(S::Avenue), O),
        ("проспекта", Street(S::Avenue), O),
        ("проспекте", Street(S::Avenue), O),
        ("проспекту", Street(S::Avenue), O),
        ("проспектом", Street(S::Avenue), O),
        ("пр-т", Street(S::Avenue), O),
        ("просп", Street(S::Avenue), O),
        ("пр", Street(S::Avenue), R),
        ("переулок", Street(S::Lane), O),
        ("переулка", Street(S::Lane), O),
        ("переулке", Street(S::Lane), O),
        ("переулку", Street(S::Lane), O),
        ("переулком", Street(S::Lane), O),
        ("пер", Street(S::Lane), O),
        ("бульвар", Street(S::Boulevard), O),
        ("бульвара", Street(S::Boulevard), O),
        ("бульваре", Street(S::Boulevard), O),
        ("бульвару", Street(S::Boulevard), O),
        ("б-р", Street(S::Boulevard), O),
        ("бул", Street(S::Boulevard), R),
        ("шоссе", Street(S::Highway), O),
        ("ш", Street(S::Highway), R),
        ("площадь", Street(S::Square), O),
        ("площади", Street(S::Square), O),
        ("площадью", Street(S::Square), O),
        ("пл", Street(S::Square), R),
        ("набережная", Street(S::Embankment), O),
        ("набережной", Street(S::Embankment), O),
        ("набережную", Street(S::Embankment), O),
        ("наб", Street(S::Embankment), O),
        ("проезд", Street(S::Passage), O),
        ("проезда", Street(S::Passage), O),
        ("проезде", Street(S::Passage), O),
        ("проезду", Street(S::Passage), O),
        ("пр-д", Street(S::Passage), O),
        ("тупик", Street(S::DeadEnd), O),
        ("тупике", Street(S::DeadEnd), O),
        ("тупика", Street(S::DeadEnd), O),
        ("аллея", Street(S::Alley), O),
        ("аллее", Street(S::Alley), O),
        ("аллеи", Street(S::Alley), O),
        ("аллею", Street(S::Alley), O),
        ("тракт", Street(S::Tract), O),
        ("тракте", Street(S::Tract), O),
        ("тракта", Street(S::Tract), O),
        ("тракту", Street(S::Tract), O),
    ]
};

static KIND_TABLE: LazyLock<FxMap<&'static str, (Kind, Dot)>> =
    LazyLock::new(|| KIND_WORDS.iter().map(|&(w, k, d)| (w, (k, d))).collect());

/// Prepositions that put a place name in a locative context («в Северске», «из Ольховки»).
const PREPOSITIONS: &[&str] = &[
    "в",
    "во",
    "на",
    "из",
    "изо",
    "по",
    "до",
    "под",
    "подо",
    "около",
    "возле",
    "у",
    "от",
    "ото",
    "к",
    "ко",
    "с",
    "со",
    "за",
    "через",
    "близ",
    "над",
    "при",
    "между",
    "вблизи",
    "вдоль",
    "напротив",
    "мимо",
];

/// Words dropped from the start of a dictionary name together with the kind words
/// («Городской округ город Северск», «рабочий посёлок Заречный»).
pub(crate) const LEADING_FILLERS: &[&str] = &[
    "городской",
    "рабочий",
    "сельское",
    "городское",
    "поселение",
    "муниципальное",
    "образование",
];

/// One word of a text or of a dictionary name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tok {
    /// Byte offsets of the word in the text.
    pub start: usize,
    pub end: usize,
    /// The lowercased, ё-folded word, as a range of the shared buffer.
    pub lower: Range<usize>,
    /// The first letter is uppercase.
    pub cap: bool,
    /// Every letter is uppercase and there are at least two («СЗР», «МР»).
    pub acronym: bool,
    /// A `.` follows immediately.
    pub dot_after: bool,
    /// Digits only.
    pub digit: bool,
    /// Starts a sentence (first word, or after `.!?…` or a line break, unless the previous
    /// word is an abbreviation).
    pub sent_start: bool,
    /// Only whitespace separates it from the previous word («Анна Волокова»).
    pub space_before: bool,
    /// The kind word this is, if any.
    pub kind: Option<Kind>,
    /// A locative preposition.
    pub prep: bool,
}

/// Words of a text, with the letters counts needed to tell whether casing is informative.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    pub buf: String,
    pub toks: Vec<Tok>,
    /// Uppercase and lowercase letters seen.
    pub upper: usize,
    pub lower: usize,
}

impl Tokens {
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.toks.clear();
        self.upper = 0;
        self.lower = 0;
    }

    /// The normalized word of token `i` (empty when out of range).
    #[inline]
    pub(crate) fn word(&self, i: usize) -> &str {
        self.toks
            .get(i)
            .and_then(|t| self.buf.get(t.lower.clone()))
            .unwrap_or("")
    }

    /// Casing carries information unless the text is mostly uppercase.
    pub(crate) fn cap_reliable(&self) -> bool {
        self.upper * 2 <= self.lower + 4
    }
}

#[inline]
fn is_word_char(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' => true,
        '\0'..='\x7F' => false,
        '\u{0300}'..='\u{036F}' | '\u{00AD}' => true,
        _ => c.is_alphanumeric(),
    }
}

#[inline]
fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}')
}

#[inline]
fn is_sentence_break(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '\n')
}

/// Splits `text` into words, filling `out` (cleared first).
pub(crate) fn tokenize(text: &str, out: &mut Tokens) {
    out.clear();
    let mut iter = text.char_indices().peekable();
    let mut gap_start = 0usize;
    // Whether the gap before the next word holds a sentence break / is a single hyphen / is a
    // single dot.
    while let Some(&(start, c)) = iter.peek() {
        if !is_word_char(c) {
            iter.next();
            continue;
        }
        let gap = text.get(gap_start..start).unwrap_or("");
        let lower_start = out.buf.len();
        let mut end = start;
        let mut first = true;
        let mut cap = false;
        let mut uppers = 0usize;
        let mut letters = 0usize;
        let mut digit = true;
        while let Some(&(i, c)) = iter.peek() {
            if !is_word_char(c) {
                break;
            }
            iter.next();
            end = i + c.len_utf8();
            match c {
                'а'..='я' | 'a'..='z' => {
                    out.buf.push(c);
                    letters += 1;
                    out.lower += 1;
                    digit = false;
                }
                'ё' => {
                    out.buf.push('е');
                    letters += 1;
                    out.lower += 1;
                    digit = false;
                }
                'А'..='Я' => {
                    out.buf
                        .push(char::from_u32(u32::from(c) + 0x20).unwrap_or(c));
                    cap |= first;
                    uppers += 1;
                    letters += 1;
                    digit = false;
                }
                'Ё' => {
                    out.buf.push('е');
                    cap |= first;
                    uppers += 1;
                    letters += 1;
                    digit = false;
                }
                'A'..='Z' => {
                    out.buf.push(c.to_ascii_lowercase());
                    cap |= first;
                    uppers += 1;
                    letters += 1;
                    digit = false;
                }
                '0'..='9' => out.buf.push(c),
                '\u{0300}'..='\u{036F}' | '\u{00AD}' => continue,
                _ => {
                    digit = false;
                    if c.is_uppercase() {
                        cap |= first;
                        uppers += 1;
                    }
                    letters += 1;
                    out.buf.extend(c.to_lowercase());
                }
            }
            first = false;
        }
        out.upper += uppers;
        let dot_after = text.get(end..).is_some_and(|r| r.starts_with('.'));
        out.toks.push(Tok {
            start,
            end,
            lower: lower_start..out.buf.len(),
            cap,
            acronym: uppers >= 2 && uppers == letters,
            dot_after,
            digit: digit && end > start,
            sent_start: out.toks.is_empty() || gap.chars().any(is_sentence_break),
            space_before: !gap.is_empty() && gap.chars().all(char::is_whitespace),
            kind: None,
            prep: false,
        });
        gap_start = end;
    }
    merge_abbreviations(text, out);
    classify(out);
}

/// Joins «р-н», «пр-т», «пр-д», «б-р», «мкр-н» (with their case endings) and «р.п.», «г.о.»
/// into single words.
fn merge_abbreviations(text: &str, t: &mut Tokens) {
    if t.toks.len() < 2 {
        return;
    }
    let mut i = 0;
    while i + 1 < t.toks.len() {
        let (a, b) = (&t.toks[i], &t.toks[i + 1]);
        let gap = text.get(a.end..b.start).unwrap_or("");
        let wa = t.buf.get(a.lower.clone()).unwrap_or("");
        let wb = t.buf.get(b.lower.clone()).unwrap_or("");
        let hyphen = gap.chars().count() == 1 && gap.chars().all(is_hyphen);
        let merged = if hyphen {
            match (wa, wb) {
                ("р", "н" | "не" | "на" | "ну" | "ном") => Some("р-н"),
                ("пр", "т" | "те" | "та" | "ту" | "том" | "кт" | "кте" | "кта") => {
                    Some("пр-т")
                }
                ("пр", "д" | "де" | "да" | "ду") => Some("пр-д"),
                ("б", "р" | "ре" | "ра" | "ру") => Some("б-р"),
                ("мкр", "н" | "не" | "на" | "ну") => Some("мкр-н"),
                _ => None,
            }
        } else if gap == "." {
            match (wa, wb) {
                ("р", "п") => Some("рп"),
                ("г", "о") => Some("го"),
                _ => None,
            }
        } else {
            None
        };
        if let Some(m) = merged {
            let start = t.buf.len();
            t.buf.push_str(m);
            let b_end = b.end;
            let b_dot = b.dot_after;
            let a = &mut t.toks[i];
            a.end = b_end;
            a.dot_after = b_dot;
            a.lower = start..t.buf.len();
            a.acronym = false;
            t.toks.remove(i + 1);
        }
        i += 1;
    }
}

/// Sets kind words, prepositions and sentence starts.
fn classify(t: &mut Tokens) {
    let table = &*KIND_TABLE;
    let preps: &FxSet<&str> = &PREPOSITION_SET;
    for i in 0..t.toks.len() {
        let word = t.buf.get(t.toks[i].lower.clone()).unwrap_or("");
        let next_digit = t.toks.get(i + 1).is_some_and(|n| n.digit);
        let tok = &t.toks[i];
        let kind = match table.get(word) {
            Some(&(k, Dot::Optional)) => Some(k),
            Some(&(k, Dot::Required)) if tok.dot_after => Some(k),
            Some(&(k, Dot::RequiredNotBeforeNumber)) if tok.dot_after && !next_digit => Some(k),
            _ => None,
        };
        // «п. Лесной» but «п» alone is a letter; a one-letter kind word needs its dot (table).
        let prep = kind.is_none() && preps.contains(word);
        let sent_start = tok.sent_start && {
            // After an abbreviation («ул.», «им.», «д.») the dot is not a sentence end.
            match i.checked_sub(1).and_then(|p| t.toks.get(p)) {
                Some(p) => {
                    let pw = t.buf.get(p.lower.clone()).unwrap_or("");
                    !(p.dot_after && (p.kind.is_some() || pw.chars().count() <= 2))
                }
                None => true,
            }
        };
        let tok = &mut t.toks[i];
        tok.kind = kind;
        tok.prep = prep;
        tok.sent_start = sent_start;
    }
}

static PREPOSITION_SET: LazyLock<FxSet<&'static str>> =
    LazyLock::new(|| PREPOSITIONS.iter().copied().collect());

/// How a dictionary word inflects, as far as the detector cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Only the exact form (numbers, acronyms, abbreviations, one- and two-letter words).
    Exact,
    /// An adjective («Кедровый», «Светлое», «Нижние») or a possessive in -ье («Рыбачье»): these
    /// are also ordinary words.
    Adjective,
    /// A noun.
    Noun,
}

const ADJ_NOM: &[&str] = &["ый", "ий", "ой", "ая", "яя", "ое", "ее", "ые", "ие"];
const ADJ: &[&str] = &[
    "ый", "ий", "ой", "ого", "его", "ому", "ему", "ым", "им", "ом", "ем", "ая", "яя", "ую", "юю",
    "ое", "ее", "ые", "ие", "ых", "их", "ыми", "ими",
];
const POSS: &[&str] = &[
    "ье", "ья", "ью", "ьи", "ьем", "ьего", "ьему", "ьим", "ьих", "ьей", "ьими",
];
const FEM_A: &[&str] = &["а", "ы", "и", "е", "у", "ой", "ою", "ам", "ами", "ах"];
const FEM_YA: &[&str] = &["я", "и", "е", "ю", "ей", "ею", "ям", "ями", "ях"];
const SOFT: &[&str] = &["ь", "и", "ью", "ей", "ям", "ями", "ях", "я", "ю", "ем", "е"];
const NEUT_O: &[&str] = &["о", "а", "у", "ом", "е"];
const PLURAL: &[&str] = &[
    "ы", "и", "ов", "ев", "ей", "ам", "ям", "ами", "ями", "ах", "ях",
];
const MASC: &[&str] = &[
    "", "а", "у", "ом", "ым", "е", "ы", "и", "ов", "ам", "ами", "ах",
];
const J: &[&str] = &["й", "я", "ю", "ем", "е", "и", "ев", "ям", "ями", "ях"];
const DEMONYM_PL: &[&str] = &["е", "", "ам", "ами", "ах"];

fn strip<'a>(w: &'a str, suffix: &str) -> &'a str {
    w.strip_suffix(suffix).unwrap_or(w)
}

fn with_endings(base: &str, endings: &[&str], out: &mut Vec<String>) {
    out.extend(endings.iter().map(|e| format!("{base}{e}")));
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'а' | 'е' | 'и' | 'о' | 'у' | 'ы' | 'э' | 'ю' | 'я')
}

/// The inflected forms of a normalized (lowercase, ё-folded) dictionary word and its shape.
/// The forms over-generate a little (every gender of an adjective); that is harmless, since
/// a form only ever leads back to this word.
pub(crate) fn forms(w: &str) -> (Vec<String>, Shape) {
    let n = w.chars().count();
    let mut out = Vec::with_capacity(24);
    let consonant_end = w
        .chars()
        .last()
        .is_some_and(|c| c.is_alphabetic() && !is_vowel(c));
    if n <= 1
        || (n == 2 && !(consonant_end && w.chars().any(is_vowel)))
        || !w.chars().any(char::is_alphabetic)
    {
        out.push(w.to_owned());
        return (out, Shape::Exact);
    }
    let last = w.chars().last().unwrap_or(' ');
    if n >= 5 && ADJ_NOM.iter().any(|e| w.ends_with(e)) {
        let base = w.get(..w.len() - "ый".len()).unwrap_or(w);
        with_endings(base, ADJ, &mut out);
        return (out, Shape::Adjective);
    }
    if n >= 5 && (w.ends_with("ье") || w.ends_with("ья")) {
        let base = w.get(..w.len() - "ье".len()).unwrap_or(w);
        with_endings(base, POSS, &mut out);
        return (out, Shape::Adjective);
    }
    if w.ends_with("ане") || w.ends_with("яне") {
        with_endings(strip(w, "е"), DEMONYM_PL, &mut out);
        return (out, Shape::Noun);
    }
    match last {
        'а' => with_endings(strip(w, "а"), FEM_A, &mut out),
        'я' => with_endings(strip(w, "я"), FEM_YA, &mut out),
        'ь' => with_endings(strip(w, "ь"), SOFT, &mut out),
        'о' => with_endings(strip(w, "о"), NEUT_O, &mut out),
        'й' => with_endings(strip(w, "й"), J, &mut out),
        'и' | 'ы' => {
            let base = w.get(..w.len() - last.len_utf8()).unwrap_or(w);
            with_endings(base, PLURAL, &mut out);
            // Genitive plural with a fleeting vowel: «Липки» → «Липок».
            let mut rev = base.chars().rev();
            if let (Some('к'), Some(prev)) = (rev.next(), rev.next())
                && !is_vowel(prev)
                && prev != 'й'
            {
                let stem = base.get(..base.len() - 'к'.len_utf8()).unwrap_or(base);
                out.push(format!("{stem}ок"));
                out.push(format!("{stem}ек"));
            }
        }
        'е' | 'у' | 'ю' | 'э' => out.push(w.to_owned()),
        _ => {
            with_endings(w, MASC, &mut out);
            // Fleeting vowel: «Лесок» → «Леска», «Бугорок» → «Бугорка».
            if n >= 4
                && let Some(stem) = w.strip_suffix("ок").or_else(|| w.strip_suffix("ек"))
            {
                with_endings(&format!("{stem}к"), &MASC[1..], &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    (out, Shape::Noun)
}

/// Grammatical gender, as far as street names need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gender {
    Feminine,
    /// Masculine or neuter.
    Other,
}

/// The gender an adjective form shows by its ending: «Северная», «Садовую» feminine;
/// «Северный», «Северного» masculine/neuter; `None` when the ending does not tell («Северной»
/// is feminine or masculine) or the word is not an adjective.
pub(crate) fn adjective_gender(w: &str) -> Option<Gender> {
    if w.chars().count() < 5 {
        return None;
    }
    if ["ая", "яя", "ую", "юю"].iter().any(|e| w.ends_with(e)) {
        Some(Gender::Feminine)
    } else if [
        "ый", "ий", "ого", "его", "ому", "ему", "ым", "им", "ом", "ем",
    ]
    .iter()
    .any(|e| w.ends_with(e))
    {
        Some(Gender::Other)
    } else {
        None
    }
}

/// Nouns after which an adjective is not a place name of ours («на Тихом океане», «Светлое
/// озеро»).
const GEOGRAPHIC_NOUNS: &[&str] = &[
    "океан",
    "океана",
    "океане",
    "океану",
    "море",
    "моря",
    "морю",
    "морем",
    "озеро",
    "озера",
    "озере",
    "озеру",
    "озером",
    "река",
    "реки",
    "реке",
    "реку",
    "рекой",
    "полюс",
    "полюса",
    "полюсе",
    "хребет",
    "хребта",
    "хребте",
    "залив",
    "залива",
    "заливе",
    "берег",
    "берега",
    "береге",
    "побережье",
    "побережья",
    "побережье",
    "федеральный",
    "федерального",
    "федеральном",
];

/// True for a noun of [`GEOGRAPHIC_NOUNS`].
pub(crate) fn is_geographic_noun(w: &str) -> bool {
    GEOGRAPHIC_NOUNS.contains(&w)
}

/// The adjective formed from a town's name: «Северск» → «северский», «Волоков» →
/// «волоковский». `None` for words that do not form one this regular way.
pub(crate) fn derived_adjective(w: &str) -> Option<String> {
    if w.chars().count() < 5 {
        return None;
    }
    if w.ends_with("ск") {
        Some(format!("{w}ий"))
    } else if ["ов", "ев", "ин", "ын"].iter().any(|e| w.ends_with(e)) {
        Some(format!("{w}ский"))
    } else {
        None
    }
}

/// True for a noun that looks like a Russian surname («Волоков», «Шелехов»): such a town name
/// next to a capitalised word is more likely a person.
pub(crate) fn surname_shaped(w: &str) -> bool {
    w.chars().count() >= 5 && ["ов", "ев", "ин", "ын"].iter().any(|e| w.ends_with(e))
}

/// The longest common prefix of `forms` (the part every form of the word starts with).
pub(crate) fn common_prefix(forms: &[String]) -> String {
    let Some(first) = forms.first() else {
        return String::new();
    };
    let mut len = first.len();
    for f in &forms[1..] {
        len = first
            .char_indices()
            .zip(f.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(len);
    }
    first.get(..len).unwrap_or("").to_owned()
}

/// The first three characters of a word packed into a number (for the stem prefilter);
/// `None` for shorter words.
#[inline]
pub(crate) fn prefix3(w: &str) -> Option<u64> {
    let mut c = w.chars();
    let (a, b, d) = (c.next()?, c.next()?, c.next()?);
    Some((u64::from(a) << 42) | (u64::from(b) << 21) | u64::from(d))
}
