//! One post prepared for cue matching and the model: the cleaned text, its words (each with
//! its lowercase form and, unless it is a stop word, the analyzer's stem), all the analyzer's
//! stems, and the shape features (question marks, phone numbers, links…).

use std::ops::Range;

use otklik_text::{Analyzers, CleanText, Lang, clean_text};

use crate::tokens::TokenList;

/// Only this many bytes of a post are looked at (cut at a character boundary).
pub(crate) const MAX_BYTES: usize = 16 * 1024;

/// The shape features computed from the text itself (not from the lexicon).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Feature {
    QuestionMark,
    Exclamations,
    Shouting,
    RepeatedChars,
    NoWords,
    VeryShort,
    Long,
    Links,
    LinksOnly,
    LinkDensity,
    Phone,
    Price,
    Percent,
    Date,
    Time,
    Mention,
    OfficialMention,
    ManyEmoji,
    ManyHashtags,
}

impl Feature {
    pub(crate) const ALL: [Feature; 19] = [
        Feature::QuestionMark,
        Feature::Exclamations,
        Feature::Shouting,
        Feature::RepeatedChars,
        Feature::NoWords,
        Feature::VeryShort,
        Feature::Long,
        Feature::Links,
        Feature::LinksOnly,
        Feature::LinkDensity,
        Feature::Phone,
        Feature::Price,
        Feature::Percent,
        Feature::Date,
        Feature::Time,
        Feature::Mention,
        Feature::OfficialMention,
        Feature::ManyEmoji,
        Feature::ManyHashtags,
    ];

    /// The name used in the lexicon file (`[features.NAME]`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Feature::QuestionMark => "question_mark",
            Feature::Exclamations => "exclamations",
            Feature::Shouting => "shouting",
            Feature::RepeatedChars => "repeated_chars",
            Feature::NoWords => "no_words",
            Feature::VeryShort => "very_short",
            Feature::Long => "long",
            Feature::Links => "links",
            Feature::LinksOnly => "links_only",
            Feature::LinkDensity => "link_density",
            Feature::Phone => "phone",
            Feature::Price => "price",
            Feature::Percent => "percent",
            Feature::Date => "date",
            Feature::Time => "time",
            Feature::Mention => "mention",
            Feature::OfficialMention => "official_mention",
            Feature::ManyEmoji => "many_emoji",
            Feature::ManyHashtags => "many_hashtags",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// One word of the cleaned text.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    /// Byte range in the cleaned text.
    pub span: Range<usize>,
    /// Lowercase, ё-folded form: a range in [`Analysis::buf`].
    pub exact: Range<usize>,
    /// The analyzer's stem, `None` for a stop word: a range in [`Analysis::buf`].
    pub stem: Option<Range<usize>>,
}

/// A post prepared for matching.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    pub clean: CleanText,
    pub lang: Option<Lang>,
    /// Exact forms and stems, concatenated.
    pub buf: String,
    pub words: Vec<Word>,
    /// All stems the analyzer produced (main stems and abbreviation expansions), as ranges
    /// in `buf`, in order, each flagged `true` when it is a word's main stem.
    pub stems: Vec<(Range<usize>, bool)>,
    /// Number of words with a letter.
    pub letter_words: usize,
    /// Shape features that fired, by [`Feature::index`].
    pub features: [bool; Feature::ALL.len()],
}

impl Analysis {
    pub(crate) fn exact(&self, word: &Word) -> &str {
        self.buf.get(word.exact.clone()).unwrap_or("")
    }

    pub(crate) fn stem(&self, word: &Word) -> Option<&str> {
        word.stem.clone().and_then(|r| self.buf.get(r))
    }

    pub(crate) fn slice(&self, range: Range<usize>) -> &str {
        self.buf.get(range).unwrap_or("")
    }

    /// The text of words `from..to` as written.
    pub(crate) fn surface(&self, from: usize, to: usize) -> &str {
        let (Some(a), Some(b)) = (
            self.words.get(from),
            to.checked_sub(1).and_then(|i| self.words.get(i)),
        ) else {
            return "";
        };
        self.clean.text.get(a.span.start..b.span.end).unwrap_or("")
    }

    pub(crate) fn has(&self, f: Feature) -> bool {
        self.features[f.index()]
    }

    fn set(&mut self, f: Feature, on: bool) {
        self.features[f.index()] = on;
    }
}

