//! Cleaning of raw post text before analysis: [`clean_text`].
//!
//! The steps, in order:
//!
//! 1. **HTML**: tags stripped, `script`/`style`/comments dropped, character references decoded
//!    (`&nbsp;`, `&quot;`, `&#1071;`, `&#x44F;`); block tags (`<br>`, `</p>`, `<div>`, …) become
//!    line breaks. Broken markup is handled as a browser would; nothing panics.
//! 2. **Unicode**: NFC composition (so «й» and «ё» are single characters), then a targeted
//!    compatibility fold of the characters that are only *styled* letters and digits — full-width
//!    forms, ligatures (`ﬁ`), mathematical bold/italic letters used for "fancy" text, circled and
//!    super/subscript digits. Full NFKC is not applied because it would turn «№» into `No` and
//!    `™` into `TM`. Combining accents left after NFC (stress marks: «доро́га») are removed, as
//!    are soft hyphens, zero-width characters and control characters (NUL included).
//! 3. **ё → е** (and Ё → Е). Letter case is kept: lowercasing happens in the analyzer.
//! 4. **Links and names**: URLs (`http(s)://…`, `ftp://…`, `www.…`, and bare `host.tld/path`
//!    for common TLDs) are removed and collected in [`CleanText::urls`]; VK links
//!    `[id123|Имя]`, `[club1|Name]`, `[public1|…]`, `[event1|…]` and `[https://…|текст]` are
//!    reduced to their text (the target goes to `mentions` or `urls`); `@name` mentions become
//!    `name` (collected in `mentions`); e-mail addresses are left alone.
//! 5. **Hashtags** are split into lowercase words: `#ЯмыНаДорогах` → «ямы на дорогах»,
//!    `#дороги_северск` → «дороги северск», `#ЖКХСеверск` → «жкх северск»; a VK community
//!    suffix (`#новости@seversk`) is dropped. The tag as written (without `#` and suffix) is
//!    collected in `hashtags`.
//! 6. **Emoji** (pictographs, dingbats, flags, with their modifiers and joiners) are removed and
//!    counted in `emoji_count`; one ZWJ sequence or flag counts once.
//! 7. **Whitespace** runs collapse to one space, or to one `\n` when the run contained a line
//!    break; the result is trimmed.

mod html;

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// The result of [`clean_text`]: analysable text plus what was taken out of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanText {
    /// The cleaned text: plain, NFC, ё folded, no URLs or emoji, collapsed whitespace.
    pub text: String,
    /// URLs removed from the text, in order, as written (trailing punctuation trimmed).
    pub urls: Vec<String>,
    /// Mention targets, in order: `ivan_petrov` for `@ivan_petrov`, `id123` for `[id123|Имя]`.
    pub mentions: Vec<String>,
    /// Hashtags as written, without `#`: `ЯмыНаДорогах`.
    pub hashtags: Vec<String>,
    /// Number of emoji removed (a ZWJ sequence or a flag counts once).
    pub emoji_count: usize,
}

/// Cleans raw post text (plain or HTML) for analysis. Never panics, linear in the input.
///
/// ```
/// let clean = otklik_text::clean_text(
///     "Опять ямы!&nbsp;😡 <br>[id1|Иван], смотрите https://vk.com/wall-1_2 #ЯмыНаДорогах",
/// );
/// assert_eq!(clean.text, "Опять ямы!\nИван, смотрите ямы на дорогах");
/// assert_eq!(clean.urls, ["https://vk.com/wall-1_2"]);
/// assert_eq!(clean.mentions, ["id1"]);
/// assert_eq!(clean.hashtags, ["ЯмыНаДорогах"]);
/// assert_eq!(clean.emoji_count, 1);
/// ```
pub fn clean_text(raw: &str) -> CleanText {
    let decoded: Cow<'_, str> = if html::needs_html_pass(raw) {
        let mut out = String::with_capacity(raw.len());
        html::strip_html(raw, &mut out);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(raw)
    };
    let composed: Cow<'_, str> = if surely_nfc(&decoded) {
        decoded
    } else {
        match is_nfc_quick(decoded.chars()) {
            IsNormalized::Yes => decoded,
            _ => Cow::Owned(decoded.nfc().collect()),
        }
    };
    let mut scanner = Scanner::new(&composed);
    scanner.run();
    scanner.out
}

