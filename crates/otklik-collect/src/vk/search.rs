//! [`VkSearchSource`]: posts found by `newsfeed.search`.
//!
//! ## Windows and the 1,000-result cap
//!
//! VK returns at most 1,000 results for a query (`total_count` may say more). So each pass
//! covers the time window from the last pass's end to "now minus [`VkSearchConfig::index_lag_secs`]"
//! (posts take a moment to be indexed), and a window whose first page reports more results than
//! [`VkSearchConfig::result_cap`] is split in two halves, recursively, down to
//! [`VkSearchConfig::min_window_secs`] (a window that small and still over the cap is read as far
//! as VK allows, with a warning event). Windows are half-open `[start, end)` and items are
//! filtered by date, so windows never share an item.
//!
//! ## Cursor
//!
//! Per query: `covered_to` (every matching post dated before it was delivered) and the pass in
//! progress: pending windows, and the window being paged (`next_from`). One request per poll;
//! a pass completes only when all its windows are read, then `covered_to` moves to its end.

use std::collections::BTreeMap;

use otklik_domain::Network;
use serde::{Deserialize, Serialize};

use super::types::{Names, post_item};
use super::{VkApi, VkApiConfig};
use crate::events::{BatchCollected, InternalEvent, SearchWindowSplit};
use crate::http::HttpClient;
use crate::{Batch, CollectError, Cursor, Item, PollContext, PollFuture, Source};

const CURSOR_KIND: &str = "vk_search";

fn default_page_size() -> u32 {
    200
}

fn default_result_cap() -> u64 {
    1000
}

fn default_min_window_secs() -> i64 {
    60
}

fn default_index_lag_secs() -> i64 {
    60
}

fn default_backfill_hours() -> i64 {
    24
}

/// Configuration of a keyword-search source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VkSearchConfig {
    /// API access.
    pub api: VkApiConfig,
    /// Search queries («отключение воды Северный район»); each is searched separately.
    pub queries: Vec<String>,
    /// Results per request (at most 200).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Results VK returns per query and window at most.
    #[serde(default = "default_result_cap")]
    pub result_cap: u64,
    /// Windows are not split below this length.
    #[serde(default = "default_min_window_secs")]
    pub min_window_secs: i64,
    /// The newest `index_lag_secs` are left for the next pass.
    #[serde(default = "default_index_lag_secs")]
    pub index_lag_secs: i64,
    /// How far back the first pass goes.
    #[serde(default = "default_backfill_hours")]
    pub backfill_hours: i64,
}

impl VkSearchConfig {
    /// Defaults for `queries`.
    pub fn new(api: VkApiConfig, queries: Vec<String>) -> Self {
        Self {
            api,
            queries,
            page_size: default_page_size(),
            result_cap: default_result_cap(),
            min_window_secs: default_min_window_secs(),
            index_lag_secs: default_index_lag_secs(),
            backfill_hours: default_backfill_hours(),
        }
    }
}

