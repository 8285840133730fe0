//! The output form every report turns into: titled tables of typed cells, exported as CSV
//! (RFC 4180), XLSX (one worksheet per table) or aligned text for a terminal.

use rust_xlsxwriter::{Format, Workbook};

use crate::{ReportError, Result};

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing (no rated messages, no answer yet).
    Empty,
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number shown with this many decimals.
    Num(f64, u8),
}

impl Cell {
    /// Text cell.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// A count.
    pub fn count(n: u64) -> Cell {
        Cell::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// A number with `decimals`, or empty.
    pub fn num(value: Option<f64>, decimals: u8) -> Cell {
        match value {
            Some(v) if v.is_finite() => Cell::Num(v, decimals),
            _ => Cell::Empty,
        }
    }

    /// As CSV or terminal text.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(v, d) => format!("{v:.prec$}", prec = usize::from(*d)),
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Num(..))
    }
}

/// A titled table: a header row and rows of cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Title (the worksheet's name in XLSX, a heading in text).
    pub title: String,
    /// Column names.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Self {
        Self {
            title: title.into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// The table as CSV (RFC 4180: comma-separated, fields with a comma, quote or line
    /// break quoted, quotes doubled, CRLF line ends), header first.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = String>| {
            let cells: Vec<String> = cells.map(|c| csv_field(&c)).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        };
        line(&mut self.headers.iter().cloned());
        for row in &self.rows {
            line(&mut row.iter().map(Cell::display));
        }
        out
    }

    /// The table as aligned text: the title, the header, a rule, the rows (numbers right
    /// aligned).
    pub fn to_text(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        let shown: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::display).collect())
            .collect();
        for row in &shown {
            for (k, cell) in row.iter().enumerate().take(columns) {
                widths[k] = widths[k].max(cell.chars().count());
            }
        }
        let pad = |s: &str, w: usize, right: bool| {
            let fill = " ".repeat(w.saturating_sub(s.chars().count()));
            if right {
                format!("{fill}{s}")
            } else {
                format!("{s}{fill}")
            }
        };
        let mut out = String::new();
        if !self.title.is_empty() {
            out.push_str(&self.title);
            out.push('\n');
        }
        let header: Vec<String> = self
            .headers
            .iter()
            .zip(&widths)
            .map(|(h, w)| pad(h, *w, false))
            .collect();
        out.push_str(header.join("  ").trim_end());
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&rule.join("  "));
        out.push('\n');
        for (row, cells) in shown.iter().zip(&self.rows) {
            let line: Vec<String> = row
                .iter()
                .zip(cells)
                .zip(&widths)
                .map(|((s, c), w)| pad(s, *w, c.is_number()))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// One CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// A worksheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, not empty,
/// unique among `taken`.
fn sheet_name(title: &str, taken: &[String]) -> String {
    let clean: String = title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .collect();
    let clean = clean.trim().trim_matches('\'');
    let base: String = if clean.is_empty() {
        "Отчёт".to_owned()
    } else {
        clean.chars().take(31).collect()
    };
    let mut name = base.clone();
    let mut n = 2;
    while taken
        .iter()
        .any(|t| t.to_lowercase() == name.to_lowercase())
    {
        let suffix = format!(" {n}");
        let keep = 31 - suffix.chars().count();
        name = format!("{}{suffix}", base.chars().take(keep).collect::<String>());
        n += 1;
    }
    name
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> ReportError {
    ReportError::Xlsx(e.to_string())
}

/// The tables as an XLSX workbook (one worksheet per table, in order: the header row bold
/// and frozen, numbers as numbers), as bytes ready to write to a `.xlsx` file.
pub fn to_xlsx(tables: &[Table]) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let mut taken: Vec<String> = Vec::new();
    for table in tables {
        let name = sheet_name(&table.title, &taken);
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name).map_err(xlsx_error)?;
        taken.push(name);
        let mut widths: Vec<usize> = table.headers.iter().map(|h| h.chars().count()).collect();
        for (col, header) in table.headers.iter().enumerate() {
            let col = column(col)?;
            sheet
                .write_string_with_format(0, col, header, &bold)
                .map_err(xlsx_error)?;
        }
        let mut formats: Vec<(u8, Format)> = Vec::new();
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1)
                .map_err(|_| ReportError::Invalid("too many rows for XLSX".into()))?;
            for (c, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(c) {
                    *w = (*w).max(cell.display().chars().count());
                }
                let c = column(c)?;
                match cell {
                    Cell::Empty => {}
                    Cell::Text(s) => {
                        sheet.write_string(r, c, s).map_err(xlsx_error)?;
                    }
                    Cell::Int(n) => {
                        sheet.write_number(r, c, *n as f64).map_err(xlsx_error)?;
                    }
                    Cell::Num(v, d) => {
                        if !formats.iter().any(|(k, _)| k == d) {
                            let pattern = if *d == 0 {
                                "0".to_owned()
                            } else {
                                format!("0.{}", "0".repeat(usize::from(*d)))
                            };
                            formats.push((*d, Format::new().set_num_format(pattern)));
                        }
                        let format = formats
                            .iter()
                            .find(|(k, _)| k == d)
                            .map(|(_, f)| f)
                            .ok_or_else(|| ReportError::Xlsx("number format missing".into()))?;
                        sheet
                            .write_number_with_format(r, c, *v, format)
                            .map_err(xlsx_error)?;
                    }
                }
            }
        }
        for (c, w) in widths.iter().enumerate() {
            let width = (*w).clamp(6, 60) as f64 + 2.0;
            sheet
                .set_column_width(column(c)?, width)
                .map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    }
    if tables.is_empty() {
        workbook.add_worksheet();
    }
    workbook.save_to_buffer().map_err(xlsx_error)
}

fn column(c: usize) -> Result<u16> {
    u16::try_from(c).map_err(|_| ReportError::Invalid("too many columns for XLSX".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new("Тест", &["организация", "сообщений", "средняя"]);
        t.push(vec![
            Cell::text("Минздрав, \"областной\""),
            Cell::count(12),
            Cell::num(Some(4.256), 2),
        ]);
        t.push(vec![Cell::text("ЦУР"), Cell::Int(3), Cell::num(None, 2)]);
        t
    }

    #[test]
    fn csv_quotes_as_rfc_4180() {
        assert_eq!(
            sample().to_csv(),
            "организация,сообщений,средняя\r\n\"Минздрав, \"\"областной\"\"\",12,4.26\r\nЦУР,3,\r\n"
        );
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn text_is_aligned() {
        let text = sample().to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Тест");
        assert!(lines[1].starts_with("организация"));
        assert!(lines[3].ends_with(" 12     4.26"), "{text}");
        assert!(lines[4].starts_with("ЦУР "), "{text}");
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        assert_eq!(sheet_name("a/b:c", &[]), "a b c");
        let long = "я".repeat(40);
        assert_eq!(sheet_name(&long, &[]).chars().count(), 31);
        let taken = vec!["Отчёт".to_owned()];
        assert_eq!(sheet_name("", &taken), "Отчёт 2");
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = to_xlsx(&[sample(), Table::new("Второй", &["x"])]).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
