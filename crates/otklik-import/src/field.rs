//! Field validators. Each takes the trimmed text of one cell and returns the value or a message.

use std::str::FromStr;

use otklik_domain::{DomainError, Network, OrgKind, Role, TerritoryKind, Verification};

/// Longest free-text field, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 1000;
/// Longest code or login, in characters.
pub(crate) const MAX_CODE_CHARS: usize = 100;
/// Longest e-mail address (RFC 5321 path limit).
pub(crate) const MAX_EMAIL_CHARS: usize = 254;

pub(crate) type Check<T> = Result<T, String>;

const EMPTY: &str = "required field is empty";

/// Rejects control characters other than line breaks and tabs, and over-long text.
fn check_chars(v: &str, max: usize) -> Check<()> {
    if let Some(c) = v
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(format!(
            "control character U+{:04X} is not allowed",
            u32::from(c)
        ));
    }
    let n = v.chars().count();
    if n > max {
        return Err(format!("too long: {n} characters (at most {max})"));
    }
    Ok(())
}

/// Free text (names, titles): line breaks and runs of spaces become one space.
pub(crate) fn text(v: &str) -> Check<Option<String>> {
    if v.is_empty() {
        return Ok(None);
    }
    check_chars(v, MAX_TEXT_CHARS)?;
    Ok(Some(v.split_whitespace().collect::<Vec<_>>().join(" ")))
}

/// Required free text.
pub(crate) fn req_text(v: &str) -> Check<String> {
    text(v)?.ok_or_else(|| EMPTY.to_owned())
}

/// A stable code: Latin letters, digits, `-`, `_`, `.`.
pub(crate) fn code(v: &str) -> Check<Option<String>> {
    if v.is_empty() {
        return Ok(None);
    }
    check_chars(v, MAX_CODE_CHARS)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "invalid code \"{v}\": use Latin letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(Some(v.to_owned()))
}

/// Required code.
pub(crate) fn req_code(v: &str) -> Check<String> {
    code(v)?.ok_or_else(|| EMPTY.to_owned())
}

/// A login: like a code, `@` also allowed (logins may be e-mail addresses).
pub(crate) fn login(v: &str) -> Check<String> {
    if v.is_empty() {
        return Err(EMPTY.to_owned());
    }
    check_chars(v, MAX_CODE_CHARS)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        return Err(format!(
            "invalid login \"{v}\": use Latin letters, digits, '.', '-', '_' and '@'"
        ));
    }
    Ok(v.to_owned())
}

/// A category id such as `health` or `apartment_buildings`.
pub(crate) fn category_id(v: &str) -> Check<String> {
    check_chars(v, MAX_CODE_CHARS)?;
    let mut chars = v.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(format!(
            "invalid category id \"{v}\": use lower-case Latin letters, digits and '_'"
        ));
    }
    Ok(v.to_owned())
}

/// A `;`-separated list: items trimmed, empty items dropped.
pub(crate) fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(';').map(str::trim).filter(|s| !s.is_empty())
}

/// A boolean: `1/0`, `true/false`, `да/нет`, `yes/no` (any case); empty means `default`.
pub(crate) fn boolean(v: &str, default: bool) -> Check<bool> {
    match v.to_lowercase().as_str() {
        "" => Ok(default),
        "1" | "true" | "да" | "yes" => Ok(true),
        "0" | "false" | "нет" | "no" => Ok(false),
        _ => Err(format!(
            "invalid boolean \"{v}\" (use 1/0, true/false, да/нет or yes/no)"
        )),
    }
}

/// An e-mail address of the usual `local@domain.tld` shape.
pub(crate) fn email(v: &str) -> Check<Option<String>> {
    if v.is_empty() {
        return Ok(None);
    }
    check_chars(v, MAX_EMAIL_CHARS)?;
    let bad = || format!("invalid e-mail address \"{v}\"");
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    let local_ok = !local.is_empty()
        && local.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || "!#$%&'*+/=?^_`{|}~.-".contains(c)
                || (!c.is_ascii() && c.is_alphanumeric())
        })
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(Some(v.to_owned()))
    } else {
        Err(bad())
    }
}

