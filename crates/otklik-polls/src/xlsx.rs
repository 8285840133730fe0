//! XLSX export of a table of cells: one worksheet, the header row bold and frozen, numbers as
//! numbers, written with `rust_xlsxwriter` (the same writer the reports use).

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::error::{PollsError, Result};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Number(f64),
    /// Nothing.
    Empty,
}

/// Longest worksheet name Excel accepts.
const MAX_SHEET_NAME: usize = 31;

fn export_error(e: XlsxError) -> PollsError {
    PollsError::Export(e.to_string())
}

/// A worksheet name Excel accepts: `[]:*?/\` replaced, at most 31 characters, not empty.
pub fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(MAX_SHEET_NAME)
        .collect();
    let trimmed = cleaned.trim_matches('\'');
    if trimmed.trim().is_empty() {
        "Sheet1".into()
    } else {
        trimmed.to_owned()
    }
}

/// Text Excel can hold: characters XML 1.0 forbids dropped.
fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r')
                || (u32::from(*c) >= 0x20 && *c != '\u{FFFE}' && *c != '\u{FFFF}')
        })
        .collect()
}

/// Writes a workbook with one sheet named `sheet` (see [`sheet_name`]); the first row is a
/// bold, frozen header.
pub fn workbook(sheet: &str, rows: &[Vec<Cell>]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = book.add_worksheet();
    ws.set_name(sheet_name(sheet)).map_err(export_error)?;
    let mut widths: Vec<usize> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r).map_err(|_| PollsError::Export("too many rows".into()))?;
        for (c, cell) in row.iter().enumerate() {
            let col =
                u16::try_from(c).map_err(|_| PollsError::Export("too many columns".into()))?;
            let shown = match cell {
                Cell::Text(t) => t.chars().count(),
                Cell::Int(i) => i.to_string().len(),
                Cell::Number(x) => x.to_string().len(),
                Cell::Empty => 0,
            };
            if widths.len() <= c {
                widths.resize(c + 1, 0);
            }
            widths[c] = widths[c].max(shown);
            let header = r == 0;
            match cell {
                Cell::Text(t) => {
                    let t = xml_text(t);
                    if header {
                        ws.write_string_with_format(r, col, &t, &bold)
                    } else {
                        ws.write_string(r, col, &t)
                    }
                    .map_err(export_error)?;
                }
                Cell::Int(i) => {
                    // Counts and roubles are far below 2^53: exact as f64.
                    ws.write_number(r, col, *i as f64).map_err(export_error)?;
                }
                Cell::Number(x) if x.is_finite() => {
                    ws.write_number(r, col, *x).map_err(export_error)?;
                }
                Cell::Number(_) | Cell::Empty => {}
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        let col = u16::try_from(c).map_err(|_| PollsError::Export("too many columns".into()))?;
        let width = (*w).clamp(6, 60) as f64 + 2.0;
        ws.set_column_width(col, width).map_err(export_error)?;
    }
    if !rows.is_empty() {
        ws.set_freeze_panes(1, 0).map_err(export_error)?;
    }
    book.save_to_buffer().map_err(export_error)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Read as _;

    use super::*;

    /// The text of entry `name` of the XLSX (ZIP) `bytes`.
    pub(crate) fn entry(bytes: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
        let mut f = zip.by_name(name).expect("entry");
        let mut s = String::new();
        f.read_to_string(&mut s).expect("utf-8");
        s
    }

    #[test]
    fn sheet_names_are_what_excel_accepts() {
        assert_eq!(sheet_name("Итоги: [1]"), "Итоги_ _1_");
        assert_eq!(sheet_name("  "), "Sheet1");
        assert_eq!(sheet_name(&"я".repeat(40)).chars().count(), 31);
    }

    #[test]
    fn a_workbook_is_a_zip_with_the_sheet_and_the_cells() {
        let rows = vec![
            vec![Cell::Text("Вариант".into()), Cell::Text("Голосов".into())],
            vec![
                Cell::Text("Сквер <у реки> & \"парк\"\u{1}".into()),
                Cell::Int(42),
            ],
            vec![Cell::Text("Итого".into()), Cell::Number(12.5), Cell::Empty],
        ];
        let bytes = workbook("Итоги: [1]", &rows).expect("written");
        assert!(entry(&bytes, "[Content_Types].xml").contains("worksheet"));
        assert!(entry(&bytes, "xl/workbook.xml").contains(r#"name="Итоги_ _1_""#));
        let sheet = entry(&bytes, "xl/worksheets/sheet1.xml");
        assert!(sheet.contains("<v>42</v>"), "{sheet}");
        assert!(sheet.contains("<v>12.5</v>"), "{sheet}");
        assert!(
            sheet.contains("<pane ySplit=\"1\""),
            "frozen header: {sheet}"
        );
        let strings = entry(&bytes, "xl/sharedStrings.xml");
        assert!(strings.contains("Вариант"), "{strings}");
        assert!(strings.contains("Сквер &lt;у реки&gt; &amp;"), "{strings}");
        assert!(!strings.contains('\u{1}'), "control characters dropped");
    }
}
