//! Satisfaction: the citizens' ratings (1–5) per executor organisation or per category —
//! how many rated, the mean, the distribution, the shares of good (4–5) and bad (1–2)
//! ratings. Built on the volume counts ([`crate::volumes`]).

use crate::names::Names;
use crate::table::{Cell, Table};
use crate::volumes::{Dimension, ReportRow, VolumeReport, volumes, volumes_in};
use crate::zone::percent;
use crate::{Period, ReportError, Result, Scope};

/// What satisfaction is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SatisfactionBy {
    /// Executor organisation.
    Organisation,
    /// Category of the unified classifier.
    Category,
}

impl SatisfactionBy {
    fn dimension(self) -> Dimension {
        match self {
            SatisfactionBy::Organisation => Dimension::Executor,
            SatisfactionBy::Category => Dimension::Category,
        }
    }
}

impl std::str::FromStr for SatisfactionBy {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "organisation" | "organization" | "executor" => Ok(SatisfactionBy::Organisation),
            "category" => Ok(SatisfactionBy::Category),
            other => Err(ReportError::Invalid(format!(
                "satisfaction is grouped by organisation or category, not {other:?}"
            ))),
        }
    }
}

/// Ratings per group.
#[derive(Debug, Clone, PartialEq)]
pub struct SatisfactionReport {
    /// The grouping.
    pub by: SatisfactionBy,
    /// The counts.
    pub volumes: VolumeReport,
}

impl SatisfactionReport {
    /// Ratings of `messages` registered in `period`, grouped `by`.
    pub fn build<'a>(
        by: SatisfactionBy,
        messages: impl IntoIterator<Item = &'a otklik_domain::Message>,
        period: Period,
    ) -> Self {
        Self {
            by,
            volumes: VolumeReport::build(&[by.dimension()], messages, period.since, period.until),
        }
    }

    /// The rows: `(group value, counts)`.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &ReportRow)> {
        self.volumes
            .rows
            .iter()
            .map(|r| (r.keys.first().map_or("", String::as_str), r))
    }

    /// The report as a table (by name), most rated first, a last «Итого» row.
    pub fn table(&self, names: &Names) -> Table {
        let dim = self.by.dimension();
        let mut table = Table::new(
            "Удовлетворённость",
            &[
                dim.title_ru(),
                "Сообщений",
                "Оценено",
                "Средняя оценка",
                "Оценка 1",
                "Оценка 2",
                "Оценка 3",
                "Оценка 4",
                "Оценка 5",
                "Оценки 4–5, %",
                "Оценки 1–2, %",
            ],
        );
        let cells = |name: String, row: &ReportRow| {
            let mut cells = vec![
                Cell::Text(name),
                Cell::count(row.messages),
                Cell::count(row.rated),
                Cell::num(row.mean_rating(), 2),
            ];
            cells.extend(row.ratings.iter().map(|n| Cell::count(*n)));
            cells.push(Cell::num(
                percent(row.ratings[3] + row.ratings[4], row.rated),
                1,
            ));
            cells.push(Cell::num(
                percent(row.ratings[0] + row.ratings[1], row.rated),
                1,
            ));
            cells
        };
        let mut rows: Vec<(String, &ReportRow)> = self
            .rows()
            .map(|(k, r)| (dim.display(k, names), r))
            .collect();
        rows.sort_by(|a, b| b.1.rated.cmp(&a.1.rated).then(a.0.cmp(&b.0)));
        for (name, row) in rows {
            table.push(cells(name, row));
        }
        table.push(cells("Итого".into(), &self.volumes.total));
        table
    }
}

/// Satisfaction of the store's messages registered in `period`, grouped `by`.
pub async fn satisfaction(
    store: &otklik_store::Store,
    by: SatisfactionBy,
    period: Period,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<SatisfactionReport> {
    Ok(SatisfactionReport {
        by,
        volumes: volumes(store, &[by.dimension()], period, progress).await?,
    })
}

/// [`satisfaction`] of the messages whose executor is in `scope`.
pub async fn satisfaction_in(
    store: &otklik_store::Store,
    by: SatisfactionBy,
    period: Period,
    scope: &Scope,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<SatisfactionReport> {
    Ok(SatisfactionReport {
        by,
        volumes: volumes_in(store, &[by.dimension()], period, scope, progress).await?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use otklik_domain::{
        Channel, Message, MessageId, MessageStatus, OrganisationId, SubcategoryId, Timestamp,
    };

    use super::*;

    fn rated(id: i64, org: i64, sub: &str, rating: Option<i64>) -> Message {
        Message {
            id: MessageId(id),
            status: MessageStatus::Rated,
            version: 1,
            channel: Channel::Portal,
            subcategory: SubcategoryId(sub.into()),
            territory: None,
            executor: Some(OrganisationId(org)),
            submitted_via: None,
            author: None,
            author_handle: None,
            source_post: None,
            text: "т".into(),
            address: None,
            confidence_pm: None,
            rating,
            created_at: Timestamp(1_000),
            deadline_at: Timestamp(2_000),
            updated_at: Timestamp(1_000),
        }
    }

    #[test]
    fn mean_and_distribution_per_organisation_and_category() {
        let messages = vec![
            rated(1, 1, "roads.potholes", Some(5)),
            rated(2, 1, "roads.potholes", Some(4)),
            rated(3, 1, "water.leaks", Some(1)),
            rated(4, 2, "water.leaks", Some(2)),
            rated(5, 2, "water.leaks", None),
        ];
        let r = SatisfactionReport::build(SatisfactionBy::Organisation, &messages, Period::ALL);
        let rows: Vec<(&str, u64, [u64; 5])> = r
            .rows()
            .map(|(k, row)| (k, row.rated, row.ratings))
            .collect();
        assert_eq!(
            rows,
            vec![("1", 3, [1, 0, 0, 1, 1]), ("2", 1, [0, 1, 0, 0, 0])]
        );
        let t = r.table(&Names::default());
        assert_eq!(t.rows[0][0], Cell::text("Организация № 1"));
        assert_eq!(t.rows[0][3], Cell::Num(10.0 / 3.0, 2));
        assert_eq!(t.rows[0][9].display(), "66.7");
        assert_eq!(t.rows[2][0], Cell::text("Итого"));
        assert_eq!(t.rows[2][2], Cell::Int(4));
        let by_cat = SatisfactionReport::build(SatisfactionBy::Category, &messages, Period::ALL);
        let cats: Vec<&str> = by_cat.rows().map(|(k, _)| k).collect();
        assert_eq!(cats, vec!["roads", "water"]);
        assert!("colour".parse::<SatisfactionBy>().is_err());
        assert_eq!(
            "category".parse::<SatisfactionBy>().ok(),
            Some(SatisfactionBy::Category)
        );
    }
}
