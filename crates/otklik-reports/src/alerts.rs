//! E-mail alerts on spikes of saved searches.
//!
//! For every saved search ([`otklik_store::SavedSearch`]): the documents of the archive index
//! matching its query and filters are counted for today and for each of the trailing days
//! (default 28, as [`otklik_search::SpikeQuery`]); the spike test is the one of the archive's
//! spikes ([`otklik_search::topics`]): ratio `(today + 1) / (mean + 1)` and z-score
//! `(today − mean) / sqrt(max(variance, mean) + 1)`. A search spikes when today has at least
//! its `min_count` documents, the ratio reaches its `min_ratio_pct` / 100 and the z-score
//! the spikes' default minimum. A spiking search gets one alert e-mail per UTC day
//! ([`otklik_notify::SearchSpikeAlert`], idempotency key `saved-search:ID:YYYY-MM-DD`),
//! queued in the outbox together with the alert time
//! ([`otklik_store::Store::record_saved_search_alert`]); a second check the same day queues
//! nothing.

use otklik_domain::Timestamp;
use otklik_notify::SearchSpikeAlert;
use otklik_search::{Facet, SearchIndex, SearchQuery, Sort, SpikeQuery};
use otklik_store::{EmailId, SavedSearch};

use crate::period::day_label;
use crate::{ReportError, Result};

const DAY_MS: i64 = 86_400_000;

/// Settings of [`check_saved_searches`].
#[derive(Debug, Clone)]
pub struct AlertOptions {
    /// Trailing days compared with (default 28).
    pub trailing_days: u32,
    /// Least z-score (default: that of [`SpikeQuery`], 4).
    pub min_z: f64,
    /// Delivery attempts of an alert e-mail (default 5).
    pub max_attempts: u32,
    /// Matching texts quoted in the e-mail (default 3).
    pub examples: usize,
    /// The back-office search page; `?q=` and the query are appended.
    pub search_url: Option<String>,
}

impl Default for AlertOptions {
    fn default() -> Self {
        let q = SpikeQuery::new(0);
        Self {
            trailing_days: q.trailing_days,
            min_z: q.min_z,
            max_attempts: 5,
            examples: 3,
            search_url: None,
        }
    }
}

/// Today against the trailing days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikeStats {
    /// Documents today.
    pub today: u64,
    /// Mean documents per trailing day.
    pub mean: f64,
    /// Standard deviation per trailing day.
    pub sd: f64,
    /// `(today + 1) / (mean + 1)`.
    pub ratio: f64,
    /// `(today − mean) / sqrt(max(variance, mean) + 1)`.
    pub z: f64,
}