/// Posts found by keywords.
#[derive(Debug, Clone)]
pub struct VkSearchSource {
    config: VkSearchConfig,
    api: VkApi,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SearchState {
    queries: BTreeMap<String, QueryState>,
    /// Queries still to search in this round.
    round: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct QueryState {
    /// Unix seconds; everything dated before was delivered. 0: never searched.
    covered_to: i64,
    pass: Option<Pass>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pass {
    /// Where the pass ends (exclusive).
    end: i64,
    /// Windows still to read; the last one is next.
    windows: Vec<(i64, i64)>,
    /// The window being paged.
    current: Option<Paging>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Paging {
    start: i64,
    end: i64,
    next_from: String,
}

impl VkSearchSource {
    /// Checks the configuration.
    pub fn new(config: VkSearchConfig, http: HttpClient) -> Result<Self, CollectError> {
        if config.queries.is_empty() || config.queries.iter().any(|q| q.trim().is_empty()) {
            return Err(CollectError::Config("vk search: empty query".into()));
        }
        if !(1..=200).contains(&config.page_size) || config.result_cap == 0 {
            return Err(CollectError::Config(
                "vk search: page_size must be 1..=200 and result_cap positive".into(),
            ));
        }
        if config.min_window_secs < 1 || config.index_lag_secs < 0 || config.backfill_hours < 0 {
            return Err(CollectError::Config(
                "vk search: window settings must not be negative".into(),
            ));
        }
        let api = VkApi::new(config.api.clone(), http)?;
        Ok(Self { config, api })
    }

    async fn poll_inner(
        &self,
        cursor: Option<Cursor>,
        ctx: &PollContext,
    ) -> Result<Batch, CollectError> {
        let mut st: SearchState = Cursor::decode(cursor.as_ref(), CURSOR_KIND)?;
        if st.round.is_none() {
            st.round = Some(self.config.queries.clone());
        }
        let mut items = Vec::new();
        while let Some(q) = st.round.as_ref().and_then(|r| r.first()).cloned() {
            let mut qs = st.queries.get(&q).cloned().unwrap_or_default();
            let (got, query_done, requested) = self.step(&q, &mut qs, ctx).await?;
            st.queries.insert(q.clone(), qs);
            items.extend(got);
            if query_done && let Some(round) = st.round.as_mut() {
                round.retain(|x| *x != q);
            }
            if requested {
                break;
            }
        }
        let done = st.round.as_ref().is_none_or(Vec::is_empty);
        if done {
            st.round = None;
        }
        let next_cursor = Cursor::encode(CURSOR_KIND, &st)?;
        BatchCollected {
            source: &ctx.source_name,
            network: Network::Vk.code(),
            items: items.len(),
            done,
        }
        .emit();
        Ok(Batch {
            items,
            next_cursor,
            done,
        })
    }

    /// One request for query `q`: (items, query done for this round, a request was made).
    async fn step(
        &self,
        q: &str,
        qs: &mut QueryState,
        ctx: &PollContext,
    ) -> Result<(Vec<Item>, bool, bool), CollectError> {
        let now = ctx.now_ms.div_euclid(1000);
        let mut pass = match qs.pass.take() {
            Some(p) => p,
            None => {
                let start = if qs.covered_to > 0 {
                    qs.covered_to
                } else {
                    now - self.config.backfill_hours * 3600
                };
                let end = now - self.config.index_lag_secs;
                if end <= start {
                    return Ok((Vec::new(), true, false));
                }
                Pass {
                    end,
                    windows: vec![(start, end)],
                    current: None,
                }
            }
        };

        let items = if let Some(cur) = pass.current.take() {
            let page = self
                .api
                .newsfeed_search(
                    q,
                    cur.start,
                    cur.end - 1,
                    Some(&cur.next_from),
                    self.config.page_size,
                )
                .await?;
            let items = window_items(&page, cur.start, cur.end);
            pass.current = continuation(&page, cur.start, cur.end);
            items
        } else if let Some((start, end)) = pass.windows.pop() {
            let page = self
                .api
                .newsfeed_search(q, start, end - 1, None, self.config.page_size)
                .await?;
            let total = page
                .total_count
                .or(page.count)
                .unwrap_or(page.items.len() as u64);
            if total > self.config.result_cap {
                let splittable = end - start > self.config.min_window_secs;
                SearchWindowSplit {
                    source: &ctx.source_name,
                    start,
                    end,
                    total,
                    capped: !splittable,
                }
                .emit();
                if splittable {
                    let mid = start + (end - start) / 2;
                    // The newer half is read first (popped last pushed).
                    pass.windows.push((start, mid));
                    pass.windows.push((mid, end));
                    qs.pass = Some(pass);
                    return Ok((Vec::new(), false, true));
                }
            }
            let items = window_items(&page, start, end);
            pass.current = continuation(&page, start, end);
            items
        } else {
            Vec::new()
        };

        let finished = pass.current.is_none() && pass.windows.is_empty();
        if finished {
            qs.covered_to = pass.end;
        } else {
            qs.pass = Some(pass);
        }
        Ok((items, finished, true))
    }
}

/// Items of a page dated within `[start, end)`.
fn window_items(page: &super::VkSearchPage, start: i64, end: i64) -> Vec<Item> {
    let names = Names::new(&page.profiles, &page.groups);
    page.items
        .iter()
        .filter(|p| p.date >= start && p.date < end)
        .map(|p| post_item(p, &names))
        .collect()
}

/// Where to continue in the window, if VK says there is more.
fn continuation(page: &super::VkSearchPage, start: i64, end: i64) -> Option<Paging> {
    page.next_from
        .as_ref()
        .filter(|n| !n.is_empty() && !page.items.is_empty())
        .map(|n| Paging {
            start,
            end,
            next_from: n.clone(),
        })
}

impl Source for VkSearchSource {
    fn network(&self) -> Network {
        Network::Vk
    }

    fn poll<'a>(&'a self, cursor: Option<Cursor>, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(self.poll_inner(cursor, ctx))
    }
}
