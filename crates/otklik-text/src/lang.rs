//! Language detection for posts: [`detect`], [`is_russian`].
//!
//! Statistical detectors (whatlang included) misread short Russian posts as Ukrainian,
//! Belarusian or Bulgarian, so the decision is taken **by letters first**:
//!
//! 1. No letters → [`Lang::Unknown`].
//! 2. Mostly Cyrillic:
//!    - `ў` → Belarusian; `ї є ґ` → Ukrainian; `і` → Ukrainian, or Belarusian when the text
//!      also has `ы`/`э` but no `и`/`щ`; letters of other Cyrillic alphabets (Serbian `ђ љ њ`,
//!      Kazakh `ә қ ң`, …) → [`Lang::Other`]. A letter counts only when it makes up at least 2 %
//!      of the Cyrillic letters, so one quoted word does not turn a Russian post Ukrainian.
//!    - Otherwise a short list of function words that exist in only one of the languages
//!      («дякую», «що», «це» / «дзякуй», «гэта» / «что», «когда», «это») decides.
//!    - Otherwise Russian; only for longer texts (≥ 30 letters) without any Russian-only letter
//!      (`ы э ъ`) is whatlang asked, and only its reliable «Bulgarian/Serbian/Macedonian» answer
//!      is taken (as [`Lang::Other`]).
//! 3. Mostly Latin: English function words → [`Lang::En`]; else whatlang (English →
//!    [`Lang::En`], another language reliably → [`Lang::Other`]); else plain ASCII → English with
//!    low confidence, letters with diacritics → [`Lang::Other`].
//! 4. Mostly another script → [`Lang::Other`].
//!
//! Only the first 4096 characters are looked at. Non-Russian posts are to be flagged by the
//! callers, never dropped.

use std::sync::LazyLock;

/// A detected language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Russian.
    Ru,
    /// Ukrainian.
    Uk,
    /// Belarusian.
    Be,
    /// English.
    En,
    /// Some other language (another Cyrillic or Latin language, another script).
    Other,
    /// No letters to judge by.
    Unknown,
}

impl Lang {
    /// A short code: `ru`, `uk`, `be`, `en`, `other`, `unknown`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::Uk => "uk",
            Lang::Be => "be",
            Lang::En => "en",
            Lang::Other => "other",
            Lang::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// What decided a [`Detection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetectedBy {
    /// Letters specific to a language (or a script).
    Letters,
    /// Function words specific to a language.
    Words,
    /// The statistical detector (whatlang).
    Statistics,
    /// Nothing decisive: the default for the script.
    Default,
}

/// The result of [`detect`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// The language.
    pub lang: Lang,
    /// Confidence in `0.0..=1.0`; `0.0` for [`Lang::Unknown`].
    pub confidence: f32,
    /// What decided.
    pub by: DetectedBy,
}

impl Detection {
    fn new(lang: Lang, confidence: f32, by: DetectedBy) -> Self {
        Self {
            lang,
            confidence: confidence.clamp(0.0, 1.0),
            by,
        }
    }
}

const MAX_CHARS: usize = 4096;
const WHATLANG_MAX_CHARS: usize = 2000;
const WHATLANG_MIN_CYRILLIC: usize = 30;

#[derive(Default)]
struct Counts {
    letters: usize,
    cyrillic: usize,
    latin: usize,
    latin_diacritic: usize,
    other_script: usize,
    /// ы э ъ: Russian (ы э also Belarusian), never Ukrainian.
    ru_letters: usize,
    /// ы э ё: Russian and Belarusian.
    ru_be_letters: usize,
    /// и щ: Russian and Ukrainian, never Belarusian.
    not_be_letters: usize,
    /// і: Ukrainian and Belarusian (and Kazakh).
    dotted_i: usize,
    /// ї є ґ.
    uk_letters: usize,
    /// ў.
    be_letters: usize,
    /// Letters of other Cyrillic alphabets.
    other_cyrillic: usize,
}

