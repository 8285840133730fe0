//! [`VkWallSource`]: walls of registered communities and the comments under their posts.
//!
//! ## Cursor
//!
//! Per community: `seen_up_to` (every post with a lower or equal id was delivered), a walk back
//! through older pages in progress (`offset`, `before`, `top`), and the recent posts whose
//! comments are watched (with the last delivered comment id). Plus the round in progress: the
//! communities still to visit.
//!
//! A round starts with `groups.getById` for all configured communities (resolving screen names,
//! skipping deleted, banned, closed ones with an event). Then for each community, one request per
//! poll: the newest page of its wall; if that page does not reach back to `seen_up_to`, older
//! pages (`offset`) until it does — posts are returned newest first and each exactly once (ids
//! only grow on a wall; a post at or above the walk's `before` id, or at or below `seen_up_to`,
//! is never returned again; a small overlap between pages guards against posts deleted
//! meanwhile). A pinned post is judged by its id only, never taken as the end of the gap. Then
//! the comments of watched posts whose comment counter changed, oldest first, only the ones
//! after the last delivered comment. The round ends (`done`) when every community is visited.

use std::collections::BTreeMap;

use otklik_domain::Network;
use serde::{Deserialize, Serialize};

use super::types::{Names, comment_item, post_item};
use super::{VkApi, VkApiConfig, VkGroup};
use crate::events::{BatchCollected, InternalEvent, ItemSkipped, TargetSkipped};
use crate::http::HttpClient;
use crate::{Batch, CollectError, Cursor, Item, PollContext, PollFuture, Source};

const CURSOR_KIND: &str = "vk_wall";
/// Posts re-requested at the start of the next page, in case posts were deleted meanwhile.
const OVERLAP: u32 = 5;

/// How far the next page starts after a page of `returned` items: back by the overlap (at most a
/// quarter of the page), but always forward.
fn advance(returned: u32) -> u32 {
    returned.saturating_sub(OVERLAP.min(returned / 4)).max(1)
}

fn default_page_size() -> u32 {
    100
}

fn default_backfill_pages() -> u32 {
    1
}

fn default_watch_hours() -> u32 {
    72
}

fn default_max_watched() -> usize {
    300
}

/// Which comments to collect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentsConfig {
    /// Posts younger than this are watched for new comments.
    #[serde(default = "default_watch_hours")]
    pub watch_hours: u32,
    /// Comments per request (at most 100).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Watched posts per community at most (the oldest are dropped first).
    #[serde(default = "default_max_watched")]
    pub max_watched: usize,
}

impl Default for CommentsConfig {
    fn default() -> Self {
        Self {
            watch_hours: default_watch_hours(),
            page_size: default_page_size(),
            max_watched: default_max_watched(),
        }
    }
}

/// Configuration of a community-walls source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VkWallConfig {
    /// API access.
    pub api: VkApiConfig,
    /// Communities: `-123`, `123`, `club123`, `public123`, `event123`, a screen name, or a
    /// `https://vk.com/…` link.
    pub owners: Vec<String>,
    /// Posts per request (at most 100).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Pages of history read the first time a community is polled.
    #[serde(default = "default_backfill_pages")]
    pub backfill_pages: u32,
    /// Read closed communities too (the token's user must be a member).
    #[serde(default)]
    pub allow_closed: bool,
    /// Collect comments under recent posts; `None`: posts only.
    #[serde(default)]
    pub comments: Option<CommentsConfig>,
}

impl VkWallConfig {
    /// Defaults for `owners`.
    pub fn new(api: VkApiConfig, owners: Vec<String>) -> Self {
        Self {
            api,
            owners,
            page_size: default_page_size(),
            backfill_pages: default_backfill_pages(),
            allow_closed: false,
            comments: None,
        }
    }
}

/// A community as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerRef {
    /// A community id (positive, as `groups.getById` takes it).
    Id(i64),
    /// A screen name.
    Name(String),
}

