//! Volumes: messages counted by any combination of category, subcategory, territory,
//! channel, period (month), status and executor, with the citizens' ratings (how many
//! rated, the mean, the 1–5 distribution).
//!
//! The aggregation ([`VolumeReport::build`]) is pure and works on [`otklik_domain::Message`]s
//! from anywhere; [`volumes`] reads the store's messages of a period in id order, page by
//! page, so memory stays flat however large the table is. The groups keep the raw values
//! (codes and ids, as [`VolumeReport::to_csv`] writes them); [`VolumeReport::table`] shows
//! names.
//!
//! ```
//! use otklik_reports::volumes::{Dimension, VolumeReport};
//!
//! let report = VolumeReport::build(&[Dimension::Channel], std::iter::empty(), None, None);
//! assert_eq!(report.to_csv(), "channel,messages,rated,mean_rating,rating_1,rating_2,rating_3,rating_4,rating_5\n");
//! ```

use std::collections::BTreeMap;

use otklik_domain::Message;
use serde::{Deserialize, Serialize};

use crate::feed::for_each_record;
use crate::names::Names;
use crate::table::{Cell, Table};
use crate::{Period, ReportError, Result, Scope};

/// What a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// Category of the unified classifier (`roads`).
    Category,
    /// Subcategory (`roads.potholes`).
    Subcategory,
    /// Territory id.
    Territory,
    /// Entry point (`widget`, `portal`, `mobile_app`, `social_network`, `integration`).
    Channel,
    /// UTC month of registration (`2026-10`).
    Period,
    /// Workflow status.
    Status,
    /// Executor organisation id.
    Executor,
}

impl Dimension {
    /// Every dimension.
    pub const ALL: [Dimension; 7] = [
        Dimension::Category,
        Dimension::Subcategory,
        Dimension::Territory,
        Dimension::Channel,
        Dimension::Period,
        Dimension::Status,
        Dimension::Executor,
    ];

    /// The name (CSV header, and what [`Dimension::from_name`] accepts).
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Category => "category",
            Dimension::Subcategory => "subcategory",
            Dimension::Territory => "territory",
            Dimension::Channel => "channel",
            Dimension::Period => "period",
            Dimension::Status => "status",
            Dimension::Executor => "executor",
        }
    }

    /// The dimension with this name; `month` means period, `organisation` executor.
    pub fn from_name(name: &str) -> Option<Dimension> {
        match name.trim().to_ascii_lowercase().as_str() {
            "month" => Some(Dimension::Period),
            "organisation" | "organization" => Some(Dimension::Executor),
            other => Dimension::ALL.into_iter().find(|d| d.name() == other),
        }
    }

    /// This dimension's value for `m`.
    pub fn value_of(self, m: &Message) -> String {
        match self {
            Dimension::Category => m
                .subcategory
                .0
                .split_once('.')
                .map_or(m.subcategory.0.as_str(), |(c, _)| c)
                .to_owned(),
            Dimension::Subcategory => m.subcategory.0.clone(),
            Dimension::Territory => m.territory.map(|t| t.get().to_string()).unwrap_or_default(),
            Dimension::Channel => m.channel.code().to_owned(),
            Dimension::Period => otklik_search::month_of(m.created_at.millis()),
            Dimension::Status => m.status.code().to_owned(),
            Dimension::Executor => m.executor.map(|o| o.get().to_string()).unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for Dimension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dimension {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self> {
        Dimension::from_name(s).ok_or_else(|| {
            ReportError::Invalid(format!(
                "unknown report dimension {s:?}; expected one of {}",
                Dimension::ALL.map(Dimension::name).join(", ")
            ))
        })
    }
}

/// Counts and ratings of one group (or of everything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    /// The group's values, one per dimension of the report.
    pub keys: Vec<String>,
    /// Messages.
    pub messages: u64,
    /// Messages rated by the citizen.
    pub rated: u64,
    /// Ratings 1, 2, 3, 4, 5.
    pub ratings: [u64; 5],
}

impl ReportRow {
    /// Mean rating of the rated messages, `None` when none is rated.
    pub fn mean_rating(&self) -> Option<f64> {
        let sum: u64 = self
            .ratings
            .iter()
            .zip(1u64..)
            .map(|(count, score)| count * score)
            .sum();
        (self.rated > 0).then(|| sum as f64 / self.rated as f64)
    }

    fn add(&mut self, m: &Message) {
        self.messages += 1;
        if let Some(r) = m.rating
            && let Some(slot) = usize::try_from(r - 1)
                .ok()
                .and_then(|i| self.ratings.get_mut(i))
        {
            *slot += 1;
            self.rated += 1;
        }
    }
}

/// Messages grouped by some dimensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeReport {
    /// The dimensions, in column order.
    pub dimensions: Vec<Dimension>,
    /// Registered at or after (epoch ms), if limited.
    pub since: Option<i64>,
    /// Registered before (epoch ms), if limited.
    pub until: Option<i64>,
    /// One row per group, ordered by the group's values.
    pub rows: Vec<ReportRow>,
    /// Everything together (no keys).
    pub total: ReportRow,
}

