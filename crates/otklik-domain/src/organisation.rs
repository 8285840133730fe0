use serde::{Deserialize, Serialize};

use crate::{CategoryId, OrganisationId, TerritoryId};

code_enum! {
    /// Type of a body connected to the platform.
    OrgKind, "organisation kind" {
        /// Региональный орган исполнительной власти.
        Roiv = "roiv", "РОИВ";
        /// Орган местного самоуправления.
        Omsu = "omsu", "ОМСУ";
        /// Подведомственное учреждение (школа, поликлиника, …).
        Institution = "institution", "Учреждение";
        /// Иная организация (ЦУР, ресурсоснабжающая, управляющая компания).
        Other = "other", "Иная организация";
    }
}

/// Onboarding confirmations tracked for every organisation, as in the regional status reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Onboarding {
    /// «ЛКО готов к работе» — the organisation's account is set up.
    pub account_ready: bool,
    /// «Мной пройдено обучение» — the staff confirmed the training.
    pub training_done: bool,
    /// The submission widget is installed on the organisation's site.
    pub widget_installed: bool,
}

impl Onboarding {
    /// Share of confirmations done, 0–100.
    pub fn percent(self) -> u8 {
        let done = [
            self.account_ready,
            self.training_done,
            self.widget_installed,
        ]
        .iter()
        .filter(|b| **b)
        .count();
        // 3 items: 0, 33, 66, 100.
        match done {
            0 => 0,
            1 => 33,
            2 => 66,
            _ => 100,
        }
    }
}

/// A body that receives and answers messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    /// Database id.
    pub id: OrganisationId,
    /// Stable natural key (e.g. `minzdrav`), used by imports and routing rules.
    pub code: String,
    /// Type.
    pub kind: OrgKind,
    /// Full official name.
    pub name: String,
    /// Short name («Минздрав»).
    pub short_name: Option<String>,
    /// Parent body (a school's education department, a district's administration).
    pub parent: Option<OrganisationId>,
    /// Territory the body serves.
    pub territory: TerritoryId,
    /// Categories the body is responsible for (used by routing fallbacks for РОИВ).
    pub competences: Vec<CategoryId>,
    /// Onboarding confirmations.
    pub onboarding: Onboarding,
    /// Site where the widget is installed.
    pub site_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onboarding_percent() {
        assert_eq!(Onboarding::default().percent(), 0);
        let all = Onboarding {
            account_ready: true,
            training_done: true,
            widget_installed: true,
        };
        assert_eq!(all.percent(), 100);
        let two = Onboarding {
            account_ready: true,
            training_done: true,
            widget_installed: false,
        };
        assert_eq!(two.percent(), 66);
    }

    #[test]
    fn kinds_parse_in_russian() {
        assert_eq!("РОИВ".parse::<OrgKind>(), Ok(OrgKind::Roiv));
        assert_eq!("omsu".parse::<OrgKind>(), Ok(OrgKind::Omsu));
    }
}
