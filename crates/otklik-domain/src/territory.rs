use serde::{Deserialize, Serialize};

use crate::TerritoryId;

code_enum! {
    /// Level of a territory in the region's hierarchy.
    TerritoryKind, "territory kind" {
        /// Субъект РФ.
        Region = "region", "Регион";
        /// Муниципальный район / округ.
        MunicipalDistrict = "municipal_district", "Муниципальный район";
        /// Городской округ.
        UrbanOkrug = "urban_okrug", "Городской округ";
        /// Внутригородской район.
        CityDistrict = "city_district", "Район города";
        /// Городское или сельское поселение, населённый пункт.
        Settlement = "settlement", "Населённый пункт";
    }
}

impl TerritoryKind {
    /// Kinds a child of this kind may have.
    pub fn may_contain(self, child: TerritoryKind) -> bool {
        use TerritoryKind::*;
        matches!(
            (self, child),
            (Region, MunicipalDistrict | UrbanOkrug | Settlement)
                | (MunicipalDistrict, Settlement)
                | (UrbanOkrug, CityDistrict | Settlement)
                | (CityDistrict, Settlement)
        )
    }
}

/// A territory: the region, its municipal districts and urban okrugs, city districts, settlements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Territory {
    /// Database id.
    pub id: TerritoryId,
    /// Stable natural key (e.g. `shelekhov-district`), used by imports and rules.
    pub code: String,
    /// Level in the hierarchy.
    pub kind: TerritoryKind,
    /// Official name in the nominative case («Шелеховский район»).
    pub name: String,
    /// Enclosing territory; `None` only for the region.
    pub parent: Option<TerritoryId>,
    /// Other names people use («Шелехов», «г. Шелехов»); inflected forms are the analyzer's job.
    pub name_variants: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy_rules() {
        assert!(TerritoryKind::Region.may_contain(TerritoryKind::MunicipalDistrict));
        assert!(TerritoryKind::UrbanOkrug.may_contain(TerritoryKind::CityDistrict));
        assert!(!TerritoryKind::Settlement.may_contain(TerritoryKind::Region));
        assert!(!TerritoryKind::MunicipalDistrict.may_contain(TerritoryKind::CityDistrict));
    }

    #[test]
    fn codes_round_trip() {
        for k in TerritoryKind::ALL {
            assert_eq!(k.code().parse::<TerritoryKind>(), Ok(*k));
            assert_eq!(k.label_ru().parse::<TerritoryKind>(), Ok(*k));
        }
        assert!("village".parse::<TerritoryKind>().is_err());
    }
}