impl OwnerRef {
    /// Parses `-123`, `123`, `club123`, `public123`, `event123`, a screen name or a link.
    pub fn parse(raw: &str) -> Result<Self, CollectError> {
        let mut s = raw.trim();
        for prefix in [
            "https://", "http://", "www.", "m.", "vk.com/", "vk.ru/", "@",
        ] {
            s = s.strip_prefix(prefix).unwrap_or(s);
        }
        let s = s.trim_end_matches('/');
        if let Ok(n) = s.parse::<i64>()
            && n != 0
        {
            return Ok(Self::Id(n.abs()));
        }
        for prefix in ["club", "public", "event"] {
            if let Some(n) = s.strip_prefix(prefix).and_then(|d| d.parse::<i64>().ok())
                && n > 0
            {
                return Ok(Self::Id(n));
            }
        }
        let valid = s.len() >= 2
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if valid {
            Ok(Self::Name(s.to_ascii_lowercase()))
        } else {
            Err(CollectError::Config(format!(
                "vk: {raw:?} is not a community (-123, club123 or a screen name)"
            )))
        }
    }

    fn param(&self) -> String {
        match self {
            Self::Id(n) => n.to_string(),
            Self::Name(s) => s.clone(),
        }
    }

    fn matches(&self, g: &VkGroup) -> bool {
        match self {
            Self::Id(n) => g.id == *n,
            Self::Name(s) => g
                .screen_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(s)),
        }
    }
}

