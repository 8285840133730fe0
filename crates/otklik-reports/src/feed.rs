//! Reading the store's messages for a report: a page at a time in id order, so memory stays
//! flat however many messages there are.

use otklik_domain::MessageRecord;

use crate::{Period, Result};

/// Messages read from the store per page.
pub const PAGE: i64 = 1_000;

/// Calls `each` for every message registered in `period`, reading `page` at a time in id
/// order; `progress` gets the number read so far after every page. Returns how many were
/// read.
pub async fn for_each_record(
    store: &otklik_store::Store,
    period: Period,
    page: i64,
    progress: &mut (dyn FnMut(u64) + Send),
    mut each: impl FnMut(&MessageRecord),
) -> Result<u64> {
    let page = page.clamp(1, otklik_store::MAX_REPORT_PAGE);
    let mut after = i64::MIN;
    let mut read = 0u64;
    loop {
        let rows = store
            .report_records_after(after, period.since, period.until, page)
            .await?;
        for r in &rows {
            each(r);
        }
        read += rows.len() as u64;
        progress(read);
        match rows.last() {
            Some(last) if rows.len() as i64 == page => after = last.message.id.get(),
            _ => break,
        }
    }
    Ok(read)
}
