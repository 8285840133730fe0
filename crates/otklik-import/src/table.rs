//! Reading a CSV file into header-checked rows of trimmed text fields.

use std::io::Read;
use std::path::PathBuf;

use crate::ImportError;
use crate::error::Errors;

/// Largest file accepted, in bytes (directory files are far smaller).
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One column a file kind knows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) required: bool,
}

/// Shorthand for a required column.
pub(crate) const fn req(name: &'static str) -> Column {
    Column {
        name,
        required: true,
    }
}

/// Shorthand for an optional column.
pub(crate) const fn opt(name: &'static str) -> Column {
    Column {
        name,
        required: false,
    }
}

/// A data row: fields by the spec's column order (absent columns read as empty).
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) line: u64,
    spec: &'static [Column],
    fields: Vec<String>,
}

impl Row {
    /// The trimmed field of a column ("" when the column is absent from the file).
    pub(crate) fn get(&self, column: &str) -> &str {
        self.spec
            .iter()
            .position(|c| c.name == column)
            .and_then(|i| self.fields.get(i))
            .map_or("", String::as_str)
    }
}

/// Reads the whole input, checks the header against `spec` and returns the non-empty rows.
///
/// Header and row-shape problems are pushed to `errs`; the rows that could be read are still
/// returned so their fields are checked too. I/O failures and oversized input are hard errors.
pub(crate) fn read_rows<R: Read>(
    reader: R,
    spec: &'static [Column],
    errs: &mut Errors,
) -> Result<Vec<Row>, ImportError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ImportError::Io {
            path: PathBuf::from(errs.file()),
            source,
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge {
            file: errs.file().to_owned(),
            limit: MAX_FILE_BYTES,
        });
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);

    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut records = csv.byte_records();

    let required = required_list(spec);
    let header = loop {
        match records.next() {
            None => {
                errs.push(
                    1,
                    None,
                    format!("the file is empty; a header row is required ({required})"),
                );
                return Ok(Vec::new());
            }
            Some(Err(e)) => {
                errs.push(line_of(&e), None, format!("unreadable CSV: {e}"));
                return Ok(Vec::new());
            }
            Some(Ok(r)) if is_blank(&r) => continue,
            Some(Ok(r)) => break r,
        }
    };
    let header_line = start_line(body, header.position());
    let Some(index) = check_header(&header, header_line, spec, errs) else {
        return Ok(Vec::new());
    };

    let mut rows = Vec::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errs.push(line_of(&e), None, format!("unreadable CSV: {e}"));
                continue;
            }
        };
        if is_blank(&record) {
            continue;
        }
        let line = start_line(body, record.position());
        if record.len() != index.len() {
            errs.push(
                line,
                None,
                format!(
                    "expected {} fields as in the header, found {}",
                    index.len(),
                    record.len()
                ),
            );
            continue;
        }
        let mut fields = vec![String::new(); spec.len()];
        let mut ok = true;
        for (raw, slot) in record.iter().zip(&index) {
            match std::str::from_utf8(raw) {
                Ok(text) => {
                    if let Some(field) = fields.get_mut(*slot) {
                        *field = text.trim().to_owned();
                    }
                }
                Err(_) => {
                    let column = spec.get(*slot).map(|c| c.name);
                    errs.push(
                        line,
                        column,
                        "text is not valid UTF-8 (save the file as CSV UTF-8; Windows-1251 is not supported)",
                    );
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            rows.push(Row { line, spec, fields });
        }
    }
    Ok(rows)
}