/// `c.is_alphabetic()`, fast for ASCII and Russian letters.
#[inline]
fn is_letter(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' => true,
        // ASCII, and the punctuation and symbols common in posts («», —, №, arrows, …).
        '\0'..='\u{7f}'
        | '\u{a0}'..='\u{a9}'
        | '\u{ab}'..='\u{b4}'
        | '\u{b6}'..='\u{b9}'
        | '\u{bb}'..='\u{bf}'
        | '\u{2000}'..='\u{2bff}' => false,
        _ => c.is_alphabetic(),
    }
}

/// `c.is_uppercase()`, fast for ASCII and Russian letters.
#[inline]
fn is_upper(c: char) -> bool {
    match c {
        'A'..='Z' | 'А'..='Я' | 'Ё' => true,
        '\0'..='\u{7f}' | 'а'..='я' | 'ё' => false,
        _ => c.is_uppercase(),
    }
}

/// Cuts `raw` to at most [`MAX_BYTES`] at a character boundary.
pub(crate) fn truncate(raw: &str) -> &str {
    if raw.len() <= MAX_BYTES {
        return raw;
    }
    let mut end = MAX_BYTES;
    while end > 0 && !raw.is_char_boundary(end) {
        end -= 1;
    }
    raw.get(..end).unwrap_or("")
}

/// Cleans and analyses `raw`. `officials` are substrings of mention targets (lowercase) that
/// mark an official account.
pub(crate) fn analyze(raw: &str, analyzers: &Analyzers, officials: &[String]) -> Analysis {
    let clean = clean_text(truncate(raw));
    let tokens = TokenList::analyse(analyzers, &clean.text);
    analyze_tokens(clean, &tokens, officials)
}

/// [`analyze`] for a post already cleaned (from at most [`MAX_BYTES`] of raw text, see
/// [`truncate`]) and analysed with [`RU_ANALYZER`](otklik_text::RU_ANALYZER): the monitoring
/// pipeline analyses a post once for every detector.
pub(crate) fn analyze_tokens(
    clean: CleanText,
    tokens: &TokenList,
    officials: &[String],
) -> Analysis {
    let mut a = Analysis {
        clean,
        ..Analysis::default()
    };
    let stats = CharStats::scan(&a.clean.text);
    a.lang = Some(if stats.surely_russian() {
        Lang::Ru
    } else {
        otklik_text::detect(&a.clean.text).lang
    });
    tokenize_list(&mut a, tokens);
    shape(&mut a, &stats, officials);
    a
}

/// What one pass over the characters of the cleaned text finds.
#[derive(Debug, Default)]
pub(crate) struct CharStats {
    letters: usize,
    upper: usize,
    cyrillic: usize,
    /// ы, э: Russian (and Belarusian), never Ukrainian or Bulgarian.
    ru_only: usize,
    /// Cyrillic letters outside А–я, Ё (і ї є ґ ў, Serbian, Kazakh…).
    foreign_cyrillic: usize,
    non_cyrillic_letters: usize,
    questions: usize,
    exclamations: usize,
    repeated: bool,
    currency: bool,
    percent: bool,
    time: bool,
    dotted_date: bool,
    phone: bool,
}

