//! Labelled examples from CSV, and stratified folds.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::error::{ClassifyError, Result};

/// Labelled examples read from a CSV file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    /// `(text, label)` pairs, in file order.
    pub examples: Vec<(String, String)>,
    /// Rows skipped because the text or the label was empty.
    pub skipped: usize,
}

/// Reads a CSV file with a header holding a `text` column and `label_column` (usually
/// `label`); other columns are ignored. Rows with an empty text or label (after trimming) are
/// skipped and counted. A malformed row gives [`ClassifyError::Csv`] with its line number.
pub fn read_csv(path: &Path, label_column: &str) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|source| ClassifyError::Io {
        path: path.to_owned(),
        source,
    })?;
    read_csv_from(file, label_column)
}

/// [`read_csv`] from any reader.
pub fn read_csv_from(reader: impl Read, label_column: &str) -> Result<Dataset> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let headers = rdr.headers().map_err(|e| csv_error(&e, 1))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == name)
            .ok_or_else(|| ClassifyError::MissingColumn(name.to_owned()))
    };
    let text_col = column("text")?;
    let label_col = column(label_column)?;
    let mut out = Dataset::default();
    let mut record = csv::StringRecord::new();
    let mut row = 1u64;
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                row = record.position().map_or(row + 1, csv::Position::line);
                let text = record.get(text_col).unwrap_or("").trim();
                let label = record.get(label_col).unwrap_or("").trim();
                if text.is_empty() || label.is_empty() {
                    out.skipped += 1;
                } else {
                    out.examples.push((text.to_owned(), label.to_owned()));
                }
            }
            Err(e) => return Err(csv_error(&e, row + 1)),
        }
    }
    Ok(out)
}

fn csv_error(e: &csv::Error, fallback_row: u64) -> ClassifyError {
    let row = e.position().map_or(fallback_row, csv::Position::line);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields, found {len}"),
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_owned(),
        _ => e.to_string(),
    };
    ClassifyError::Csv { row, message }
}

/// SplitMix64: a tiny deterministic generator for shuffling.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Assigns each example to one of `k` folds so that every label is spread evenly over the
/// folds (stratified), deterministically for a given `seed`. Returns the fold of each index.
/// `k` of 0 is treated as 1.
pub fn stratified_folds<S: AsRef<str>>(labels: &[S], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        by_label.entry(l.as_ref()).or_default().push(i);
    }
    let mut rng = SplitMix::new(seed);
    let mut folds = vec![0; labels.len()];
    let mut next = 0usize;
    for idx in by_label.values_mut() {
        rng.shuffle(idx);
        for &i in idx.iter() {
            if let Some(f) = folds.get_mut(i) {
                *f = next % k;
            }
            next += 1;
        }
    }
    folds
}