impl VolumeReport {
    /// Groups the `messages` registered in `[since, until)` by `dimensions` (none: the total
    /// only).
    pub fn build<'a>(
        dimensions: &[Dimension],
        messages: impl IntoIterator<Item = &'a Message>,
        since: Option<i64>,
        until: Option<i64>,
    ) -> Self {
        let mut report = Self::empty(dimensions, since, until);
        let mut groups = BTreeMap::new();
        for m in messages {
            report.add(&mut groups, m);
        }
        report.finish(groups);
        report
    }

    fn empty(dimensions: &[Dimension], since: Option<i64>, until: Option<i64>) -> Self {
        Self {
            dimensions: dimensions.to_vec(),
            since,
            until,
            rows: Vec::new(),
            total: ReportRow::default(),
        }
    }

    fn add(&mut self, groups: &mut BTreeMap<Vec<String>, ReportRow>, m: &Message) {
        let at = m.created_at.millis();
        if self.since.is_some_and(|s| at < s) || self.until.is_some_and(|u| at >= u) {
            return;
        }
        self.total.add(m);
        if self.dimensions.is_empty() {
            return;
        }
        let keys: Vec<String> = self.dimensions.iter().map(|d| d.value_of(m)).collect();
        groups
            .entry(keys)
            .or_insert_with_key(|k| ReportRow {
                keys: k.clone(),
                ..ReportRow::default()
            })
            .add(m);
    }

    fn finish(&mut self, groups: BTreeMap<Vec<String>, ReportRow>) {
        self.rows = groups.into_values().collect();
    }

    /// The report as CSV (RFC 4180, `\n` line ends): the dimensions, then `messages`,
    /// `rated`, `mean_rating` (two decimals, empty when none rated), `rating_1`…`rating_5`;
    /// a last `total` row (its dimension columns `total`, then empty) when there are
    /// dimensions and rows.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut header: Vec<&str> = self.dimensions.iter().map(|d| d.name()).collect();
        header.extend([
            "messages",
            "rated",
            "mean_rating",
            "rating_1",
            "rating_2",
            "rating_3",
            "rating_4",
            "rating_5",
        ]);
        out.push_str(&header.join(","));
        out.push('\n');
        let mut line = |keys: &[String], row: &ReportRow| {
            let mut cells: Vec<String> = keys.iter().map(|k| csv_cell(k)).collect();
            cells.push(row.messages.to_string());
            cells.push(row.rated.to_string());
            cells.push(
                row.mean_rating()
                    .map(|m| format!("{m:.2}"))
                    .unwrap_or_default(),
            );
            cells.extend(row.ratings.iter().map(u64::to_string));
            out.push_str(&cells.join(","));
            out.push('\n');
        };
        for row in &self.rows {
            line(&row.keys, row);
        }
        if self.dimensions.is_empty() {
            line(&[], &self.total);
        } else if !self.rows.is_empty() {
            let mut keys = vec![String::new(); self.dimensions.len()];
            keys[0] = "total".to_owned();
            line(&keys, &self.total);
        }
        out
    }
}

impl Dimension {
    /// The column title in a report table.
    pub fn title_ru(self) -> &'static str {
        match self {
            Dimension::Category => "Категория",
            Dimension::Subcategory => "Подкатегория",
            Dimension::Territory => "Территория",
            Dimension::Channel => "Канал",
            Dimension::Period => "Период",
            Dimension::Status => "Статус",
            Dimension::Executor => "Исполнитель",
        }
    }

    /// A group value as people read it: names of categories, territories and
    /// organisations, Russian labels of channels and statuses.
    pub fn display(self, value: &str, names: &Names) -> String {
        match self {
            Dimension::Category => names.category(value),
            Dimension::Subcategory => names.subcategory(value),
            Dimension::Territory => names.territory(value.parse::<i64>().ok().map(Into::into)),
            Dimension::Executor => names.organisation(value.parse::<i64>().ok().map(Into::into)),
            Dimension::Channel => value
                .parse::<otklik_domain::Channel>()
                .map_or_else(|_| value.to_owned(), |c| c.label_ru().to_owned()),
            Dimension::Status => value
                .parse::<otklik_domain::MessageStatus>()
                .map_or_else(|_| value.to_owned(), |s| s.label_ru().to_owned()),
            Dimension::Period => value.to_owned(),
        }
    }
}

