//! The complaint lexicon's TOML, parsed by the `toml` crate and flattened into its tables
//! (dotted path, entries) in file order with 1-based line numbers, which is what the lexicon
//! compiler walks and what its error messages cite. Arrays of tables and datetimes are not
//! used by the lexicon and are rejected with their line.

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A value of an entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Value>),
}

impl Value {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Array(_) => "an array",
        }
    }

    /// The value as a number (an integer is accepted where a float is expected).
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// One `key = value` entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub value: Value,
    pub line: usize,
}

/// One table: its dotted path (empty for the root) and its entries in file order.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub path: Vec<String>,
    pub line: usize,
    pub entries: Vec<Entry>,
}

/// A parse error at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub line: usize,
    pub message: String,
}

/// 1-based line of a byte offset.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Self(
            text.char_indices()
                .filter(|&(_, c)| c == '\n')
                .map(|(i, _)| i)
                .collect(),
        )
    }
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&nl| nl < offset) + 1
    }
}

/// Parses `text` into its tables (the root table first, possibly empty), in file order.
pub(crate) fn parse(text: &str) -> Result<Vec<Table>, ParseError> {
    let lines = Lines::new(text);
    let doc = DeTable::parse(text).map_err(|e| ParseError {
        line: e.span().map_or(1, |s| lines.line(s.start)),
        message: e.message().trim().to_owned(),
    })?;
    let mut tables = Vec::new();
    flatten(Vec::new(), 1, doc.get_ref(), &lines, &mut tables)?;
    // The root stays first; the others in the order of their headers.
    if let Some(rest) = tables.get_mut(1..) {
        rest.sort_by_key(|t| t.line);
    }
    Ok(tables)
}

fn flatten(
    path: Vec<String>,
    line: usize,
    table: &DeTable<'_>,
    lines: &Lines,
    out: &mut Vec<Table>,
) -> Result<(), ParseError> {
    let at = out.len();
    out.push(Table {
        path: path.clone(),
        line,
        entries: Vec::new(),
    });
    let mut entries = Vec::new();
    let mut subtables: Vec<(&Spanned<Cow<'_, str>>, &DeTable<'_>)> = Vec::new();
    for (key, value) in table.iter() {
        match value.get_ref() {
            DeValue::Table(t) => subtables.push((key, t)),
            _ => entries.push(Entry {
                key: key.get_ref().to_string(),
                value: convert(value.get_ref(), value.span(), lines)?,
                line: lines.line(key.span().start),
            }),
        }
    }
    entries.sort_by_key(|e| e.line);
    if let Some(t) = out.get_mut(at) {
        t.entries = entries;
    }
    for (key, t) in subtables {
        let mut p = path.clone();
        p.push(key.get_ref().to_string());
        flatten(p, lines.line(key.span().start), t, lines, out)?;
    }
    Ok(())
}

fn convert(v: &DeValue<'_>, span: Range<usize>, lines: &Lines) -> Result<Value, ParseError> {
    let bad = |what: &str| ParseError {
        line: lines.line(span.start),
        message: format!("{what} are not used in the lexicon"),
    };
    Ok(match v {
        DeValue::String(s) => Value::Str(s.to_string()),
        DeValue::Integer(i) => Value::Int(
            i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).map_err(|e| {
                ParseError {
                    line: lines.line(span.start),
                    message: format!("integer {i}: {e}"),
                }
            })?,
        ),
        DeValue::Float(f) => {
            Value::Float(
                f.as_str()
                    .replace('_', "")
                    .parse()
                    .map_err(|e| ParseError {
                        line: lines.line(span.start),
                        message: format!("float {f}: {e}"),
                    })?,
            )
        }
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::Table(_) => Err(bad("tables inside arrays")),
                    other => convert(other, item.span(), lines),
                })
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Datetime(_) => return Err(bad("dates")),
        DeValue::Table(_) => return Err(bad("inline tables")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tables_in_file_order_with_lines() {
        let text = "# c\ntop = 1\n[z.\"b c\"]\nx = \"q\\\"\\u0041\" # c\ny = [\n 'l',\n -2.5, # c\n true,\n]\n[a]\nn = 0x1F\nm = 1_000\n";
        let tables = parse(text).expect("parses");
        let paths: Vec<String> = tables.iter().map(|t| t.path.join(".")).collect();
        assert_eq!(paths, ["", "z", "z.b c", "a"]);
        assert_eq!(tables[0].entries[0].value, Value::Int(1));
        let bc = &tables[2];
        assert_eq!(bc.line, 3);
        assert_eq!((bc.entries[0].key.as_str(), bc.entries[0].line), ("x", 4));
        assert_eq!(bc.entries[0].value, Value::Str("q\"A".into()));
        assert_eq!(
            bc.entries[1].value,
            Value::Array(vec![
                Value::Str("l".into()),
                Value::Float(-2.5),
                Value::Bool(true)
            ])
        );
        assert_eq!(tables[3].entries[0].value, Value::Int(31));
        assert_eq!(tables[3].entries[1].value, Value::Int(1000));
        assert_eq!(tables[3].entries[1].line, 12);
    }

    #[test]
    fn errors_name_lines() {
        for (text, line) in [
            ("[a]\n[a]", 2),
            ("a = \"x", 1),
            ("a = 1 2", 1),
            ("\n\na = [1,\n2", 4),
            ("a = nope", 1),
            ("\nd = 1979-05-27", 2),
            ("x = 1\n\na = [{b = 1}]", 3),
        ] {
            let e = parse(text).expect_err(text);
            assert_eq!(e.line, line, "{text}: {}", e.message);
            assert!(!e.message.is_empty());
        }
    }
}
