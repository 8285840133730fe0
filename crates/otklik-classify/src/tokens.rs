//! One analysis of a text, shared by the linear model, the keyword rules and the complaint
//! detector: the [`RU_ANALYZER`](otklik_text::RU_ANALYZER) tokens of a cleaned text (stems
//! with positions and byte offsets) in one string buffer, so analysing a text allocates a
//! couple of buffers instead of a `String` per token.

use otklik_text::Analyzers;

/// One token of a [`TokenList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenRef<'a> {
    /// The token text (a stem, a canonical abbreviation or an expansion).
    pub text: &'a str,
    /// The token's position (expansions share their abbreviation's position).
    pub position: usize,
    /// Byte offsets of the source word in the analysed text.
    pub offset_from: usize,
    pub offset_to: usize,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
    position: u32,
    from: u32,
    to: u32,
}

/// The analyzer's tokens of one text.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenList {
    buf: String,
    spans: Vec<Span>,
}

#[cfg(test)]
thread_local! {
    /// How many texts this thread analysed (tests assert a post is analysed once).
    pub(crate) static ANALYSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl TokenList {
    /// Analyses `text` (already cleaned) with `analyzers`' [`RU_ANALYZER`](otklik_text::RU_ANALYZER).
    pub(crate) fn analyse(analyzers: &Analyzers, text: &str) -> Self {
        let mut out = Self {
            buf: String::with_capacity(text.len()),
            spans: Vec::with_capacity(text.len() / 6 + 4),
        };
        #[cfg(test)]
        ANALYSES.with(|n| n.set(n.get() + 1));
        let clip = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        analyzers.for_each_token(text, |t| {
            let start = out.buf.len();
            out.buf.push_str(&t.text);
            out.spans.push(Span {
                start: clip(start),
                end: clip(out.buf.len()),
                position: clip(t.position),
                from: clip(t.offset_from),
                to: clip(t.offset_to),
            });
        });
        out
    }

    /// Number of tokens.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    fn text_of(&self, s: &Span) -> &str {
        self.buf.get(s.start as usize..s.end as usize).unwrap_or("")
    }

    /// The token texts, in order.
    pub(crate) fn texts(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        self.spans.iter().map(|s| self.text_of(s))
    }

    /// The tokens, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = TokenRef<'_>> + '_ {
        self.spans.iter().map(|s| TokenRef {
            text: self.text_of(s),
            position: s.position as usize,
            offset_from: s.from as usize,
            offset_to: s.to as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_tokens_as_the_analyzer() {
        let a = Analyzers::embedded();
        let text = "Ямы на дорогах Шелехова! ЖКХ молчит";
        let list = TokenList::analyse(a, text);
        let expected = a.analyze_tokens(text);
        assert_eq!(list.len(), expected.len());
        for (got, want) in list.iter().zip(&expected) {
            assert_eq!(got.text, want.text);
            assert_eq!(got.position, want.position);
            assert_eq!(
                (got.offset_from, got.offset_to),
                (want.offset_from, want.offset_to)
            );
        }
        assert_eq!(list.texts().collect::<Vec<_>>(), a.analyze(text));
    }
}