impl VolumeReport {
    /// The report as a table with names: the dimensions, messages, rated, mean rating,
    /// ratings 1–5, and a last «Итого» row.
    pub fn table(&self, names: &Names) -> Table {
        let mut headers: Vec<&str> = self.dimensions.iter().map(|d| d.title_ru()).collect();
        headers.extend([
            "Сообщений",
            "Оценено",
            "Средняя оценка",
            "Оценка 1",
            "Оценка 2",
            "Оценка 3",
            "Оценка 4",
            "Оценка 5",
        ]);
        let mut table = Table::new("Объёмы", &headers);
        let numbers = |row: &ReportRow| {
            let mut cells = vec![
                Cell::count(row.messages),
                Cell::count(row.rated),
                Cell::num(row.mean_rating(), 2),
            ];
            cells.extend(row.ratings.iter().map(|n| Cell::count(*n)));
            cells
        };
        for row in &self.rows {
            let mut cells: Vec<Cell> = self
                .dimensions
                .iter()
                .zip(&row.keys)
                .map(|(d, k)| Cell::Text(d.display(k, names)))
                .collect();
            cells.extend(numbers(row));
            table.push(cells);
        }
        let mut total: Vec<Cell> = self
            .dimensions
            .iter()
            .enumerate()
            .map(|(k, _)| Cell::text(if k == 0 { "Итого" } else { "" }))
            .collect();
        total.extend(numbers(&self.total));
        table.push(total);
        table
    }
}

