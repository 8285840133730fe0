//! Minimal HTML helpers; every interpolated value goes through [`escape`].

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page in the Otklik layout.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — Отклик</title><style>{CSS}</style></head>\
<body><header><a href=\"/\" class=\"brand\">Отклик</a> \
<span class=\"tag\">платформа обратной связи и мониторинга</span></header>\
<main id=\"main\">{body}</main>\
<footer>Otklik {version}</footer></body></html>",
        title = escape(title),
        body = body,
        version = escape(env!("CARGO_PKG_VERSION")),
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}\
header{background:#0b5cad;color:#fff;padding:.8rem 1.5rem}header a{color:#fff;text-decoration:none;font-weight:700}\
.tag{opacity:.85;margin-left:.5rem}main{max-width:72rem;margin:1.5rem auto;padding:0 1.5rem}\
table{border-collapse:collapse;background:#fff;margin:.5rem 0 1.5rem}th,td{border:1px solid #d0d5dc;padding:.35rem .7rem;text-align:left}\
th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}footer{color:#667;padding:1rem 1.5rem}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(escape("Шелехов"), "Шелехов");
    }
}