/// True when every character is one that is NFC on its own and never combines with a
/// neighbour (ASCII, Latin-1 and Latin Extended, basic Cyrillic, general punctuation, «№»,
/// emoji and their selectors): the common case, decided without tables.
fn surely_nfc(text: &str) -> bool {
    text.chars().all(is_surely_nfc)
}

fn is_surely_nfc(c: char) -> bool {
    matches!(c,
        '\0'..='\u{02FF}'
        | '\u{0400}'..='\u{0482}'
        | '\u{048A}'..='\u{04FF}'
        | '\u{2002}'..='\u{206F}'
        | '\u{2116}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{1F000}'..='\u{1FAFF}'
    )
}

/// Folds one character without looking at its neighbours: ё→е (Ё→Е); `None` for the
/// characters that are dropped inside words (combining accents, soft hyphen, zero-width
/// characters, variation selectors). Shared by [`clean_text`] and the analyzer.
pub(crate) fn fold_char(c: char) -> Option<char> {
    match c {
        'ё' => Some('е'),
        'Ё' => Some('Е'),
        '\u{0300}'..='\u{036F}'
        | '\u{00AD}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2060}'
        | '\u{FEFF}'
        | '\u{FE00}'..='\u{FE0F}' => None,
        _ => Some(c),
    }
}

/// Characters that are dropped without leaving a space.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'   // combining accents (stress marks)
        | '\u{00AD}'              // soft hyphen
        | '\u{200B}'..='\u{200F}' // zero-width space/joiners, direction marks
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{FEFF}'              // BOM
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{20E3}'              // combining keycap
        | '\u{E0000}'..='\u{E007F}' // tag characters (flag sequences)
        | '\u{1F3FB}'..='\u{1F3FF}' // skin-tone modifiers
    )
}

