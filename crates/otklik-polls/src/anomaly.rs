//! The anomaly report: bursts of votes from one network prefix or one territory within a short
//! window — the sign of a vote farm or of an organised campaign worth a moderator's look.
//! Pure functions over the vote log.
//!
//! A burst of a source (a network hash or a territory) is a maximal stretch of its votes in
//! which every vote closes a window of `window_ms` holding at least the threshold of that
//! source's votes; overlapping windows are merged, so one campaign is one burst, reported with
//! its first and last vote and how many votes it holds.

use std::collections::HashMap;

use otklik_domain::{PollId, TerritoryId, Timestamp};
use otklik_store::VoteLogEntry;
use serde::Serialize;

/// What counts as a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AnomalyRules {
    /// Width of the sliding window, in milliseconds.
    pub window_ms: i64,
    /// Votes from one network prefix within the window that make a burst.
    pub network_votes: usize,
    /// Votes from one territory within the window that make a burst.
    pub territory_votes: usize,
}

impl Default for AnomalyRules {
    /// 20 votes from one /24 or 200 from one territory within 60 seconds.
    fn default() -> Self {
        Self {
            window_ms: 60_000,
            network_votes: 20,
            territory_votes: 200,
        }
    }
}

/// Where a burst came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum BurstSource {
    /// A network prefix, as its keyed hash (compare with [`crate::Polls::network_label`]).
    Network(String),
    /// A territory.
    Territory(TerritoryId),
}

/// One burst.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Burst {
    /// Its source.
    pub source: BurstSource,
    /// First vote.
    pub from: Timestamp,
    /// Last vote.
    pub to: Timestamp,
    /// Votes in it.
    pub votes: usize,
}

/// The report of one poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomalyReport {
    /// The poll.
    pub poll: PollId,
    /// Accepted votes examined (first votes and re-votes).
    pub votes: usize,
    /// The rules applied.
    pub rules: AnomalyRules,
    /// Bursts, the largest first.
    pub bursts: Vec<Burst>,
}

/// Finds the bursts in `log` (any order).
pub fn find_bursts(log: &[VoteLogEntry], rules: &AnomalyRules) -> Vec<Burst> {
    let mut by_source: HashMap<BurstSource, Vec<i64>> = HashMap::new();
    for e in log {
        if let Some(n) = &e.network_hash {
            by_source
                .entry(BurstSource::Network(n.clone()))
                .or_default()
                .push(e.at.millis());
        }
        if let Some(t) = e.territory {
            by_source
                .entry(BurstSource::Territory(t))
                .or_default()
                .push(e.at.millis());
        }
    }
    let mut bursts = Vec::new();
    for (source, mut times) in by_source {
        let threshold = match source {
            BurstSource::Network(_) => rules.network_votes,
            BurstSource::Territory(_) => rules.territory_votes,
        }
        .max(1);
        times.sort_unstable();
        // (first index, last index) of the open burst.
        let mut open: Option<(usize, usize)> = None;
        let mut left = 0;
        for right in 0..times.len() {
            while times[right] - times[left] > rules.window_ms {
                left += 1;
            }
            if right - left + 1 < threshold {
                continue;
            }
            open = match open {
                Some((start, end)) if left <= end => Some((start.min(left), right)),
                Some((start, end)) => {
                    bursts.push(burst(&source, &times, start, end));
                    Some((left, right))
                }
                None => Some((left, right)),
            };
        }
        if let Some((start, end)) = open {
            bursts.push(burst(&source, &times, start, end));
        }
    }
    bursts.sort_by(|a, b| {
        b.votes
            .cmp(&a.votes)
            .then(a.from.cmp(&b.from))
            .then(a.source.cmp(&b.source))
    });
    bursts
}

fn burst(source: &BurstSource, times: &[i64], start: usize, end: usize) -> Burst {
    Burst {
        source: source.clone(),
        from: Timestamp(times.get(start).copied().unwrap_or_default()),
        to: Timestamp(times.get(end).copied().unwrap_or_default()),
        votes: end + 1 - start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(net: Option<&str>, territory: Option<i64>, at: i64) -> VoteLogEntry {
        VoteLogEntry {
            network_hash: net.map(Into::into),
            territory: territory.map(TerritoryId),
            at: Timestamp(at),
        }
    }

    const RULES: AnomalyRules = AnomalyRules {
        window_ms: 1_000,
        network_votes: 5,
        territory_votes: 8,
    };

    #[test]
    fn steady_votes_are_no_burst() {
        // One vote per 300 ms from one network: at most 4 in any second.
        let log: Vec<_> = (0..100).map(|i| e(Some("n1"), None, i * 300)).collect();
        assert!(find_bursts(&log, &RULES).is_empty());
    }

    #[test]
    fn a_network_burst_is_found_and_merged() {
        let mut log: Vec<_> = (0..50)
            .map(|i| e(Some("calm"), Some(1), i * 1_000))
            .collect();
        // 12 votes within 1.1 s from one network: one burst, not several.
        log.extend((0..12).map(|i| e(Some("farm"), Some(2), 10_000 + i * 100)));
        let bursts = find_bursts(&log, &RULES);
        assert_eq!(
            bursts,
            vec![
                Burst {
                    source: BurstSource::Network("farm".into()),
                    from: Timestamp(10_000),
                    to: Timestamp(11_100),
                    votes: 12
                },
                Burst {
                    source: BurstSource::Territory(TerritoryId(2)),
                    from: Timestamp(10_000),
                    to: Timestamp(11_100),
                    votes: 12
                },
            ]
        );
    }

    #[test]
    fn two_separate_bursts_stay_separate() {
        let mut log: Vec<_> = (0..5).map(|i| e(Some("n"), None, i * 10)).collect();
        log.extend((0..6).map(|i| e(Some("n"), None, 60_000 + i * 10)));
        let bursts = find_bursts(&log, &RULES);
        assert_eq!(bursts.len(), 2);
        assert_eq!(bursts[0].votes, 6);
        assert_eq!(bursts[0].from, Timestamp(60_000));
        assert_eq!(bursts[1].votes, 5);
    }

    #[test]
    fn votes_without_network_or_territory_are_ignored() {
        let log: Vec<_> = (0..100).map(|i| e(None, None, i)).collect();
        assert!(find_bursts(&log, &RULES).is_empty());
    }
}
