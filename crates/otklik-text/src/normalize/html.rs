//! A small, forgiving HTML-to-text pass: tags stripped, `script`/`style`/comments dropped,
//! character references decoded. Hand-written, linear in the input, never panics.
//!
//! Rules:
//! - `<` starts a tag only when followed by an ASCII letter, `/` + ASCII letter, `!` or `?`;
//!   otherwise it is text (`t < 5`, `<ничего>`).
//! - A tag ends at the first `>` (quoted `>` inside attribute values is not special). A tag with
//!   no `>` before the end of the input (`<a href="x`) swallows the rest, as a browser would.
//! - Block-level tags (`p`, `div`, `br`, `li`, `tr`, `h1`…) become a newline, inline tags (`b`,
//!   `a`, `span`, …) nothing (so `при<b>вет</b>` stays one word), any other tag a space.
//! - The content of `script` and `style` and comments `<!-- … -->` are dropped.
//! - `&name;` for the usual named references, `&#NNN;` and `&#xHHH;` are decoded; numeric
//!   references in 0x80–0x9F are read as Windows-1252 (as browsers do); `&#0;`, surrogates and
//!   out-of-range values are dropped; anything unrecognised (`&#xZZZ;`, `&foo;`, a bare `&`) is
//!   kept as written. `&nbsp`, `&amp`, `&lt`, `&gt`, `&quot` are also accepted without `;`.

/// True when `text` may contain markup or references, i.e. [`strip_html`] could change it.
pub(crate) fn needs_html_pass(text: &str) -> bool {
    text.bytes().any(|b| b == b'<' || b == b'&')
}

/// Appends the text content of `input` to `out`.
pub(crate) fn strip_html(input: &str, out: &mut String) {
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(rel) = input.get(i..).and_then(|rest| rest.find(['<', '&'])) else {
            out.push_str(input.get(i..).unwrap_or(""));
            break;
        };
        let at = i + rel;
        out.push_str(input.get(i..at).unwrap_or(""));
        if bytes.get(at) == Some(&b'<') {
            i = tag(input, at, out);
        } else {
            i = entity(input, at, out);
        }
    }
}

/// Handles the `<` at `at`; returns the byte index to continue from.
fn tag(input: &str, at: usize, out: &mut String) -> usize {
    let bytes = input.as_bytes();
    let next = bytes.get(at + 1).copied();
    // Comment.
    if input.get(at..).is_some_and(|r| r.starts_with("<!--")) {
        return match find_from(input, at + 4, "-->") {
            Some(end) => end + 3,
            None => input.len(),
        };
    }
    let closing = next == Some(b'/');
    let name_start = if closing { at + 2 } else { at + 1 };
    let starts_tag = match next {
        Some(b'!' | b'?') => true,
        Some(b'/') => bytes.get(at + 2).is_some_and(u8::is_ascii_alphabetic),
        Some(b) => b.is_ascii_alphabetic(),
        None => false,
    };
    if !starts_tag {
        out.push('<');
        return at + 1;
    }
    let mut name_end = name_start;
    while bytes.get(name_end).is_some_and(u8::is_ascii_alphanumeric) {
        name_end += 1;
    }
    let name = input.get(name_start..name_end).unwrap_or("");
    let Some(gt) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == b'>'))
        .map(|p| at + p)
    else {
        // Unterminated tag: the rest of the input is markup.
        return input.len();
    };
    let after = gt + 1;
    if !closing && (name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style")) {
        out.push(' ');
        return skip_raw_text(input, after, name);
    }
    match tag_kind(name) {
        TagKind::Inline => {}
        TagKind::Block => out.push('\n'),
        TagKind::Other => out.push(' '),
    }
    after
}

/// Skips the raw text of a `script`/`style` element up to and including `</name …>`.
fn skip_raw_text(input: &str, from: usize, name: &str) -> usize {
    let bytes = input.as_bytes();
    let mut i = from;
    while let Some(p) = find_from(input, i, "</") {
        let name_from = p + 2;
        let candidate = bytes.get(name_from..name_from + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) {
            return match bytes
                .get(name_from..)
                .and_then(|rest| rest.iter().position(|&b| b == b'>'))
            {
                Some(gt) => name_from + gt + 1,
                None => input.len(),
            };
        }
        i = p + 2;
    }
    input.len()
}

fn find_from(input: &str, from: usize, needle: &str) -> Option<usize> {
    input
        .get(from..)
        .and_then(|rest| rest.find(needle))
        .map(|p| from + p)
}

enum TagKind {
    Inline,
    Block,
    Other,
}

fn tag_kind(name: &str) -> TagKind {
    const BLOCK: &[&str] = &[
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
    ];
    const INLINE: &[&str] = &[
        "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font",
        "i", "ins", "kbd", "mark", "nobr", "q", "s", "samp", "small", "span", "strike", "strong",
        "sub", "sup", "time", "tt", "u", "var", "wbr",
    ];
    if BLOCK.iter().any(|b| b.eq_ignore_ascii_case(name)) {
        TagKind::Block
    } else if INLINE.iter().any(|b| b.eq_ignore_ascii_case(name)) {
        TagKind::Inline
    } else {
        TagKind::Other
    }
}