fn count(text: &str) -> Counts {
    let mut c = Counts::default();
    for ch in text.chars().take(MAX_CHARS) {
        if !crate::chars::is_alpha(ch) {
            continue;
        }
        c.letters += 1;
        let l = match ch {
            'А'..='Я' => char::from_u32(u32::from(ch) + 0x20).unwrap_or(ch),
            'A'..='Z' => ch.to_ascii_lowercase(),
            'а'..='я' | 'a'..='z' => ch,
            _ => ch.to_lowercase().next().unwrap_or(ch),
        };
        match l {
            'а'..='я' | 'ё' => {
                c.cyrillic += 1;
                match l {
                    'ъ' => c.ru_letters += 1,
                    'ы' | 'э' => {
                        c.ru_letters += 1;
                        c.ru_be_letters += 1;
                    }
                    'ё' => c.ru_be_letters += 1,
                    'и' | 'щ' => c.not_be_letters += 1,
                    _ => {}
                }
            }
            'і' => {
                c.cyrillic += 1;
                c.dotted_i += 1;
            }
            'ї' | 'є' | 'ґ' => {
                c.cyrillic += 1;
                c.uk_letters += 1;
            }
            'ў' => {
                c.cyrillic += 1;
                c.be_letters += 1;
            }
            '\u{0400}'..='\u{052F}'
            | '\u{1C80}'..='\u{1C8F}'
            | '\u{2DE0}'..='\u{2DFF}'
            | '\u{A640}'..='\u{A69F}' => {
                c.cyrillic += 1;
                c.other_cyrillic += 1;
            }
            'a'..='z' => c.latin += 1,
            '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' => {
                c.latin += 1;
                c.latin_diacritic += 1;
            }
            _ => c.other_script += 1,
        }
    }
    c
}

#[derive(Default)]
struct WordCounts {
    ru: usize,
    uk: usize,
    be: usize,
    en: usize,
}

const RU_WORDS: &[&str] = &[
    "и",
    "с",
    "из",
    "к",
    "что",
    "это",
    "как",
    "когда",
    "где",
    "или",
    "он",
    "она",
    "они",
    "был",
    "была",
    "было",
    "были",
    "есть",
    "будет",
    "спасибо",
    "пожалуйста",
    "здравствуйте",
    "почему",
    "который",
    "которые",
    "нужно",
    "надо",
    "уже",
    "только",
    "еще",
    "очень",
    "нет",
    "сделайте",
    "сколько",
];
const UK_WORDS: &[&str] = &[
    "дякую",
    "що",
    "це",
    "дуже",
    "або",
    "щоб",
    "вже",
    "ще",
    "ми",
    "ви",
    "немає",
    "треба",
    "як",
    "ласка",
];
const BE_WORDS: &[&str] = &[
    "дзякуй",
    "гэта",
    "гэты",
    "дзе",
    "што",
    "няма",
    "трэба",
    "як",
    "ласка",
    "вельмі",
];
const EN_WORDS: &[&str] = &[
    "the", "and", "is", "are", "was", "of", "to", "in", "you", "it", "this", "that", "for", "with",
    "when", "will", "please", "not", "what", "how", "why", "hello", "thanks", "thank", "there",
    "have", "has", "be", "on", "at", "my", "we", "road", "fix",
];

const RU: u8 = 1;
const UK: u8 = 2;
const BE: u8 = 4;
const EN: u8 = 8;

/// Marker word (lowercase, ё-folded) → the languages it marks.
static MARKERS: LazyLock<foldhash::HashMap<&'static str, u8>> = LazyLock::new(|| {
    let mut map = foldhash::HashMap::default();
    for (words, flag) in [
        (RU_WORDS, RU),
        (UK_WORDS, UK),
        (BE_WORDS, BE),
        (EN_WORDS, EN),
    ] {
        for word in words {
            *map.entry(*word).or_insert(0) |= flag;
        }
    }
    map
});

fn count_words(text: &str) -> WordCounts {
    let mut w = WordCounts::default();
    let mut buf = String::new();
    let limited = prefix_chars(text, MAX_CHARS);
    for word in limited.split(|c: char| !crate::chars::is_alpha(c)) {
        // Marker words are 1 to 12 letters (at most 24 bytes).
        if word.is_empty() || word.len() > 24 {
            continue;
        }
        buf.clear();
        for c in word.chars() {
            crate::chars::push_lower_folded(c, &mut buf);
        }
        if let Some(&flags) = MARKERS.get(buf.as_str()) {
            w.ru += usize::from(flags & RU != 0);
            w.uk += usize::from(flags & UK != 0);
            w.be += usize::from(flags & BE != 0);
            w.en += usize::from(flags & EN != 0);
        }
    }
    w
}

/// The first `n` characters of `text`.
fn prefix_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((i, _)) => text.get(..i).unwrap_or(text),
        None => text,
    }
}

static CYRILLIC_DETECTOR: LazyLock<whatlang::Detector> = LazyLock::new(|| {
    whatlang::Detector::with_allowlist(vec![
        whatlang::Lang::Rus,
        whatlang::Lang::Ukr,
        whatlang::Lang::Bel,
        whatlang::Lang::Bul,
        whatlang::Lang::Srp,
        whatlang::Lang::Mkd,
    ])
});