impl SpikeStats {
    /// The statistics of `today` against the `daily` counts of the trailing days.
    ///
    /// ```
    /// use otklik_reports::alerts::SpikeStats;
    /// let s = SpikeStats::of(10, &[1; 28]);
    /// assert_eq!(s.mean, 1.0);
    /// assert_eq!(s.ratio, 5.5);
    /// assert!((s.z - 9.0 / 2f64.sqrt()).abs() < 1e-9);
    /// ```
    pub fn of(today: u64, daily: &[u64]) -> Self {
        let n = daily.len().max(1) as f64;
        let mean = daily.iter().map(|c| *c as f64).sum::<f64>() / n;
        let var = daily
            .iter()
            .map(|c| (*c as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        let t = today as f64;
        Self {
            today,
            mean,
            sd: var.sqrt(),
            ratio: (t + 1.0) / (mean + 1.0),
            z: (t - mean) / (var.max(mean) + 1.0).sqrt(),
        }
    }

    /// Does it spike for `search` (its least count and ratio) with `min_z`?
    pub fn spikes(&self, search: &SavedSearch, min_z: f64) -> bool {
        self.today >= u64::try_from(search.min_count).unwrap_or(u64::MAX)
            && self.ratio >= search.min_ratio_pct as f64 / 100.0
            && self.z >= min_z
    }
}

/// The index query of a saved search (no hits, counts only); an unknown facet is
/// [`ReportError::Invalid`].
pub fn search_query(search: &SavedSearch) -> Result<SearchQuery> {
    let mut q = SearchQuery::new(search.query.clone())
        .limit(0)
        .snippets(false);
    for (facet, values) in &search.filters {
        let f = Facet::from_name(facet).ok_or_else(|| {
            ReportError::Invalid(format!(
                "saved search «{}»: unknown facet {facet:?}",
                search.name
            ))
        })?;
        for v in values {
            q = q.filter(f, v.clone());
        }
    }
    Ok(q)
}

/// Documents matching `search` on the UTC day starting at `day_start` and on each of the
/// `trailing_days` before it (oldest first).
pub fn daily_counts(
    index: &SearchIndex,
    search: &SavedSearch,
    day_start: i64,
    trailing_days: u32,
) -> Result<(u64, Vec<u64>)> {
    let q = search_query(search)?;
    let count = |since: i64| -> Result<u64> {
        let found = index.search(&q.clone().published(Some(since), Some(since + DAY_MS)))?;
        Ok(found.total)
    };
    let today = count(day_start)?;
    let mut daily = Vec::with_capacity(trailing_days as usize);
    for k in (1..=i64::from(trailing_days)).rev() {
        daily.push(count(day_start - k * DAY_MS)?);
    }
    Ok((today, daily))
}

/// What a check found for one saved search.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertOutcome {
    /// The search.
    pub search: SavedSearch,
    /// Its counts.
    pub stats: SpikeStats,
    /// It spiked today.
    pub spiking: bool,
    /// The alert e-mail queued by this check (`None`: no spike, or alerted already today).
    pub queued: Option<EmailId>,
}

/// `DD.MM.YYYY` of a UTC day start.
fn russian_day(day_start: i64) -> String {
    let iso = day_label(day_start);
    let mut parts = iso.split('-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => format!("{d}.{m}.{y}"),
        _ => iso,
    }
}

/// The idempotency key of a search's alert of a day.
pub fn alert_key(search: &SavedSearch, day_start: i64) -> String {
    format!("saved-search:{}:{}", search.id, day_label(day_start))
}

/// Checks every saved search of the store against `index` for the UTC day of `now`, and
/// queues an alert e-mail for each one spiking (once per search per day).
#[tracing::instrument(skip(store, index, options))]
pub async fn check_saved_searches(
    store: &otklik_store::Store,
    index: &SearchIndex,
    now: Timestamp,
    options: &AlertOptions,
) -> Result<Vec<AlertOutcome>> {
    let day_start = now.millis().div_euclid(DAY_MS) * DAY_MS;
    let mut out = Vec::new();
    for search in store.saved_searches().await? {
        let (today, daily) = daily_counts(index, &search, day_start, options.trailing_days)?;
        let stats = SpikeStats::of(today, &daily);
        let spiking = stats.spikes(&search, options.min_z);
        let mut queued = None;
        if spiking {
            let examples = examples(index, &search, day_start, options.examples)?;
            let url = options.search_url.as_ref().map(|base| {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}q={}", percent_encode(&search.query))
            });
            let day = russian_day(day_start);
            let email = SearchSpikeAlert {
                recipient_name: None,
                search_name: &search.name,
                query: &search.query,
                day: &day,
                today: stats.today,
                mean_per_day: stats.mean,
                trailing_days: options.trailing_days,
                examples: &examples,
                search_url: url.as_deref(),
            }
            .render()
            .into_new_email(
                alert_key(&search, day_start),
                None,
                search.email.clone(),
                options.max_attempts.max(1),
            );
            queued = store
                .record_saved_search_alert(search.id, &email, now)
                .await?
                .map(|e| e.id);
        }
        out.push(AlertOutcome {
            search,
            stats,
            spiking,
            queued,
        });
    }
    Ok(out)
}

/// The newest texts of today matching `search`.
fn examples(
    index: &SearchIndex,
    search: &SavedSearch,
    day_start: i64,
    n: usize,
) -> Result<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let q = search_query(search)?
        .published(Some(day_start), Some(day_start + DAY_MS))
        .sort(Sort::Newest)
        .limit(n.min(otklik_search::MAX_LIMIT));
    Ok(index
        .search(&q)?
        .hits
        .into_iter()
        .map(|h| h.doc.text)
        .collect())
}

/// `s` percent-encoded for a URL query value (unreserved characters kept).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_history_and_a_busy_day() {
        let s = SpikeStats::of(0, &[0; 28]);
        assert_eq!((s.ratio, s.z), (1.0, 0.0));
        let busy = SpikeStats::of(12, &[1, 0, 2, 1, 0, 1, 1]);
        assert!(busy.ratio > 5.0 && busy.z > 4.0, "{busy:?}");
        // An ordinary day of a busy history does not spike.
        let usual = SpikeStats::of(30, &[28, 31, 30, 29, 33]);
        assert!(usual.ratio < 1.1);
    }

    #[test]
    fn urls_and_days() {
        assert_eq!(percent_encode("яма a&b"), "%D1%8F%D0%BC%D0%B0%20a%26b");
        // 2026-10-15T00:00Z.
        assert_eq!(russian_day(1_792_022_400_000), "15.10.2026");
    }
}