/// Handles the `&` at `at`; returns the byte index to continue from.
fn entity(input: &str, at: usize, out: &mut String) -> usize {
    let bytes = input.as_bytes();
    if bytes.get(at + 1) == Some(&b'#') {
        let hex = matches!(bytes.get(at + 2), Some(b'x' | b'X'));
        let digits_from = if hex { at + 3 } else { at + 2 };
        let mut end = digits_from;
        while end - digits_from < 8
            && bytes.get(end).is_some_and(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
        {
            end += 1;
        }
        if end == digits_from || bytes.get(end) != Some(&b';') {
            out.push('&');
            return at + 1;
        }
        let digits = input.get(digits_from..end).unwrap_or("");
        let value = u32::from_str_radix(digits, if hex { 16 } else { 10 }).unwrap_or(0);
        if let Some(c) = numeric_char(value) {
            out.push(c);
        }
        return end + 1;
    }
    let name_from = at + 1;
    let mut end = name_from;
    while end - name_from < 32 && bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
        end += 1;
    }
    let name = input.get(name_from..end).unwrap_or("");
    if bytes.get(end) == Some(&b';')
        && let Some(decoded) = named(name)
    {
        out.push_str(decoded);
        return end + 1;
    }
    // Legacy references that browsers accept without the semicolon.
    if matches!(name, "nbsp" | "amp" | "lt" | "gt" | "quot")
        && let Some(decoded) = named(name)
    {
        out.push_str(decoded);
        return end;
    }
    out.push('&');
    at + 1
}

fn numeric_char(value: u32) -> Option<char> {
    const CP1252: [u32; 32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
        0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
        0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ];
    let value = if (0x80..=0x9F).contains(&value) {
        CP1252
            .get(usize::try_from(value - 0x80).unwrap_or(0))
            .copied()
            .unwrap_or(0)
    } else {
        value
    };
    if value == 0 {
        return None;
    }
    char::from_u32(value)
}

fn named(name: &str) -> Option<&'static str> {
    Some(match name {
        "nbsp" | "NBSP" | "ensp" | "emsp" | "thinsp" => " ",
        "amp" | "AMP" => "&",
        "lt" | "LT" => "<",
        "gt" | "GT" => ">",
        "quot" | "QUOT" => "\"",
        "apos" => "'",
        "laquo" => "«",
        "raquo" => "»",
        "lsquo" => "‘",
        "rsquo" => "’",
        "sbquo" => "‚",
        "ldquo" => "“",
        "rdquo" => "”",
        "bdquo" => "„",
        "ndash" => "–",
        "mdash" => "—",
        "minus" => "−",
        "hellip" => "…",
        "bull" => "•",
        "middot" => "·",
        "shy" | "zwj" | "zwnj" | "lrm" | "rlm" => "",
        "copy" | "COPY" => "©",
        "reg" | "REG" => "®",
        "trade" => "™",
        "deg" => "°",
        "plusmn" => "±",
        "times" => "×",
        "divide" => "÷",
        "frac12" => "½",
        "sect" => "§",
        "para" => "¶",
        "euro" => "€",
        "pound" => "£",
        "cent" => "¢",
        "yen" => "¥",
        "numero" => "№",
        "larr" => "←",
        "rarr" => "→",
        "uarr" => "↑",
        "darr" => "↓",
        "iexcl" => "¡",
        "iquest" => "¿",
        "sup2" => "²",
        "sup3" => "³",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        let mut out = String::new();
        strip_html(s, &mut out);
        out
    }

    #[test]
    fn tags_and_entities() {
        assert_eq!(strip("при<b>вет</b>"), "привет");
        assert_eq!(strip("a<br>b</p>c"), "a\nb\nc");
        assert_eq!(strip("a<img src=x>b"), "a b");
        assert_eq!(strip("&quot;Да&quot;&nbsp;&#1071;&#x44F;"), "\"Да\" Яя");
        assert_eq!(strip("x<script>var a = '<b>';</script>y"), "x y");
        assert_eq!(strip("x<STYLE>p{}</Style >y"), "x y");
        assert_eq!(strip("a<!-- hidden -->b"), "ab");
        assert_eq!(strip("t < 5 & <ничего>"), "t < 5 & <ничего>");
        assert_eq!(strip("&#xZZZ; &#0; &#55296; &foo; &"), "&#xZZZ;   &foo; &");
        assert_eq!(strip("&#150;&amp"), "–&");
    }

    #[test]
    fn broken_markup() {
        assert_eq!(strip(r#"текст <a href="x"#), "текст ");
        assert_eq!(strip("текст <script>alert(1)"), "текст  ");
        assert_eq!(strip("<!-- never closed"), "");
        assert_eq!(strip("<"), "<");
        assert_eq!(strip("&"), "&");
        assert_eq!(strip("&#"), "&#");
        assert_eq!(strip("&#x"), "&#x");
        assert_eq!(strip("</"), "</");
    }
}