impl CharStats {
    pub(crate) fn scan(text: &str) -> CharStats {
        let mut s = CharStats::default();
        let (mut run_char, mut run_len) = ('\0', 0usize);
        // Digits: the current run, the run before a `:` or `.` just seen.
        let mut digits = 0usize;
        let mut pending_colon: Option<usize> = None;
        let mut pending_dot: Option<usize> = None;
        let mut prev_nonspace_digit = false;
        // Phone numbers: runs of digits with at most two separators between digits.
        let (mut phone_digits, mut phone_dashes, mut phone_seps) = (0usize, 0usize, 0usize);
        for c in text.chars() {
            if let 'а'..='я' = c {
                // The common case, kept short: a lowercase Russian letter.
                s.cyrillic += 1;
                s.letters += 1;
                s.ru_only += usize::from(c == 'ы' || c == 'э');
                if c == run_char {
                    run_len += 1;
                    s.repeated |= run_len >= 5;
                } else {
                    run_char = c;
                    run_len = 1;
                }
                if digits > 0 {
                    s.time |= pending_colon.is_some() && digits == 2;
                    s.dotted_date |= pending_dot.is_some() && digits == 2;
                    digits = 0;
                }
                pending_colon = None;
                pending_dot = None;
                phone_digits = 0;
                phone_dashes = 0;
                phone_seps = 0;
                prev_nonspace_digit = false;
                continue;
            }
            match c {
                'ы' | 'э' | 'Ы' | 'Э' => {
                    s.cyrillic += 1;
                    s.ru_only += 1;
                }
                'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' => s.cyrillic += 1,
                '\u{400}'..='\u{52f}' => s.foreign_cyrillic += 1,
                'a'..='z' | 'A'..='Z' => s.non_cyrillic_letters += 1,
                '?' => s.questions += 1,
                '!' => s.exclamations += 1,
                '₽' | '$' | '€' => s.currency = true,
                '%' => s.percent = s.percent || prev_nonspace_digit,
                _ => {}
            }
            if is_letter(c) {
                s.letters += 1;
                s.upper += usize::from(is_upper(c));
            }
            if c == run_char && !c.is_whitespace() && !c.is_ascii_digit() {
                run_len += 1;
                s.repeated = s.repeated || run_len >= 5;
            } else {
                run_char = c;
                run_len = 1;
            }
            if c.is_ascii_digit() {
                digits += 1;
            } else {
                // A run of digits ended: was it the `mm` of `hh:mm` or of `dd.mm`?
                if digits > 0 {
                    if pending_colon.take().is_some() && digits == 2 && c != ':' {
                        s.time = true;
                    }
                    if pending_dot.take().is_some() && digits == 2 {
                        s.dotted_date = true;
                    }
                }
                pending_colon = (c == ':' && (1..=2).contains(&digits)).then_some(digits);
                pending_dot = (c == '.' && (1..=2).contains(&digits)).then_some(digits);
                digits = 0;
            }
            if c.is_ascii_digit() {
                phone_digits += 1;
                phone_seps = 0;
            } else if matches!(c, ' ' | '-' | '(' | ')' | '+' | '\u{2010}'..='\u{2012}')
                && phone_seps < 2
                && (phone_digits > 0 || c == '+' || c == '(')
            {
                phone_seps += 1;
                phone_dashes += usize::from(c == '-');
            } else {
                phone_digits = 0;
                phone_dashes = 0;
                phone_seps = 0;
            }
            s.phone = s.phone
                || (10..=12).contains(&phone_digits)
                || (phone_digits >= 6 && phone_dashes >= 2);
            if !c.is_whitespace() {
                prev_nonspace_digit = c.is_ascii_digit();
            }
        }
        if digits == 2 {
            s.time = s.time || pending_colon.is_some();
            s.dotted_date = s.dotted_date || pending_dot.is_some();
        }
        s
    }

    /// A fast path around [`otklik_text::detect`] for the common case: mostly Cyrillic
    /// letters, with ы or э (never Ukrainian or Bulgarian) and none of the letters of
    /// Ukrainian, Belarusian or other Cyrillic alphabets. Anything else is left to `detect`.
    pub(crate) fn surely_russian(&self) -> bool {
        self.ru_only > 0
            && self.foreign_cyrillic == 0
            && self.cyrillic >= 10
            && self.non_cyrillic_letters * 5 < self.cyrillic
    }
}

/// Splits the text into words: the analyzer's tokens (with their stems) and, in the gaps
/// between them, the stop words it dropped (split the way its tokenizer splits: on every
/// character that is not a letter or a digit).
#[cfg(test)]
pub(crate) fn tokenize(a: &mut Analysis, analyzers: &Analyzers) {
    let tokens = TokenList::analyse(analyzers, &a.clean.text);
    tokenize_list(a, &tokens);
}

/// [`tokenize`] from the analyzer's tokens.
fn tokenize_list(a: &mut Analysis, tokens: &TokenList) {
    let text = a.clean.text.as_str();
    let mut buf = String::with_capacity(text.len() * 2 + 16);
    let mut words: Vec<Word> = Vec::with_capacity(text.len() / 6 + 4);
    let mut stems: Vec<(Range<usize>, bool)> = Vec::with_capacity(text.len() / 8 + 4);
    let mut last_position = usize::MAX;
    let mut covered = 0usize;
    for t in tokens.iter() {
        let start = buf.len();
        buf.push_str(t.text);
        let stem = start..buf.len();
        let is_main = t.position != last_position;
        last_position = t.position;
        stems.push((stem.clone(), is_main));
        if is_main && t.offset_from >= covered && t.offset_to <= text.len() {
            gap_words(text, covered, t.offset_from, &mut buf, &mut words);
            let start = buf.len();
            push_lower(text.get(t.offset_from..t.offset_to).unwrap_or(""), &mut buf);
            words.push(Word {
                span: t.offset_from..t.offset_to,
                exact: start..buf.len(),
                stem: Some(stem),
            });
            covered = t.offset_to;
        }
    }
    gap_words(text, covered, text.len(), &mut buf, &mut words);
    a.letter_words = words
        .iter()
        .filter(|w| {
            buf.get(w.exact.clone())
                .is_some_and(|e| e.chars().any(is_letter))
        })
        .count();
    a.buf = buf;
    a.words = words;
    a.stems = stems;
}

