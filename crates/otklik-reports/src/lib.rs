//! # otklik-reports
//!
//! The reports of Otklik, as the regional status reports ask for them:
//!
//! - [`deadlines`] — deadline compliance per executor organisation (answered on time, late,
//!   open and overdue, postponed, the compliance share with its zone, mean and median
//!   response time in **working days** of the production calendar), and the late answers by
//!   body (every message answered late or overdue, with how late);
//! - [`satisfaction`] — the citizens' ratings per organisation or category: mean and the 1–5
//!   distribution;
//! - [`volumes`] — messages by category, subcategory, territory, channel, period (month),
//!   status and executor, with their ratings;
//! - [`onboarding`] — per organisation type, the shares with the account ready («ЛКО готов к
//!   работе»), the training done («Мной пройдено обучение»), the widget installed and every
//!   user confirmed, the confirmed users, and the zone (green 80–100 %, yellow 50–80 %, red
//!   below), with what each lagging organisation must still do;
//! - [`gospabliki`] — Госпаблики coverage per organisation type or territory: organisations
//!   with the VK and OK pages the law requires, verified, active within N days;
//! - [`Scope`] — every report can be limited to some organisations (`*_in` functions): what
//!   an organisation-bound role (a municipality's head) may see;
//! - [`alerts`] — saved searches checked for spikes, with one alert e-mail per search per day
//!   queued in the outbox.
//!
//! Every report is a **pure aggregation** over domain values (`build`, unit-tested on plain
//! data) plus a function that reads the store — messages a page at a time in id order
//! ([`feed::for_each_record`]), so memory stays flat. Reports show **names**, not ids
//! ([`Names`]: organisations and territories from the store, categories from the rules'
//! tree) and turn into [`Table`]s, exported as CSV (RFC 4180), XLSX ([`to_xlsx`], one
//! worksheet per table) or aligned text.
//!
//! ```
//! use otklik_domain::{Onboarding, Organisation, OrganisationId, OrgKind, TerritoryId};
//! use otklik_reports::{Names, ZoneThresholds, onboarding::OnboardingReport, to_xlsx};
//!
//! let minzdrav = Organisation {
//!     id: OrganisationId(1),
//!     code: "minzdrav".into(),
//!     kind: OrgKind::Roiv,
//!     name: "Министерство здравоохранения".into(),
//!     short_name: None,
//!     parent: None,
//!     territory: TerritoryId(1),
//!     competences: vec![],
//!     onboarding: Onboarding { account_ready: true, training_done: true, widget_installed: false },
//!     site_url: None,
//! };
//! let report = OnboardingReport::build(&[minzdrav.clone()], &[], ZoneThresholds::default());
//! // Account 100 %, training 100 %, widget 0 %, users confirmed 0 %: 50 % — yellow.
//! assert_eq!(report.rows[0].readiness(), Some(50.0));
//! let table = report.table();
//! assert!(table.to_csv().contains("РОИВ,1,1,100.0,1,100.0,0,0.0,0,0.0,0,50.0,жёлтая"));
//! let names = Names::new(&[minzdrav], &[], None);
//! let xlsx = to_xlsx(&[table, report.pending_table(&names)]).unwrap();
//! assert_eq!(&xlsx[..2], b"PK");
//! ```

pub mod alerts;
pub mod deadlines;
mod error;
pub mod feed;
pub mod gospabliki;
mod names;
pub mod onboarding;
mod period;
pub mod satisfaction;
mod scope;
mod table;
pub mod volumes;
mod zone;

pub use error::{ReportError, Result};
pub use names::{NO_EXECUTOR, NO_TERRITORY, Names, month_label};
pub use period::{Period, day_label, parse_day};
pub use scope::Scope;
pub use table::{Cell, Table, csv_field, to_xlsx};
pub use zone::{Zone, ZoneThresholds, percent};
