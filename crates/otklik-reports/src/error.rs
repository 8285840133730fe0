//! The error of every report.

/// What can go wrong building or exporting a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] otklik_store::StoreError),
    /// The search index failed (saved-search alerts).
    #[error(transparent)]
    Search(#[from] otklik_search::SearchError),
    /// Writing the XLSX workbook failed.
    #[error("cannot write the XLSX workbook: {0}")]
    Xlsx(String),
    /// The input is not acceptable (a bad period, an unknown dimension); the text says why.
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with [`ReportError`].
pub type Result<T, E = ReportError> = std::result::Result<T, E>;