/// Longer runs of letters are not words (the analyzer's tokenizer drops them too).
const MAX_WORD_CHARS: usize = 64;

/// The words in `text[from..to]` (a gap between analyzer tokens: stop words).
fn gap_words(text: &str, from: usize, to: usize, buf: &mut String, words: &mut Vec<Word>) {
    let Some(gap) = text.get(from..to) else {
        return;
    };
    let mut start: Option<usize> = None;
    let mut chars = 0usize;
    for (i, c) in gap.char_indices().chain(std::iter::once((gap.len(), ' '))) {
        if is_alnum(c) {
            if start.is_none() {
                start = Some(i);
                chars = 0;
            }
            chars += 1;
        } else if let Some(s) = start.take()
            && chars <= MAX_WORD_CHARS
        {
            let b = buf.len();
            push_lower(gap.get(s..i).unwrap_or(""), buf);
            words.push(Word {
                span: from + s..from + i,
                exact: b..buf.len(),
                stem: None,
            });
        }
    }
}

/// `c.is_alphanumeric()`, fast for ASCII and Russian letters.
#[inline]
fn is_alnum(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' => true,
        '\0'..='\u{7f}' => false,
        _ => c.is_alphanumeric(),
    }
}

/// Pushes the lowercase, ё-folded form of `word`.
fn push_lower(word: &str, out: &mut String) {
    // Fast path: lowercase ASCII and lowercase Russian (UTF-8 lead bytes D0 with a
    // continuation from B0, or D1 followed by 80–8F: а–я; ё, D1 91, is folded below).
    let b = word.as_bytes();
    let plain = b.iter().enumerate().all(|(i, &x)| match x {
        b'A'..=b'Z' => false,
        0..=0x7f => true,
        0xd0 => b.get(i + 1).is_some_and(|&n| n >= 0xb0),
        0xd1 => b.get(i + 1).is_some_and(|&n| n <= 0x8f),
        0x80..=0xbf => true,
        _ => false,
    });
    if plain {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            'А'..='Я' => out.push(char::from_u32(u32::from(c) + 0x20).unwrap_or(c)),
            'Ё' | 'ё' => out.push('е'),
            '\0'..='\u{7f}' | 'а'..='я' => out.push(c),
            _ => out.extend(c.to_lowercase()),
        }
    }
}

const MONTHS: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn shape(a: &mut Analysis, stats: &CharStats, officials: &[String]) {
    // Word-based features.
    let mut price = stats.currency;
    let mut date = stats.dotted_date;
    for (i, w) in a.words.iter().enumerate() {
        let exact = a.buf.get(w.exact.clone()).unwrap_or("");
        if !is_number(exact) {
            continue;
        }
        let Some(next) = a.words.get(i + 1) else {
            continue;
        };
        let next = a.buf.get(next.exact.clone()).unwrap_or("");
        if next.starts_with("руб") || matches!(next, "р" | "тыс" | "тысяч" | "млн" | "т")
        {
            price = true;
        }
        if exact.len() <= 2 && MONTHS.contains(&next) {
            date = true;
        }
    }
    let words = a.letter_words;
    let urls = a.clean.urls.len();
    a.set(Feature::QuestionMark, stats.questions > 0);
    a.set(Feature::Exclamations, stats.exclamations >= 2);
    a.set(
        Feature::Shouting,
        stats.letters >= 12 && stats.upper * 10 >= stats.letters * 6,
    );
    a.set(Feature::RepeatedChars, stats.repeated);
    a.set(Feature::NoWords, words == 0);
    a.set(Feature::VeryShort, (1..=2).contains(&words));
    a.set(Feature::Long, words >= 40);
    a.set(Feature::Links, urls > 0);
    a.set(Feature::LinksOnly, urls > 0 && words <= 2);
    a.set(Feature::LinkDensity, urls >= 2 || (urls > 0 && words < 12));
    a.set(Feature::Phone, stats.phone);
    a.set(Feature::Price, price);
    a.set(Feature::Percent, stats.percent);
    a.set(Feature::Date, date);
    a.set(Feature::Time, stats.time);
    a.set(Feature::Mention, !a.clean.mentions.is_empty());
    let official = a.clean.mentions.iter().any(|m| {
        let m = m.to_lowercase();
        officials.iter().any(|o| m.contains(o.as_str()))
    });
    a.set(Feature::OfficialMention, official);
    a.set(Feature::ManyEmoji, a.clean.emoji_count >= 3);
    a.set(Feature::ManyHashtags, a.clean.hashtags.len() >= 3);
}
