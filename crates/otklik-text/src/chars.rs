//! Character classes with fast paths for ASCII and the basic Russian alphabet, which make up
//! nearly all of the text; everything else falls back to the standard Unicode tables (which
//! cost tens of nanoseconds a character — too slow for the classifier's budget).

/// `c.is_alphanumeric()`, fast for ASCII and А–я, Ё, ё.
#[inline]
pub(crate) fn is_alnum(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' => true,
        '\0'..='\x7F' => false,
        'А'..='я' | 'Ё' | 'ё' => true,
        _ => c.is_alphanumeric(),
    }
}

/// `c.is_alphabetic()`, fast for ASCII and А–я, Ё, ё.
#[inline]
pub(crate) fn is_alpha(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' => true,
        '\0'..='\x7F' => false,
        'А'..='я' | 'Ё' | 'ё' => true,
        _ => c.is_alphabetic(),
    }
}

/// Pushes the lowercase form of `c` onto `out`, with ё→е; fast for ASCII and Cyrillic.
/// Characters dropped by [`fold_char`](crate::normalize::fold_char) are dropped.
#[inline]
pub(crate) fn push_lower_folded(c: char, out: &mut String) {
    match c {
        'A'..='Z' => out.push(c.to_ascii_lowercase()),
        '\0'..='\x7F' | 'а'..='я' => out.push(c),
        'А'..='Я' => out.push(char::from_u32(u32::from(c) + 0x20).unwrap_or(c)),
        'Ё' | 'ё' => out.push('е'),
        _ => {
            for l in c.to_lowercase() {
                if let Some(f) = crate::normalize::fold_char(l) {
                    out.push(f);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_paths_agree_with_std() {
        for u in 0..0x800u32 {
            let Some(c) = char::from_u32(u) else {
                continue;
            };
            assert_eq!(is_alnum(c), c.is_alphanumeric(), "{c:?}");
            assert_eq!(is_alpha(c), c.is_alphabetic(), "{c:?}");
            let mut fast = String::new();
            push_lower_folded(c, &mut fast);
            let slow: String = c
                .to_lowercase()
                .filter_map(crate::normalize::fold_char)
                .collect();
            assert_eq!(fast, slow, "{c:?}");
        }
    }
}