/// Walls of communities (and comments under their recent posts).
#[derive(Debug, Clone)]
pub struct VkWallSource {
    config: VkWallConfig,
    owners: Vec<(String, OwnerRef)>,
    api: VkApi,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct WallState {
    /// Per community (negative owner id).
    owners: BTreeMap<i64, OwnerState>,
    /// Communities still to visit in this round.
    round: Option<Vec<i64>>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct OwnerState {
    seen_up_to: u64,
    walk: Option<WallWalk>,
    #[serde(default)]
    watch: Vec<Watched>,
    /// In the comments phase of the round: index of the next watched post.
    comments_at: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WallWalk {
    offset: u32,
    before: u64,
    top: u64,
    pages: u32,
    initial: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Watched {
    post: u64,
    /// Unix seconds.
    date: i64,
    /// Comment counter from the last wall page that showed the post.
    reported: u64,
    /// `reported` when the comments were last read up to the end.
    fetched_at: Option<u64>,
    last_comment: u64,
    offset: u32,
}

struct Step {
    items: Vec<Item>,
    owner_done: bool,
    requested: bool,
}

impl VkWallSource {
    /// Checks the configuration.
    pub fn new(config: VkWallConfig, http: HttpClient) -> Result<Self, CollectError> {
        if config.owners.is_empty() {
            return Err(CollectError::Config("vk wall: no communities".into()));
        }
        if !(1..=100).contains(&config.page_size) {
            return Err(CollectError::Config(
                "vk wall: page_size must be 1..=100".into(),
            ));
        }
        let owners = config
            .owners
            .iter()
            .map(|raw| OwnerRef::parse(raw).map(|r| (raw.clone(), r)))
            .collect::<Result<Vec<_>, _>>()?;
        let api = VkApi::new(config.api.clone(), http)?;
        Ok(Self {
            config,
            owners,
            api,
        })
    }

    /// Resolves and verifies the configured communities; returns their owner ids (negative).
    async fn start_round(&self, ctx: &PollContext) -> Result<Vec<i64>, CollectError> {
        let params: Vec<String> = self.owners.iter().map(|(_, r)| r.param()).collect();
        let groups = self.api.groups_get_by_id(&params).await?;
        let mut ids = Vec::new();
        let mut problems = Vec::new();
        for (raw, r) in &self.owners {
            let reason = match groups.iter().find(|g| r.matches(g)) {
                None => Some("no such community".to_owned()),
                Some(g) => match g.inaccessible_reason(self.config.allow_closed) {
                    None => {
                        if !ids.contains(&-g.id) {
                            ids.push(-g.id);
                        }
                        None
                    }
                    some => some,
                },
            };
            if let Some(reason) = reason {
                TargetSkipped {
                    source: &ctx.source_name,
                    target: raw,
                    reason: &reason,
                }
                .emit();
                problems.push(format!("{raw}: {reason}"));
            }
        }
        if ids.is_empty() {
            return Err(CollectError::NotAccessible {
                what: "VK communities".into(),
                reason: problems.join("; "),
            });
        }
        Ok(ids)
    }

    async fn poll_inner(
        &self,
        cursor: Option<Cursor>,
        ctx: &PollContext,
    ) -> Result<Batch, CollectError> {
        let mut st: WallState = Cursor::decode(cursor.as_ref(), CURSOR_KIND)?;
        if st.round.is_none() {
            st.round = Some(self.start_round(ctx).await?);
        }
        let mut items = Vec::new();
        while let Some(&owner) = st.round.as_ref().and_then(|r| r.first()) {
            let mut os = st.owners.get(&owner).cloned().unwrap_or_default();
            let step = self.owner_step(owner, &mut os, ctx).await?;
            st.owners.insert(owner, os);
            items.extend(step.items);
            if step.owner_done
                && let Some(round) = st.round.as_mut()
            {
                round.retain(|o| *o != owner);
            }
            if step.requested {
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

    async fn owner_step(
        &self,
        owner: i64,
        os: &mut OwnerState,
        ctx: &PollContext,
    ) -> Result<Step, CollectError> {
        match (os.comments_at, &self.config.comments) {
            (Some(at), Some(cc)) => self.comments_step(owner, os, at, cc, ctx).await,
            _ => self.wall_step(owner, os, ctx).await,
        }
    }

    async fn wall_step(
        &self,
        owner: i64,
        os: &mut OwnerState,
        ctx: &PollContext,
    ) -> Result<Step, CollectError> {
        let seen = os.seen_up_to;
        let (offset, before, pages, initial) = match &os.walk {
            Some(w) => (w.offset, Some(w.before), w.pages, w.initial),
            None => (0, None, 0, seen == 0),
        };
        let page = self
            .api
            .wall_get(owner, offset, self.config.page_size)
            .await?;
        let names = Names::new(&page.profiles, &page.groups);

        for p in &page.items {
            if let Some(w) = os.watch.iter_mut().find(|w| w.post == p.id) {
                w.reported = p.comments.map_or(w.reported, |c| c.count);
            }
        }
        let mut items = Vec::new();
        for p in &page.items {
            if p.id <= seen || before.is_some_and(|b| p.id >= b) || p.owner_id != owner {
                continue;
            }
            items.push(post_item(p, &names));
            if let Some(cc) = &self.config.comments {
                let young = ctx.now_ms - p.date.saturating_mul(1000)
                    < i64::from(cc.watch_hours) * 3_600_000;
                if young && !os.watch.iter().any(|w| w.post == p.id) {
                    os.watch.push(Watched {
                        post: p.id,
                        date: p.date,
                        reported: p.comments.map_or(0, |c| c.count),
                        fetched_at: None,
                        last_comment: 0,
                        offset: 0,
                    });
                }
            }
        }

        let regular = page.items.iter().filter(|p| !p.is_pinned).map(|p| p.id);
        let oldest = regular.clone().min();
        let newest = page
            .items
            .iter()
            .filter(|p| p.id > seen)
            .map(|p| p.id)
            .max();
        let returned = u32::try_from(page.items.len()).unwrap_or(u32::MAX);
        let end_of_wall =
            page.items.is_empty() || u64::from(offset) + u64::from(returned) >= page.count;
        let pages = pages + 1;
        let finished = end_of_wall
            || oldest.is_none_or(|o| o <= seen)
            || (initial && pages >= self.config.backfill_pages);
        let top = os.walk.as_ref().map_or(newest.unwrap_or(seen), |w| w.top);
        if finished {
            os.seen_up_to = seen.max(top);
            os.walk = None;
            os.comments_at = self.config.comments.as_ref().map(|_| 0);
        } else if let Some(oldest) = oldest {
            os.walk = Some(WallWalk {
                offset: offset + advance(returned),
                before: before.map_or(oldest, |b| b.min(oldest)),
                top,
                pages,
                initial,
            });
        }
        Ok(Step {
            items,
            owner_done: finished && self.config.comments.is_none(),
            requested: true,
        })
    }

    async fn comments_step(
        &self,
        owner: i64,
        os: &mut OwnerState,
        at: usize,
        cc: &super::CommentsConfig,
        ctx: &PollContext,
    ) -> Result<Step, CollectError> {
        // Forget posts too old to watch, and the oldest beyond the limit.
        let horizon = ctx.now_ms - i64::from(cc.watch_hours) * 3_600_000;
        let before_len = os.watch.len();
        os.watch.retain(|w| w.date.saturating_mul(1000) >= horizon);
        os.watch.sort_by_key(|w| std::cmp::Reverse(w.post));
        os.watch.truncate(cc.max_watched);
        let mut at = if os.watch.len() == before_len { at } else { 0 };

        while at < os.watch.len() {
            let w = &os.watch[at];
            if w.reported > 0 && w.fetched_at != Some(w.reported) {
                break;
            }
            at += 1;
        }
        let Some(w) = os.watch.get_mut(at) else {
            os.comments_at = None;
            return Ok(Step {
                items: Vec::new(),
                owner_done: true,
                requested: false,
            });
        };
        let page_size = cc.page_size.clamp(1, 100);
        let page = match self
            .api
            .wall_get_comments(owner, w.post, w.offset, page_size)
            .await
        {
            Ok(page) => page,
            // Comments closed, post deleted, access denied: stop watching this post.
            Err(e @ CollectError::Vk { .. }) if !e.is_retryable() => {
                ItemSkipped {
                    source: &ctx.source_name,
                    reason: format!("comments of wall{owner}_{}: {e}", w.post),
                }
                .emit();
                w.fetched_at = Some(w.reported);
                os.comments_at = Some(at + 1);
                return Ok(Step {
                    items: Vec::new(),
                    owner_done: false,
                    requested: true,
                });
            }
            Err(e) => return Err(e),
        };
        let names = Names::new(&page.profiles, &page.groups);
        let items: Vec<Item> = page
            .items
            .iter()
            .filter(|c| c.id > w.last_comment)
            .map(|c| comment_item(owner, w.post, c, &names))
            .collect();
        w.last_comment = page
            .items
            .iter()
            .map(|c| c.id)
            .max()
            .unwrap_or(0)
            .max(w.last_comment);
        let returned = u32::try_from(page.items.len()).unwrap_or(u32::MAX);
        if returned == 0 && u64::from(w.offset) > page.count {
            // Comments were deleted and the list got shorter than our offset: step back so
            // that new comments at lower positions are not missed (ids filter out repeats).
            w.offset = u32::try_from(page.count.saturating_sub(u64::from(page_size))).unwrap_or(0);
            os.comments_at = Some(at);
        } else if returned < page_size || u64::from(w.offset) + u64::from(returned) >= page.count {
            // Read to the end: next time start near the end.
            w.offset = (w.offset + returned).saturating_sub(OVERLAP.min(returned / 4));
            w.fetched_at = Some(w.reported);
            os.comments_at = Some(at + 1);
        } else {
            w.offset += advance(returned);
            os.comments_at = Some(at);
        }
        Ok(Step {
            items,
            owner_done: false,
            requested: true,
        })
    }
}

impl Source for VkWallSource {
    fn network(&self) -> Network {
        Network::Vk
    }

    fn poll<'a>(&'a self, cursor: Option<Cursor>, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(self.poll_inner(cursor, ctx))
    }
}