/// One CSV cell: quoted when it holds a comma, a quote or a line break.
fn csv_cell(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The volume report of every message in the store registered in `period`, grouped by
/// `dimensions`; reads the messages in id order, [`crate::feed::PAGE`] at a time (`progress`
/// gets the number read so far).
pub async fn volumes(
    store: &otklik_store::Store,
    dimensions: &[Dimension],
    period: Period,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<VolumeReport> {
    volumes_paged(
        store,
        dimensions,
        period,
        &Scope::All,
        crate::feed::PAGE,
        progress,
    )
    .await
}

/// [`volumes`] of the messages whose executor is in `scope`.
pub async fn volumes_in(
    store: &otklik_store::Store,
    dimensions: &[Dimension],
    period: Period,
    scope: &Scope,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<VolumeReport> {
    volumes_paged(
        store,
        dimensions,
        period,
        scope,
        crate::feed::PAGE,
        progress,
    )
    .await
}

#[tracing::instrument(skip(store, progress))]
async fn volumes_paged(
    store: &otklik_store::Store,
    dimensions: &[Dimension],
    period: Period,
    scope: &Scope,
    page_size: i64,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<VolumeReport> {
    let mut report = VolumeReport::empty(dimensions, period.since, period.until);
    let mut groups = BTreeMap::new();
    for_each_record(store, period, page_size, progress, |r| {
        if scope.allows(r.message.executor) {
            report.add(&mut groups, &r.message);
        }
    })
    .await?;
    report.finish(groups);
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use otklik_domain::{
        Channel, MessageId, MessageStatus, OrganisationId, SubcategoryId, TerritoryId, Timestamp,
    };

    use super::*;

    /// 2026-10-15T00:00Z.
    const OCT: i64 = 1_792_022_400_000;
    const DAY: i64 = 86_400_000;

    fn message(id: i64, sub: &str, channel: Channel, at: i64, rating: Option<i64>) -> Message {
        Message {
            id: MessageId(id),
            status: if rating.is_some() {
                MessageStatus::Rated
            } else {
                MessageStatus::Execution
            },
            version: 1,
            channel,
            subcategory: SubcategoryId(sub.into()),
            territory: Some(TerritoryId(7)),
            executor: Some(OrganisationId(3)),
            submitted_via: None,
            author: None,
            author_handle: None,
            source_post: None,
            text: "текст".into(),
            address: None,
            confidence_pm: None,
            rating,
            created_at: Timestamp(at),
            deadline_at: Timestamp(at + 30 * DAY),
            updated_at: Timestamp(at),
        }
    }

    fn sample() -> Vec<Message> {
        vec![
            message(1, "roads.potholes", Channel::Widget, OCT, Some(5)),
            message(2, "roads.potholes", Channel::Widget, OCT + DAY, Some(2)),
            message(3, "roads.lighting", Channel::Portal, OCT + 2 * DAY, Some(4)),
            message(4, "water.hot_water", Channel::Widget, OCT, None),
            // September, outside the October reports below.
            message(
                5,
                "roads.potholes",
                Channel::Widget,
                OCT - 20 * DAY,
                Some(1),
            ),
            // An invalid stored rating is not counted as rated.
            message(6, "water.hot_water", Channel::SocialNetwork, OCT, Some(9)),
        ]
    }

    fn october() -> (Option<i64>, Option<i64>) {
        let (a, b) = otklik_search::topics::month_range("2026-10").unwrap();
        (Some(a), Some(b))
    }

    #[test]
    fn volumes_by_category_and_channel_with_ratings() {
        let (since, until) = october();
        let messages = sample();
        let r = VolumeReport::build(
            &[Dimension::Category, Dimension::Channel],
            &messages,
            since,
            until,
        );
        let rows: Vec<(Vec<&str>, u64, u64, Option<f64>)> = r
            .rows
            .iter()
            .map(|row| {
                (
                    row.keys.iter().map(String::as_str).collect(),
                    row.messages,
                    row.rated,
                    row.mean_rating(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (vec!["roads", "portal"], 1, 1, Some(4.0)),
                (vec!["roads", "widget"], 2, 2, Some(3.5)),
                (vec!["water", "social_network"], 1, 0, None),
                (vec!["water", "widget"], 1, 0, None),
            ]
        );
        assert_eq!(r.total.messages, 5);
        assert_eq!(r.total.rated, 3);
        assert_eq!(r.total.ratings, [0, 1, 0, 1, 1]);
        assert!((r.total.mean_rating().unwrap() - 11.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn csv_has_a_header_rows_and_a_total() {
        let messages = sample();
        let r = VolumeReport::build(&[Dimension::Period], &messages, None, None);
        assert_eq!(
            r.to_csv(),
            "period,messages,rated,mean_rating,rating_1,rating_2,rating_3,rating_4,rating_5\n\
             2026-09,1,1,1.00,1,0,0,0,0\n\
             2026-10,5,3,3.67,0,1,0,1,1\n\
             total,6,4,3.00,1,1,0,1,1\n"
        );
        let total = VolumeReport::build(&[], &messages, None, None);
        assert_eq!(total.to_csv().lines().nth(1), Some("6,4,3.00,1,1,0,1,1"));
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("plain"), "plain");
    }

    #[tokio::test]
    async fn volumes_are_read_from_the_store_page_by_page() {
        use otklik_domain::NewMessage;
        let dir = tempfile::tempdir().unwrap();
        let store =
            otklik_store::Store::connect(&otklik_store::sqlite_url(&dir.path().join("otklik.db")))
                .await
                .unwrap();
        store.migrate().await.unwrap();
        for (k, (sub, channel)) in [
            ("roads.potholes", Channel::Widget),
            ("roads.potholes", Channel::Portal),
            ("water.hot_water", Channel::Widget),
            ("roads.lighting", Channel::Widget),
            ("roads.potholes", Channel::Widget),
        ]
        .into_iter()
        .enumerate()
        {
            let new = NewMessage {
                channel,
                subcategory: SubcategoryId(sub.into()),
                territory: None,
                executor: None,
                submitted_via: None,
                author: None,
                author_handle: None,
                source_post: None,
                text: format!("сообщение {k}"),
                address: None,
                confidence_pm: None,
                deadline_at: Timestamp(OCT + 30 * DAY),
            };
            let at = Timestamp(OCT + k as i64 * DAY);
            store.create_message(&new, None, None, at).await.unwrap();
        }
        let dims = [Dimension::Category, Dimension::Channel];
        // Two per page: three pages, the last one short.
        let r = volumes_paged(&store, &dims, Period::ALL, &Scope::All, 2, &mut |_| ())
            .await
            .unwrap();
        let counts: Vec<(String, u64)> = r
            .rows
            .iter()
            .map(|row| (row.keys.join("/"), row.messages))
            .collect();
        assert_eq!(
            counts,
            vec![
                ("roads/portal".to_owned(), 1),
                ("roads/widget".to_owned(), 3),
                ("water/widget".to_owned(), 1),
            ]
        );
        assert_eq!(r.total.messages, 5);
        assert_eq!(r.total.rated, 0);
        // The first three days only.
        let period = Period {
            since: Some(OCT),
            until: Some(OCT + 3 * DAY),
        };
        let r = volumes(&store, &[], period, &mut |_| ()).await.unwrap();
        assert_eq!(r.total.messages, 3);
        assert!(r.rows.is_empty());
        store.close().await;
    }

    #[test]
    fn dimensions_parse() {
        for d in Dimension::ALL {
            assert_eq!(d.name().parse::<Dimension>().ok(), Some(d));
        }
        assert_eq!(Dimension::from_name("Month"), Some(Dimension::Period));
        assert_eq!(
            Dimension::from_name("organisation"),
            Some(Dimension::Executor)
        );
        assert!("colour".parse::<Dimension>().is_err());
        let m = message(1, "roads.potholes", Channel::MobileApp, OCT, None);
        assert_eq!(Dimension::Territory.value_of(&m), "7");
        assert_eq!(Dimension::Executor.value_of(&m), "3");
        assert_eq!(Dimension::Channel.value_of(&m), "mobile_app");
        assert_eq!(Dimension::Status.value_of(&m), "execution");
    }
}