/// Detects the language of `text` (raw or cleaned), letters first; see the module docs.
///
/// ```
/// use otklik_text::{Lang, detect};
/// assert_eq!(detect("Когда починят дорогу?").lang, Lang::Ru);
/// assert_eq!(detect("Дякую").lang, Lang::Uk);
/// assert_eq!(detect("Дзякуй").lang, Lang::Be);
/// assert_eq!(detect("When will the road be fixed?").lang, Lang::En);
/// assert_eq!(detect("🙂 123").lang, Lang::Unknown);
/// ```
pub fn detect(text: &str) -> Detection {
    let c = count(text);
    if c.letters == 0 {
        return Detection::new(Lang::Unknown, 0.0, DetectedBy::Default);
    }
    let share = |n: usize| n as f32 / c.letters as f32;
    if c.other_script > c.cyrillic && c.other_script > c.latin {
        return Detection::new(Lang::Other, share(c.other_script), DetectedBy::Letters);
    }
    if c.cyrillic >= c.latin {
        detect_cyrillic(text, &c)
    } else {
        detect_latin(text, &c)
    }
}

fn detect_cyrillic(text: &str, c: &Counts) -> Detection {
    let min = (c.cyrillic / 50).max(1);
    if c.other_cyrillic >= min && c.other_cyrillic >= c.uk_letters + c.be_letters {
        return Detection::new(Lang::Other, 0.8, DetectedBy::Letters);
    }
    if c.be_letters >= min {
        return Detection::new(Lang::Be, 0.95, DetectedBy::Letters);
    }
    if c.uk_letters >= min {
        return Detection::new(Lang::Uk, 0.95, DetectedBy::Letters);
    }
    if c.dotted_i >= min {
        if c.ru_be_letters > 0 && c.not_be_letters == 0 {
            return Detection::new(Lang::Be, 0.9, DetectedBy::Letters);
        }
        if c.ru_letters == 0 {
            return Detection::new(Lang::Uk, 0.85, DetectedBy::Letters);
        }
    }
    let w = count_words(text);
    if w.uk > w.ru && w.uk > w.be {
        return Detection::new(Lang::Uk, 0.75, DetectedBy::Words);
    }
    if w.be > w.ru && w.be > w.uk {
        return Detection::new(Lang::Be, 0.75, DetectedBy::Words);
    }
    if c.ru_letters > 0 {
        return Detection::new(Lang::Ru, 0.95, DetectedBy::Letters);
    }
    if w.ru > 0 {
        return Detection::new(Lang::Ru, 0.9, DetectedBy::Words);
    }
    if c.cyrillic >= WHATLANG_MIN_CYRILLIC
        && let Some(info) = CYRILLIC_DETECTOR.detect(prefix_chars(text, WHATLANG_MAX_CHARS))
    {
        let confidence = info.confidence() as f32;
        match info.lang() {
            whatlang::Lang::Bul | whatlang::Lang::Srp | whatlang::Lang::Mkd
                if info.is_reliable() =>
            {
                return Detection::new(Lang::Other, confidence, DetectedBy::Statistics);
            }
            whatlang::Lang::Rus => {
                return Detection::new(Lang::Ru, confidence.max(0.7), DetectedBy::Statistics);
            }
            _ => {}
        }
    }
    let by_length = 0.5 + (c.cyrillic as f32 / 100.0).min(0.3);
    Detection::new(Lang::Ru, by_length, DetectedBy::Default)
}

fn detect_latin(text: &str, c: &Counts) -> Detection {
    let w = count_words(text);
    if w.en > 0 && c.latin_diacritic * 20 <= c.latin {
        let confidence = 0.7 + 0.1 * (w.en as f32).min(3.0);
        return Detection::new(Lang::En, confidence, DetectedBy::Words);
    }
    if let Some(info) = whatlang::detect(prefix_chars(text, WHATLANG_MAX_CHARS)) {
        let confidence = info.confidence() as f32;
        if info.lang() == whatlang::Lang::Eng {
            return Detection::new(Lang::En, confidence, DetectedBy::Statistics);
        }
        if info.is_reliable() {
            return Detection::new(Lang::Other, confidence, DetectedBy::Statistics);
        }
    }
    if c.latin_diacritic == 0 {
        Detection::new(Lang::En, 0.4, DetectedBy::Default)
    } else {
        Detection::new(Lang::Other, 0.5, DetectedBy::Default)
    }
}

/// True when [`detect`] says Russian.
pub fn is_russian(text: &str) -> bool {
    detect(text).lang == Lang::Ru
}