/// An `http(s)://host/...` address (sites, feeds).
pub(crate) fn http_url(v: &str) -> Check<Option<String>> {
    if v.is_empty() {
        return Ok(None);
    }
    check_chars(v, MAX_TEXT_CHARS)?;
    let bad = |why: &str| format!("invalid URL \"{v}\": {why}");
    if v.chars().any(char::is_whitespace) {
        return Err(bad("spaces are not allowed"));
    }
    let lower = v.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with https:// or http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => h,
        Some(_) => return Err(bad("invalid port")),
        None => host,
    };
    let host_ok = host.contains('.')
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if !host_ok {
        return Err(bad("no valid host name"));
    }
    Ok(Some(v.to_owned()))
}

/// A cron schedule with seconds: 6 or 7 fields, each of cron characters; seconds, minutes and
/// hours (when plain numbers, ranges, lists or steps) within their ranges. Returns it with single
/// spaces between fields.
pub(crate) fn cron(v: &str) -> Check<String> {
    if v.is_empty() {
        return Err(EMPTY.to_owned());
    }
    check_chars(v, MAX_CODE_CHARS)?;
    let fields: Vec<&str> = v.split_whitespace().collect();
    match fields.len() {
        6 | 7 => {}
        5 => {
            return Err(format!(
                "cron schedule \"{v}\" has 5 fields; a seconds field is required first (e.g. \"0 {v}\")"
            ));
        }
        n => {
            return Err(format!(
                "cron schedule \"{v}\" has {n} fields; expected 6 or 7 (sec min hour day month weekday [year])"
            ));
        }
    }
    const NAMES: [&str; 3] = ["seconds", "minutes", "hours"];
    const MAX: [u32; 3] = [59, 59, 23];
    for (i, f) in fields.iter().enumerate() {
        if !f
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-' | '?' | '#'))
        {
            return Err(format!(
                "cron schedule \"{v}\": field \"{f}\" has characters cron does not accept"
            ));
        }
        if let (Some(name), Some(max)) = (NAMES.get(i), MAX.get(i)) {
            check_cron_numbers(f, *max)
                .map_err(|why| format!("cron schedule \"{v}\": {name} field \"{f}\" {why}"))?;
        }
    }
    Ok(fields.join(" "))
}

/// Checks a seconds/minutes/hours field: `*`, numbers, `a-b`, lists, `x/step`.
fn check_cron_numbers(field: &str, max: u32) -> Check<()> {
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(s) if s > 0 => {}
                _ => return Err("has an invalid step".to_owned()),
            }
        }
        if range == "*" || range == "?" {
            continue;
        }
        let (a, b) = match range.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (range, None),
        };
        for n in std::iter::once(a).chain(b) {
            match n.parse::<u32>() {
                Ok(x) if x <= max => {}
                _ => return Err(format!("must use numbers 0–{max}")),
            }
        }
    }
    Ok(())
}

/// The domain's code enums, with what the importer needs to parse them and explain failures.
pub(crate) trait CodeEnum: Sized + Copy + FromStr<Err = DomainError> + 'static {
    /// Every variant.
    fn all() -> &'static [Self];
    /// The ASCII code.
    fn code_str(self) -> &'static str;
    /// The Russian label.
    fn label(self) -> &'static str;
}

macro_rules! impl_code_enum {
    ($($t:ty),+) => {$(
        impl CodeEnum for $t {
            fn all() -> &'static [Self] {
                <$t>::ALL
            }
            fn code_str(self) -> &'static str {
                self.code()
            }
            fn label(self) -> &'static str {
                self.label_ru()
            }
        }
    )+};
}

impl_code_enum!(TerritoryKind, OrgKind, Role, Network, Verification);