/// Maps each header cell to the spec column it names, or reports why it cannot.
fn check_header(
    header: &csv::ByteRecord,
    line: u64,
    spec: &'static [Column],
    errs: &mut Errors,
) -> Option<Vec<usize>> {
    let before = errs.len();
    let allowed = spec.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
    let mut index = Vec::with_capacity(header.len());
    let mut seen = vec![false; spec.len()];

    if header.len() == 1 && header.iter().any(|h| h.contains(&b';')) {
        errs.push(
            line,
            None,
            "the header has a single column; the file seems to use ';' as separator — columns must be separated by ','",
        );
        return None;
    }

    for cell in header.iter() {
        let Ok(name) = std::str::from_utf8(cell) else {
            errs.push(
                line,
                None,
                "header is not valid UTF-8 (save the file as CSV UTF-8)",
            );
            return None;
        };
        let name = name.trim().to_lowercase();
        if name.is_empty() {
            errs.push(
                line,
                None,
                format!("empty column name in the header (allowed: {allowed})"),
            );
            continue;
        }
        match spec.iter().position(|c| c.name == name) {
            None => errs.push(
                line,
                Some(&name),
                format!("unknown column \"{name}\" (allowed: {allowed})"),
            ),
            Some(i) => {
                if let Some(s) = seen.get_mut(i) {
                    if *s {
                        errs.push(line, Some(&name), "column appears twice in the header");
                    }
                    *s = true;
                }
                index.push(i);
            }
        }
    }
    let required = required_list(spec);
    for (column, seen) in spec.iter().zip(&seen) {
        if column.required && !seen {
            errs.push(
                line,
                Some(column.name),
                format!("required column is missing (required: {required})"),
            );
        }
    }
    (errs.len() == before).then_some(index)
}

fn required_list(spec: &[Column]) -> String {
    spec.iter()
        .filter(|c| c.required)
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The line a record really starts on: csv reports the position where reading began, which
/// may be an empty line it skipped.
fn start_line(body: &[u8], position: Option<&csv::Position>) -> u64 {
    let Some(p) = position else {
        return 0;
    };
    let mut line = p.line();
    let start = usize::try_from(p.byte()).unwrap_or(usize::MAX);
    for b in body.iter().skip(start) {
        match b {
            b'\n' => line += 1,
            b'\r' => {}
            _ => break,
        }
    }
    line
}

fn is_blank(record: &csv::ByteRecord) -> bool {
    record.iter().all(|f| f.trim_ascii().is_empty())
}

fn line_of(e: &csv::Error) -> u64 {
    e.position().map_or(0, csv::Position::line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Column] = &[req("code"), req("name"), opt("note")];

    fn read(text: &str) -> (Vec<Row>, Errors) {
        let mut errs = Errors::new("t.csv");
        let rows = read_rows(text.as_bytes(), SPEC, &mut errs).unwrap_or_default();
        (rows, errs)
    }

    fn messages(errs: Errors) -> Vec<String> {
        match errs.into_result(()) {
            Ok(()) => Vec::new(),
            Err(e) => e.row_errors().iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn lines_count_like_an_editor() {
        let (rows, errs) = read("\u{feff}Name, CODE\nА,a\n\n\"Б,\nв\",b\nГ,c\n");
        assert!(errs.is_empty());
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4, 6]);
        assert_eq!(rows[1].get("name"), "Б,\nв");
        assert_eq!(rows[1].get("code"), "b");
        assert_eq!(rows[1].get("note"), "");
    }

    #[test]
    fn header_problems_are_listed() {
        let (_, errs) = read("code,nmae,code\nx,y,z\n");
        assert_eq!(
            messages(errs),
            vec![
                "t.csv:1: column nmae: unknown column \"nmae\" (allowed: code, name, note)",
                "t.csv:1: column code: column appears twice in the header",
                "t.csv:1: column name: required column is missing (required: code, name)",
            ]
        );
        let (_, errs) = read("code;name\nx;y\n");
        assert!(messages(errs)[0].contains("';' as separator"));
        let (_, errs) = read("");
        assert!(messages(errs)[0].starts_with("t.csv:1: the file is empty"));
    }

    #[test]
    fn wrong_field_count_and_bad_utf8() {
        let mut errs = Errors::new("t.csv");
        let rows = read_rows(&b"code,name\na,b,c\nb,\xC0\xC1\nc,d\n"[..], SPEC, &mut errs)
            .unwrap_or_default();
        assert_eq!(rows.len(), 1);
        let m = messages(errs);
        assert_eq!(m[0], "t.csv:2: expected 2 fields as in the header, found 3");
        assert!(m[1].starts_with("t.csv:3: column name: text is not valid UTF-8"));
    }
}