/// Pictographic characters counted and removed as emoji.
pub(crate) fn is_emoji(c: char) -> bool {
    matches!(c,
        '\u{1F000}'..='\u{1F0FF}'   // mahjong, dominoes, cards
        | '\u{1F18E}'               // 🆎
        | '\u{1F191}'..='\u{1F19A}' // 🆑…🆚
        | '\u{1F1E6}'..='\u{1F1FF}' // regional indicators (flags)
        | '\u{1F201}'..='\u{1F251}' // enclosed ideographic supplement
        | '\u{1F300}'..='\u{1F3FA}' // misc symbols and pictographs (up to skin tones)
        | '\u{1F400}'..='\u{1FAFF}' // pictographs, emoticons, transport, supplemental
        | '\u{2600}'..='\u{27BF}'   // misc symbols, dingbats
        | '\u{231A}' | '\u{231B}' | '\u{2328}' | '\u{23CF}'
        | '\u{23E9}'..='\u{23F3}' | '\u{23F8}'..='\u{23FA}'
        | '\u{2194}'..='\u{2199}' | '\u{21A9}' | '\u{21AA}'
        | '\u{2B05}'..='\u{2B07}' | '\u{2B1B}' | '\u{2B1C}' | '\u{2B50}' | '\u{2B55}'
        | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
    )
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Characters whose compatibility decomposition is a plain letter or digit in another style.
fn needs_compat_fold(c: char) -> bool {
    matches!(c,
        '\u{FF01}'..='\u{FF5E}'     // full-width ASCII
        | '\u{FB00}'..='\u{FB06}'   // Latin ligatures
        | '\u{1D400}'..='\u{1D7FF}' // mathematical alphanumerics
        | '\u{2460}'..='\u{24FF}'   // circled/parenthesised digits and letters
        | '\u{2070}'..='\u{209F}'   // superscripts and subscripts
        | '\u{00B2}' | '\u{00B3}' | '\u{00B9}'
    )
}

const URL_TLDS: &[&str] = &[
    "ru", "su", "com", "org", "net", "info", "me", "io", "cc", "be", "tv", "online", "site", "pro",
    "biz", "gov", "edu", "ly", "gl", "to",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gap {
    None,
    Space,
    Newline,
}

struct Scanner<'a> {
    src: &'a str,
    pos: usize,
    /// The character before `pos` in the source (' ' at the start).
    prev: char,
    out: CleanText,
    gap: Gap,
    /// Bare-domain URL checks are skipped until this byte (a failed check skips its whole run).
    no_url_until: usize,
    /// The last emoji was followed by a ZWJ: the next pictograph continues the same sequence.
    emoji_joined: bool,
    /// The previous character was an unpaired regional indicator.
    flag_open: bool,
    /// Byte index of the `]` closing a VK link whose name is being scanned.
    close_bracket_at: Option<usize>,
}

impl<'a> Scanner<'a> {
    fn new(src: &'a str) -> Self {
        let out = CleanText {
            text: String::with_capacity(src.len()),
            ..CleanText::default()
        };
        Self {
            src,
            pos: 0,
            prev: ' ',
            out,
            gap: Gap::None,
            no_url_until: 0,
            emoji_joined: false,
            flag_open: false,
            close_bracket_at: None,
        }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn gap(&mut self, gap: Gap) {
        if gap == Gap::Newline || self.gap == Gap::None {
            self.gap = gap;
        }
    }

    /// Emits pending whitespace before visible output.
    fn flush_gap(&mut self) {
        if !self.out.text.is_empty() {
            match self.gap {
                Gap::None => {}
                Gap::Space => self.out.text.push(' '),
                Gap::Newline => self.out.text.push('\n'),
            }
        }
        self.gap = Gap::None;
    }

    fn emit_char(&mut self, c: char) {
        self.flush_gap();
        self.out.text.push(c);
    }

    fn emit_str(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        self.flush_gap();
        self.out.text.push_str(s);
    }

    fn advance_by(&mut self, bytes: usize) {
        let end = (self.pos + bytes).min(self.src.len());
        if let Some(c) = self
            .src
            .get(self.pos..end)
            .and_then(|s| s.chars().next_back())
        {
            self.prev = c;
        }
        self.pos = end;
    }

    /// Fast path: copies a run of characters that need no treatment (basic Cyrillic letters,
    /// ASCII letters and digits inside a word, ASCII punctuation other than `[ @ #`) as one
    /// slice. Returns false when the character at `pos` is not such a character.
    fn copy_plain_run(&mut self) -> bool {
        let rest = self.rest();
        let mut prev_alnum = crate::chars::is_alnum(self.prev) || self.prev == '_';
        let mut end = 0;
        let mut last = self.prev;
        for (i, c) in rest.char_indices() {
            let plain = match c {
                'А'..='я' => true,
                'a'..='z' | 'A'..='Z' | '0'..='9' => prev_alnum,
                '!'..='/' | ':'..='?' | '\\' | ']' | '^' | '_' | '`' | '{'..='~' => {
                    c != '#' && c != '@'
                }
                _ => false,
            };
            if !plain || self.close_bracket_at == Some(self.pos + i) {
                break;
            }
            prev_alnum = c.is_ascii_alphanumeric() || c == '_' || c > '\x7F';
            end = i + c.len_utf8();
            last = c;
        }
        if end == 0 {
            return false;
        }
        let run = rest.get(..end).unwrap_or("");
        self.flush_gap();
        self.out.text.push_str(run);
        self.emoji_joined = false;
        self.flag_open = false;
        self.prev = last;
        self.pos += end;
        true
    }

    /// True when the previous character does not continue a word.
    fn at_word_start(&self) -> bool {
        !crate::chars::is_alnum(self.prev) && self.prev != '_'
    }

    fn run(&mut self) {
        while let Some(c) = self.rest().chars().next() {
            if self.close_bracket_at == Some(self.pos) {
                self.close_bracket_at = None;
                self.advance_by(1);
                continue;
            }
            if self.copy_plain_run() {
                continue;
            }
            if c != '\u{200D}' && !is_emoji(c) && !is_invisible(c) {
                self.emoji_joined = false;
                self.flag_open = false;
            }
            let consumed = match c {
                '[' => self.vk_link(),
                '@' if self.at_word_start() && self.prev != '.' => self.mention(),
                '#' if self.at_word_start() && !matches!(self.prev, '&' | '#' | '/') => {
                    self.hashtag()
                }
                'h' | 'H' | 'f' | 'F' | 'w' | 'W' if self.at_word_start() => self.url(),
                _ if c.is_ascii_alphanumeric()
                    && self.pos >= self.no_url_until
                    && self.at_word_start() =>
                {
                    self.url()
                }
                _ => false,
            };
            if consumed {
                continue;
            }
            let len = c.len_utf8();
            if is_emoji(c) {
                self.emoji(c);
            } else if c == '\u{200D}' {
                // A joiner right after an emoji glues the next pictograph to it.
                if is_emoji(self.prev) || is_invisible(self.prev) {
                    self.emoji_joined = true;
                }
            } else if is_invisible(c) {
            } else if c == '\n'
                || c == '\r'
                || c == '\u{2028}'
                || c == '\u{2029}'
                || c == '\u{0B}'
                || c == '\u{0C}'
            {
                self.gap(Gap::Newline);
            } else if c.is_whitespace() || c.is_control() {
                self.gap(Gap::Space);
            } else if needs_compat_fold(c) {
                self.flush_gap();
                for f in std::iter::once(c).nfkc() {
                    if let Some(f) = fold_char(f) {
                        self.out.text.push(f);
                    }
                }
            } else if let Some(f) = fold_char(c) {
                self.emit_char(f);
            }
            self.advance_by(len);
        }
    }

    fn emoji(&mut self, c: char) {
        if is_regional_indicator(c) {
            if self.flag_open {
                self.flag_open = false;
            } else {
                self.out.emoji_count += 1;
                self.flag_open = true;
            }
        } else if !self.emoji_joined {
            self.out.emoji_count += 1;
        }
        self.emoji_joined = false;
        self.gap(Gap::Space);
    }

    /// `@handle` → `handle`. Handles are ASCII letters, digits, `_` and inner dots.
    fn mention(&mut self) -> bool {
        let rest = self.rest();
        let body = rest.get(1..).unwrap_or("");
        let mut len = body
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
            .count();
        while len > 0 && body.as_bytes().get(len - 1) == Some(&b'.') {
            len -= 1;
        }
        let handle = body.get(..len).unwrap_or("");
        if !handle.bytes().any(|b| b.is_ascii_alphabetic()) {
            return false;
        }
        // Not an e-mail domain or similar: the handle must end the word.
        if body
            .get(len..)
            .and_then(|s| s.chars().next())
            .is_some_and(|c| crate::chars::is_alnum(c) || c == '@')
        {
            return false;
        }
        self.out.mentions.push(handle.to_owned());
        self.emit_str(handle);
        self.advance_by(1 + len);
        true
    }

    /// `[id123|Имя]`, `[club1|Name]`, `[https://…|текст]` → the text.
    fn vk_link(&mut self) -> bool {
        const MAX_TARGET: usize = 256;
        const MAX_NAME: usize = 512;
        let rest = self.rest();
        let inner = rest.get(1..).unwrap_or("");
        let Some(bar) = inner
            .bytes()
            .take(MAX_TARGET)
            .position(|b| b == b'|' || b == b']' || b == b'[' || b.is_ascii_whitespace())
        else {
            return false;
        };
        if inner.as_bytes().get(bar) != Some(&b'|') || bar == 0 {
            return false;
        }
        let target = inner.get(..bar).unwrap_or("");
        let is_url = starts_with_ignore_case(target, "http://")
            || starts_with_ignore_case(target, "https://")
            || starts_with_ignore_case(target, "vk.com/")
            || starts_with_ignore_case(target, "m.vk.com/");
        let is_page = ["id", "club", "public", "event"].iter().any(|p| {
            target
                .strip_prefix(p)
                .is_some_and(|digits| digits.starts_with(|c: char| c.is_ascii_digit()))
        });
        if !is_url && !is_page {
            return false;
        }
        let after_bar = inner.get(bar + 1..).unwrap_or("");
        let mut name_len = None;
        for (i, ch) in after_bar.char_indices() {
            if i > MAX_NAME || ch == '[' || ch == '\n' || ch == '|' {
                break;
            }
            if ch == ']' {
                name_len = Some(i);
                break;
            }
        }
        let Some(name_len) = name_len else {
            return false;
        };
        if is_url {
            self.out.urls.push(target.to_owned());
        } else {
            // `id123:bp-1_2` (a reply link) → `id123`.
            let page = target.split(':').next().unwrap_or(target);
            self.out.mentions.push(page.to_owned());
        }
        // Skip `[target|`; the name is then scanned as ordinary text and the `]` dropped.
        self.gap(Gap::Space);
        self.advance_by(1 + bar + 1);
        self.close_bracket_at = Some(self.pos + name_len);
        true
    }

    /// `#ЯмыНаДорогах` → «ямы на дорогах».
    fn hashtag(&mut self) -> bool {
        let rest = self.rest();
        let body_str = rest.get(1..).unwrap_or("");
        let body_len: usize = body_str
            .chars()
            .take_while(|c| crate::chars::is_alnum(*c) || *c == '_' || is_invisible(*c))
            .map(char::len_utf8)
            .sum();
        let body = body_str.get(..body_len).unwrap_or("");
        if !body.chars().any(char::is_alphabetic) {
            return false;
        }
        // VK community suffix: #tag@community.
        let mut consumed = 1 + body_len;
        if let Some(suffix) = body_str.get(body_len..).and_then(|s| s.strip_prefix('@')) {
            let n = suffix
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
                .count();
            if n > 0 {
                consumed += 1 + n;
            }
        }
        let tag: String = body.chars().filter(|c| !is_invisible(*c)).collect();
        self.flush_gap();
        split_hashtag(&tag, &mut self.out.text);
        self.out.hashtags.push(tag);
        self.advance_by(consumed);
        true
    }

    /// A URL at the current position, if any: consumed into `urls`, replaced by a space.
    fn url(&mut self) -> bool {
        let rest = self.rest();
        let has_prefix = ["http://", "https://", "ftp://"]
            .iter()
            .any(|p| starts_with_ignore_case(rest, p))
            || (starts_with_ignore_case(rest, "www.")
                && rest
                    .as_bytes()
                    .get(4)
                    .is_some_and(u8::is_ascii_alphanumeric));
        if !has_prefix {
            if self.pos < self.no_url_until {
                return false;
            }
            // Bare `host.tld/…`: an ASCII host run with a known TLD, followed by '/'.
            let host_len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-')
                .count();
            let host = rest.get(..host_len).unwrap_or("");
            let is_host = host.contains('.')
                && host
                    .rsplit('.')
                    .next()
                    .is_some_and(|tld| URL_TLDS.iter().any(|t| t.eq_ignore_ascii_case(tld)))
                && rest.as_bytes().get(host_len) == Some(&b'/');
            if !is_host {
                self.no_url_until = self.pos + host_len.max(1);
                return false;
            }
        }
        let mut len = 0;
        for (i, ch) in rest.char_indices() {
            if ch.is_whitespace()
                || ch.is_control()
                || matches!(
                    ch,
                    '<' | '>' | '"' | '«' | '»' | '“' | '”' | '[' | ']' | '|'
                )
                || is_emoji(ch)
            {
                break;
            }
            len = i + ch.len_utf8();
        }
        let mut url = rest.get(..len).unwrap_or("");
        while let Some(last) = url.chars().next_back() {
            let trim = match last {
                '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '…' => true,
                ')' => url.matches(')').count() > url.matches('(').count(),
                _ => false,
            };
            if !trim {
                break;
            }
            url = url.get(..url.len() - last.len_utf8()).unwrap_or("");
        }
        if url.is_empty() {
            return false;
        }
        let n = url.len();
        self.out.urls.push(url.to_owned());
        self.gap(Gap::Space);
        self.advance_by(n);
        true
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Splits a hashtag body into lowercase words joined by spaces: on `_`, on lower→upper case
/// changes, before the last capital of an acronym followed by lowercase (`ЖКХСеверск`), and
/// between letters and digits.
fn split_hashtag(tag: &str, out: &mut String) {
    let chars: Vec<char> = tag.chars().collect();
    let mut first = true;
    let mut need_space = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            need_space = true;
            continue;
        }
        if i > 0 {
            let p = chars.get(i - 1).copied().unwrap_or('_');
            let next = chars.get(i + 1).copied();
            let boundary = (is_lower(p) && is_upper(c))
                || (is_upper(p) && is_upper(c) && next.is_some_and(is_lower))
                || (crate::chars::is_alpha(p) && c.is_numeric())
                || (p.is_numeric() && crate::chars::is_alpha(c));
            if boundary {
                need_space = true;
            }
        }
        if need_space && !first {
            out.push(' ');
        }
        need_space = false;
        first = false;
        crate::chars::push_lower_folded(c, out);
    }
}

fn is_upper(c: char) -> bool {
    match c {
        'A'..='Z' | 'А'..='Я' | 'Ё' => true,
        'a'..='z' | 'а'..='я' | 'ё' | '\0'..='\x7F' => false,
        _ => c.is_uppercase(),
    }
}

fn is_lower(c: char) -> bool {
    match c {
        'a'..='z' | 'а'..='я' | 'ё' => true,
        'A'..='Z' | 'А'..='Я' | 'Ё' | '\0'..='\x7F' => false,
        _ => c.is_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surely_nfc_characters_are_nfc_next_to_anything_ordinary() {
        use unicode_normalization::char::canonical_combining_class;
        use unicode_normalization::is_nfc;
        for u in 0..0x20000u32 {
            let Some(c) = char::from_u32(u) else {
                continue;
            };
            if !is_surely_nfc(c) {
                continue;
            }
            assert_eq!(canonical_combining_class(c), 0, "{c:?}");
            for s in [
                format!("{c}"),
                format!("a{c}"),
                format!("е{c}"),
                format!("{c}a"),
            ] {
                assert!(is_nfc(&s), "{c:?} in {s:?}");
            }
        }
    }

    #[test]
    fn fast_case_checks_agree_with_std() {
        for u in 0..0x800u32 {
            let Some(c) = char::from_u32(u) else {
                continue;
            };
            assert_eq!(is_upper(c), c.is_uppercase(), "{c:?}");
            assert_eq!(is_lower(c), c.is_lowercase(), "{c:?}");
        }
    }

    #[test]
    fn hashtag_split() {
        let mut s = String::new();
        split_hashtag("ЯмыНаДорогах", &mut s);
        assert_eq!(s, "ямы на дорогах");
        s.clear();
        split_hashtag("дороги_северск", &mut s);
        assert_eq!(s, "дороги северск");
        s.clear();
        split_hashtag("ЖКХСеверск2024", &mut s);
        assert_eq!(s, "жкх северск 2024");
        s.clear();
        split_hashtag("__ёлка__", &mut s);
        assert_eq!(s, "елка");
    }
}