/// Parses a code enum from its ASCII code or Russian label, both case-insensitively (`ё` = `е`).
pub(crate) fn code_enum<T: CodeEnum>(v: &str) -> Check<T> {
    if v.is_empty() {
        return Err(EMPTY.to_owned());
    }
    let what = match v.parse::<T>() {
        Ok(x) => return Ok(x),
        Err(DomainError::UnknownCode { what, .. }) => what,
        Err(_) => "code",
    };
    // Labels compare case-insensitively and with «ё» written as «е», as people type them.
    let fold = |s: &str| s.to_lowercase().replace('ё', "е");
    let folded = fold(v);
    if let Some(x) = T::all()
        .iter()
        .find(|x| x.code_str() == folded || fold(x.label()) == folded)
    {
        return Ok(*x);
    }
    let expected = T::all()
        .iter()
        .map(|x| x.code_str())
        .collect::<Vec<_>>()
        .join(", ");
    Err(format!(
        "unknown {what} \"{v}\" (expected one of: {expected})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_codes() {
        assert_eq!(
            text("Министерство\n здравоохранения")
                .ok()
                .flatten()
                .as_deref(),
            Some("Министерство здравоохранения")
        );
        assert!(text("a\u{7}b").is_err_and(|m| m.contains("U+0007")));
        assert!(text(&"я".repeat(1001)).is_err_and(|m| m.contains("too long: 1001")));
        assert_eq!(req_text(""), Err("required field is empty".to_owned()));
        assert!(code("minzdrav-38_a.b").is_ok());
        assert!(code("минздрав").is_err());
        assert!(code("a b").is_err());
        assert!(login("ivanova.mp").is_ok());
        assert!(login("Иванова").is_err());
        assert!(category_id("apartment_buildings").is_ok());
        assert!(category_id("Roads").is_err());
        assert!(category_id("roads.potholes").is_err());
        assert_eq!(list(" a; ;b;").collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[test]
    fn booleans() {
        for t in ["1", "true", "TRUE", "да", "Да", "ДА", "yes", "Yes"] {
            assert_eq!(boolean(t, false), Ok(true), "{t}");
        }
        for f in ["0", "false", "нет", "НЕТ", "no", "No"] {
            assert_eq!(boolean(f, true), Ok(false), "{f}");
        }
        assert_eq!(boolean("", true), Ok(true));
        assert!(boolean("2", false).is_err());
        assert!(boolean("y", false).is_err());
    }

    #[test]
    fn emails() {
        for ok in [
            "ivanova.mp@minzdrav.severnaya-obl.example",
            "a+b@x.example",
            "почта@пример.рф",
        ] {
            assert!(email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ivanova",
            "@x.example",
            "a@b",
            "a@@b.example",
            "a b@c.example",
            "a@.example",
            "a@b..example",
            ".a@b.example",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert_eq!(email(""), Ok(None));
    }

    #[test]
    fn urls() {
        assert!(http_url("https://severnaya-obl.example/news/rss.xml").is_ok());
        assert!(http_url("http://a.example:8080/x?y#z").is_ok());
        assert!(http_url("ftp://a.example").is_err());
        assert!(http_url("https://").is_err());
        assert!(http_url("https://a example").is_err());
        assert!(http_url("severnaya-obl.example").is_err());
    }

    #[test]
    fn crons() {
        assert_eq!(cron("0  */10 * * * *"), Ok("0 */10 * * * *".to_owned()));
        assert!(cron("0 0 9-18 * * Mon-Fri").is_ok());
        assert!(cron("0 0 12 * * ? 2030").is_ok());
        assert!(cron("*/10 * * * *").is_err_and(|m| m.contains("seconds field")));
        assert!(cron("0 * * *").is_err_and(|m| m.contains("4 fields")));
        assert!(cron("60 * * * * *").is_err_and(|m| m.contains("seconds")));
        assert!(cron("0 */0 * * * *").is_err_and(|m| m.contains("step")));
        assert!(cron("0 0 24 * * *").is_err_and(|m| m.contains("hours")));
        assert!(cron("0 0 1 * * ;").is_err());
    }

    #[test]
    fn enums_by_code_or_label() {
        assert_eq!(code_enum::<OrgKind>("РОИВ"), Ok(OrgKind::Roiv));
        assert_eq!(code_enum::<OrgKind>("роив"), Ok(OrgKind::Roiv));
        assert_eq!(code_enum::<OrgKind>("OMSU"), Ok(OrgKind::Omsu));
        assert_eq!(
            code_enum::<TerritoryKind>("муниципальный район"),
            Ok(TerritoryKind::MunicipalDistrict)
        );
        assert_eq!(
            code_enum::<TerritoryKind>("Населенный пункт"),
            Ok(TerritoryKind::Settlement)
        );
        assert_eq!(
            code_enum::<Role>("администратор госпабликов"),
            Ok(Role::CommunityAdmin)
        );
        assert_eq!(
            code_enum::<OrgKind>("ROIV2"),
            Err(
                "unknown organisation kind \"ROIV2\" (expected one of: roiv, omsu, institution, other)"
                    .to_owned()
            )
        );
    }
}
