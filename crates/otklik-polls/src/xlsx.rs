//! A minimal XLSX writer: one worksheet of text and numbers, inline strings, a bold header
//! row, packed as an uncompressed ZIP (stored entries with CRC-32). Enough for result exports
//! that Excel, LibreOffice and pandas open; no dependency beyond `crc32fast`.
//!
//! (`rust_xlsxwriter` was measured at ~60 s of CPU to build with its ZIP and deflate stack on
//! this machine; a table export needs none of its features.)

use crate::error::{PollsError, Result};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (inline string).
    Text(String),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Number(f64),
    /// Nothing.
    Empty,
}

/// Writes a workbook with one sheet named `sheet` (cut to 31 characters, `[]:*?/\` replaced);
/// the first row is bold (a header).
pub fn workbook(sheet: &str, rows: &[Vec<Cell>]) -> Result<Vec<u8>> {
    let mut name: String = sheet
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    if name.trim().is_empty() {
        name = "Sheet1".into();
    }
    let mut sheet_xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, row) in rows.iter().enumerate() {
        let rn = r + 1;
        sheet_xml.push_str(&format!(r#"<row r="{rn}">"#));
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{rn}", column_name(c));
            let style = if r == 0 { r#" s="1""# } else { "" };
            match cell {
                Cell::Text(t) => sheet_xml.push_str(&format!(
                    r#"<c r="{at}" t="inlineStr"{style}><is><t xml:space="preserve">{}</t></is></c>"#,
                    escape(t)
                )),
                Cell::Int(i) => sheet_xml.push_str(&format!(r#"<c r="{at}"{style}><v>{i}</v></c>"#)),
                Cell::Number(x) if x.is_finite() => {
                    sheet_xml.push_str(&format!(r#"<c r="{at}"{style}><v>{x}</v></c>"#));
                }
                Cell::Number(_) | Cell::Empty => {}
            }
        }
        sheet_xml.push_str("</row>");
    }
    sheet_xml.push_str("</sheetData></worksheet>");
    let workbook_xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        escape(&name)
    );
    let files: [(&str, &[u8]); 6] = [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("xl/workbook.xml", workbook_xml.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        ("xl/styles.xml", STYLES.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet_xml.as_bytes()),
    ];
    zip_stored(&files)
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"#;

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column.
pub fn column_name(mut c: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + u8::try_from(c % 26).unwrap_or(0));
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// XML text: markup characters escaped, characters XML 1.0 forbids dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A ZIP archive of `files`, stored without compression.
fn zip_stored(files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let too_big = || PollsError::Export("the export is larger than 4 GB".into());
    let u32_of = |n: usize| u32::try_from(n).map_err(|_| too_big());
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let crc = crc32fast::hash(data);
        let size = u32_of(data.len())?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_big())?;
        let offset = u32_of(out.len())?;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
        out.extend_from_slice(&0u16.to_le_bytes()); // stored
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&0x0021u16.to_le_bytes()); // date: 1980-01-01
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        central.extend_from_slice(&0x0800u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0x0021u16.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 12]); // extra, comment, disk, internal attrs, external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = u32_of(out.len())?;
    let cd_size = u32_of(central.len())?;
    let count = u16::try_from(files.len()).map_err(|_| too_big())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    Ok(out)
}

/// Reads back the entries of a stored ZIP written by this module (tests), checking every
/// CRC. `None` when the archive is malformed.
pub fn read_stored_zip(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let u16_at = |i: usize| -> Option<usize> {
        Some(usize::from(u16::from_le_bytes(
            bytes.get(i..i + 2)?.try_into().ok()?,
        )))
    };
    let u32_at = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?))
    };
    let eocd = bytes.len().checked_sub(22)?;
    if u32_at(eocd)? != 0x0605_4b50 {
        return None;
    }
    let count = u16_at(eocd + 10)?;
    let mut at = usize::try_from(u32_at(eocd + 16)?).ok()?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        if u32_at(at)? != 0x0201_4b50 {
            return None;
        }
        let crc = u32_at(at + 16)?;
        let size = usize::try_from(u32_at(at + 20)?).ok()?;
        let name_len = u16_at(at + 28)?;
        let extra = u16_at(at + 30)? + u16_at(at + 32)?;
        let local = usize::try_from(u32_at(at + 42)?).ok()?;
        let name = String::from_utf8(bytes.get(at + 46..at + 46 + name_len)?.to_vec()).ok()?;
        if u32_at(local)? != 0x0403_4b50 || u16_at(local + 8)? != 0 {
            return None;
        }
        let start = local + 30 + u16_at(local + 26)? + u16_at(local + 28)?;
        let data = bytes.get(start..start + size)?.to_vec();
        if crc32fast::hash(&data) != crc {
            return None;
        }
        out.push((name, data));
        at += 46 + name_len + extra;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn a_workbook_is_a_valid_zip_with_the_cells() {
        let rows = vec![
            vec![Cell::Text("Вариант".into()), Cell::Text("Голосов".into())],
            vec![
                Cell::Text("Сквер <у реки> & \"парк\"\u{1}".into()),
                Cell::Int(42),
            ],
            vec![Cell::Text("Итого".into()), Cell::Number(12.5), Cell::Empty],
        ];
        let bytes = workbook("Итоги: [1]", &rows).expect("written");
        let files = read_stored_zip(&bytes).expect("a valid zip");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "[Content_Types].xml",
                "_rels/.rels",
                "xl/workbook.xml",
                "xl/_rels/workbook.xml.rels",
                "xl/styles.xml",
                "xl/worksheets/sheet1.xml"
            ]
        );
        let text = |name: &str| {
            let (_, data) = files.iter().find(|(n, _)| n == name).expect("entry");
            String::from_utf8(data.clone()).expect("utf-8")
        };
        assert!(text("xl/workbook.xml").contains(r#"name="Итоги_ _1_""#));
        let sheet = text("xl/worksheets/sheet1.xml");
        assert!(
            sheet.contains(
                r#"<c r="A1" t="inlineStr" s="1"><is><t xml:space="preserve">Вариант</t>"#
            ),
            "{sheet}"
        );
        assert!(
            sheet.contains("Сквер &lt;у реки&gt; &amp; &quot;парк&quot;</t>"),
            "{sheet}"
        );
        assert!(sheet.contains(r#"<c r="B2"><v>42</v></c>"#), "{sheet}");
        assert!(sheet.contains(r#"<c r="B3"><v>12.5</v></c>"#), "{sheet}");
        // A flipped byte is caught by the CRC.
        let mut broken = bytes.clone();
        if let Some(b) = broken.get_mut(100) {
            *b ^= 0xff;
        }
        assert!(read_stored_zip(&broken).is_none());
    }
}
