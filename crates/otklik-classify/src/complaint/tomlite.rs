//! A parser for the subset of TOML the complaint lexicon uses.
//!
//! Supported: `#` comments, `[table]` and `[dotted.table]` headers (bare or `"quoted"` keys),
//! `key = value` lines with bare or quoted keys, and values that are basic strings (`"…"` with
//! `\" \\ \n \t \r \uXXXX \UXXXXXXXX` escapes), literal strings (`'…'`), integers, floats,
//! booleans and arrays of those (over several lines, trailing comma and comments allowed).
//! Not supported (an error, never a silent misreading): inline tables, arrays of tables,
//! dotted keys, multi-line strings, dates. Every error names the 1-based line.

/// A parsed value.
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

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

/// Parses `text` into its tables (the root table first, possibly empty).
pub(crate) fn parse(text: &str) -> Result<Vec<Table>, ParseError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut tables = vec![Table {
        path: Vec::new(),
        line: 1,
        entries: Vec::new(),
    }];
    loop {
        p.skip_blank_lines();
        let Some(c) = p.peek() else { break };
        let line = p.line;
        if c == '[' {
            p.bump();
            if p.peek() == Some('[') {
                return err(line, "arrays of tables (`[[…]]`) are not supported");
            }
            let path = p.parse_table_path()?;
            if tables.iter().any(|t| t.path == path) {
                return err(line, format!("table [{}] defined twice", path.join(".")));
            }
            p.end_of_line()?;
            tables.push(Table {
                path,
                line,
                entries: Vec::new(),
            });
        } else {
            let key = p.parse_key()?;
            p.skip_spaces();
            if p.peek() == Some('.') {
                return err(line, "dotted keys are not supported; use a [table] header");
            }
            if p.peek() != Some('=') {
                return err(line, format!("expected `=` after key `{key}`"));
            }
            p.bump();
            p.skip_spaces();
            let value = p.parse_value()?;
            p.end_of_line()?;
            let table = tables.last_mut().ok_or(ParseError {
                line,
                message: "internal: no table".into(),
            })?;
            if table.entries.iter().any(|e| e.key == key) {
                return err(line, format!("key `{key}` defined twice in the same table"));
            }
            table.entries.push(Entry { key, value, line });
        }
    }
    Ok(tables)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    fn skip_comment(&mut self) {
        if self.peek() == Some('#') {
            while !matches!(self.peek(), None | Some('\n')) {
                self.bump();
            }
        }
    }

    /// Skips whitespace, line breaks and comments.
    fn skip_blank_lines(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r' | '\n' | '\u{feff}') => {
                    self.bump();
                }
                Some('#') => self.skip_comment(),
                _ => return,
            }
        }
    }

    /// After a header or a value: only spaces and a comment may follow on the line.
    fn end_of_line(&mut self) -> Result<(), ParseError> {
        self.skip_spaces();
        self.skip_comment();
        match self.peek() {
            None | Some('\n') => Ok(()),
            Some('\r') if self.chars.get(self.pos + 1) == Some(&'\n') => Ok(()),
            Some(c) => err(self.line, format!("unexpected `{c}` after the value")),
        }
    }

    fn parse_key(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some('"') => self.parse_basic_string(),
            Some('\'') => self.parse_literal_string(),
            _ => {
                let mut key = String::new();
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        key.push(c);
                        self.bump();
                    } else {
                        break;
                    }
                }
                if key.is_empty() {
                    let found = self
                        .peek()
                        .map_or("end of file".to_owned(), |c| format!("`{c}`"));
                    return err(self.line, format!("expected a key, found {found}"));
                }
                Ok(key)
            }
        }
    }

    fn parse_table_path(&mut self) -> Result<Vec<String>, ParseError> {
        let mut path = Vec::new();
        loop {
            self.skip_spaces();
            path.push(self.parse_key()?);
            self.skip_spaces();
            match self.bump() {
                Some('.') => continue,
                Some(']') => return Ok(path),
                _ => return err(self.line, "unterminated table header"),
            }
        }
    }

    fn parse_value(&mut self) -> Result<Value, ParseError> {
        let line = self.line;
        match self.peek() {
            Some('"') => {
                if self.chars.get(self.pos + 1) == Some(&'"')
                    && self.chars.get(self.pos + 2) == Some(&'"')
                {
                    return err(line, "multi-line strings are not supported");
                }
                self.parse_basic_string().map(Value::Str)
            }
            Some('\'') => self.parse_literal_string().map(Value::Str),
            Some('[') => self.parse_array(),
            Some('{') => err(line, "inline tables are not supported"),
            Some(c) if c == '+' || c == '-' || c.is_ascii_digit() => self.parse_number(),
            Some(c) if c.is_ascii_alphabetic() => {
                let mut word = String::new();
                while let Some(c) = self.peek().filter(char::is_ascii_alphanumeric) {
                    word.push(c);
                    self.bump();
                }
                match word.as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "inf" | "nan" => err(line, "inf and nan are not allowed"),
                    _ => err(line, format!("unexpected `{word}`: strings must be quoted")),
                }
            }
            Some(c) => err(line, format!("unexpected `{c}`: expected a value")),
            None => err(line, "expected a value, found end of file"),
        }
    }

    fn parse_number(&mut self) -> Result<Value, ParseError> {
        let line = self.line;
        let mut raw = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_') {
                if c != '_' {
                    raw.push(c);
                }
                self.bump();
            } else {
                break;
            }
        }
        let is_float = raw.contains(['.', 'e', 'E']) && !raw.starts_with("0x");
        if is_float {
            match raw.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::Float(f)),
                _ => err(line, format!("invalid number `{raw}`")),
            }
        } else {
            raw.parse::<i64>()
                .map(Value::Int)
                .or_else(|_| err(line, format!("invalid number `{raw}`")))
        }
    }

    fn parse_array(&mut self) -> Result<Value, ParseError> {
        let start = self.line;
        self.bump(); // '['
        let mut items = Vec::new();
        loop {
            self.skip_blank_lines();
            match self.peek() {
                None => return err(start, "unterminated array"),
                Some(']') => {
                    self.bump();
                    return Ok(Value::Array(items));
                }
                _ => {}
            }
            items.push(self.parse_value()?);
            self.skip_blank_lines();
            match self.bump() {
                Some(',') => continue,
                Some(']') => return Ok(Value::Array(items)),
                None => return err(start, "unterminated array"),
                Some(c) => {
                    return err(
                        self.line,
                        format!("expected `,` or `]` in array, found `{c}`"),
                    );
                }
            }
        }
    }

    fn parse_literal_string(&mut self) -> Result<String, ParseError> {
        let line = self.line;
        self.bump(); // '\''
        let mut out = String::new();
        loop {
            match self.bump() {
                Some('\'') => return Ok(out),
                Some('\n') | None => return err(line, "unterminated string"),
                Some(c) => out.push(c),
            }
        }
    }

    fn parse_basic_string(&mut self) -> Result<String, ParseError> {
        let line = self.line;
        self.bump(); // '"'
        let mut out = String::new();
        loop {
            match self.bump() {
                Some('"') => return Ok(out),
                Some('\n') | None => return err(line, "unterminated string"),
                Some('\\') => {
                    let c = match self.bump() {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('e') => '\u{1b}',
                        Some(u @ ('u' | 'U')) => {
                            let len = if u == 'u' { 4 } else { 8 };
                            let mut hex = String::new();
                            for _ in 0..len {
                                hex.extend(self.bump());
                            }
                            let code = u32::from_str_radix(&hex, 16).ok();
                            match code.and_then(char::from_u32) {
                                Some(c) => c,
                                None => return err(line, format!("invalid escape \\{u}{hex}")),
                            }
                        }
                        Some(c) => return err(line, format!("invalid escape \\{c}")),
                        None => return err(line, "unterminated string"),
                    };
                    out.push(c);
                }
                Some(c) => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_subset() {
        let text = "# c\ntop = 1\n[a.\"b c\"]\nx = \"q\\\"\\u0041\" # c\ny = [\n 'l',\n -2.5, # c\n true,\n]\n";
        let tables = parse(text).expect("parses");
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].entries[0].value, Value::Int(1));
        assert_eq!(tables[1].path, ["a", "b c"]);
        assert_eq!(tables[1].entries[0].value, Value::Str("q\"A".into()));
        assert_eq!(
            tables[1].entries[1].value,
            Value::Array(vec![
                Value::Str("l".into()),
                Value::Float(-2.5),
                Value::Bool(true)
            ])
        );
    }

    #[test]
    fn errors_name_lines() {
        for (text, line) in [
            ("a = 1\nb = {x = 1}", 2),
            ("[a]\n[a]", 2),
            ("a = \"x", 1),
            ("a = 1 2", 1),
            ("\n\na = [1,\n2", 3),
            ("[[x]]", 1),
            ("a.b = 1", 1),
            ("a = nope", 1),
        ] {
            let e = parse(text).expect_err(text);
            assert_eq!(e.line, line, "{text}: {}", e.message);
        }
    }
}
