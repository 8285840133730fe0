//! Plain text out of HTML: what every collector stores as an item's text.

use scraper::{ElementRef, Html, Node};

/// Elements whose content is never text.
const SKIPPED: [&str; 6] = ["script", "style", "noscript", "template", "svg", "head"];

/// Elements that start a new line.
const BLOCKS: [&str; 22] = [
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "dd",
];

/// The text of an element: whitespace in the markup collapses to single spaces, `<br>` becomes
/// a line break, block elements (`p`, `div`, `li`…) start new lines, at most one blank line in a
/// row, `script`/`style` are dropped, each line trimmed.
pub fn element_text(el: ElementRef<'_>) -> String {
    let mut raw = String::new();
    walk(el, &mut raw);
    tidy(&raw)
}

/// The text of an HTML fragment (an RSS description, a VK text with `<br>`).
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        let mut raw = String::with_capacity(html.len());
        push_collapsed(&mut raw, html);
        return tidy(&raw);
    }
    let doc = Html::parse_fragment(html);
    element_text(doc.root_element())
}

fn walk(el: ElementRef<'_>, out: &mut String) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => push_collapsed(out, t),
            Node::Element(e) => {
                let name = e.name();
                if SKIPPED.contains(&name) {
                    continue;
                }
                if name == "br" {
                    out.push('\n');
                    continue;
                }
                let block = BLOCKS.contains(&name);
                if block {
                    line_start(out);
                }
                if let Some(child_el) = ElementRef::wrap(child) {
                    walk(child_el, out);
                }
                if block {
                    line_start(out);
                }
            }
            _ => {}
        }
    }
}

/// A block element begins or ends: continue on a new line (but never add a blank one).
fn line_start(out: &mut String) {
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Appends text with every whitespace run (including source line breaks) as one space.
fn push_collapsed(out: &mut String, text: &str) {
    let mut in_space = out.is_empty() || out.ends_with(' ') || out.ends_with('\n');
    for c in text.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            if !in_space {
                out.push(' ');
                in_space = true;
            }
        } else {
            out.push(if c == '\u{a0}' { ' ' } else { c });
            in_space = false;
        }
    }
}

/// Trims each line, drops trailing spaces, keeps at most one blank line between paragraphs.
fn tidy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank_run = 0usize;
    for line in raw.split('\n') {
        let line = collapse_spaces(line);
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        blank_run = 0;
        out.push_str(&line);
    }
    out
}

fn collapse_spaces(line: &str) -> String {
    let mut s = String::with_capacity(line.len());
    for word in line.split([' ', '\t', '\r']).filter(|w| !w.is_empty()) {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(word);
    }
    s
}

/// Replaces HTML character references (`&amp;`, `&#10071;`, `&#x2757;`, the common named ones)
/// and `<br>` tags in otherwise plain text (VK texts), keeping its own line breaks.
pub fn unescape_plain(text: &str) -> String {
    let text = replace_br(text);
    if !text.contains('&') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|i| i + 1);
        let decoded = end.filter(|&e| rest[e..].starts_with(';')).and_then(|e| {
            let name = &rest[1..e];
            decode_entity(name).map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn replace_br(text: &str) -> String {
    if !text.contains("<br") && !text.contains("<BR") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tag = &rest[at..];
        let lower: String = tag.chars().take(6).collect::<String>().to_ascii_lowercase();
        let is_br =
            lower.starts_with("<br>") || lower.starts_with("<br/") || lower.starts_with("<br ");
        match tag.find('>') {
            Some(close) if is_br => {
                out.push('\n');
                rest = &tag[close + 1..];
            }
            _ => {
                out.push('<');
                rest = &tag[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character of an HTML entity name (`amp`, `#10071`, `#x2757`, common named ones).
pub(crate) fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "laquo" => '«',
        "raquo" => '»',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "bdquo" => '„',
        "ldquo" => '“',
        "rdquo" => '”',
        "copy" => '©',
        "deg" => '°',
        "numero" => '№',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_plain_text_with_line_breaks() {
        let html = "<p>Уважаемые   жители!</p><p>С 10:00 до\n   18:00 не будет воды.<br/>Приносим извинения.</p>\
                    <script>alert(1)</script><ul><li>ул. Мира</li><li>ул. Ленина</li></ul>";
        assert_eq!(
            html_to_text(html),
            "Уважаемые жители!\nС 10:00 до 18:00 не будет воды.\nПриносим извинения.\nул. Мира\nул. Ленина"
        );
    }

    #[test]
    fn double_br_keeps_one_blank_line() {
        assert_eq!(
            html_to_text("Абзац один.<br><br><br>Абзац два."),
            "Абзац один.\n\nАбзац два."
        );
        assert_eq!(
            html_to_text("Абзац один.<br/><br/>Абзац два."),
            "Абзац один.\n\nАбзац два."
        );
        assert_eq!(
            html_to_text("<div><div>Вложенный</div></div><div>текст</div>"),
            "Вложенный\nтекст"
        );
        assert_eq!(html_to_text("a &amp; b&nbsp;c"), "a & b c");
    }

    #[test]
    fn plain_text_entities_and_br_are_decoded() {
        assert_eq!(
            unescape_plain(
                "&#10071;Приём до 23.00 &amp; позже<br>Звоните &laquo;112&raquo; &unknown; &"
            ),
            "❗Приём до 23.00 & позже\nЗвоните «112» &unknown; &"
        );
        assert_eq!(
            unescape_plain("Строка 1\nСтрока 2 <3"),
            "Строка 1\nСтрока 2 <3"
        );
    }
}
