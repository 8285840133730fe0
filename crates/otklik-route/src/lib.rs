//! # otklik-route
//!
//! Picks the default executor of a message («исполнитель по умолчанию»): by place of submission
//! (the organisation whose widget received it) or by category and territory, following the
//! routing rules of `otklik-rules` and a [`Directory`] snapshot of territories and
//! organisations. Pure: no I/O, no clock. The moderator may change the executor afterwards; every
//! decision says why it was taken ([`RouteReason::explain_ru`]).
//!
//! Order: place of submission (when allowed for the subcategory) → explicit rule for the
//! subcategory in the territory or its nearest ancestor → explicit rule for the category in the
//! territory or its nearest ancestor → explicit rules without territory → by jurisdiction level
//! (municipal: the territory's ОМСУ; regional: the РОИВ with the competence; institution: an
//! institution of the territory with the competence, else regional) → the region-level fallback.
//!
//! ```
//! use otklik_domain::*;
//! use otklik_route::{Directory, RouteReason, RouteRequest, Router};
//! use otklik_rules::{parse_category_tree, parse_routing_rules};
//!
//! let tree = parse_category_tree(
//!     "[[category]]\nid = \"roads\"\nname = \"Автомобильные дороги\"\n\n\
//!      [[subcategory]]\nid = \"roads.potholes\"\ncategory = \"roads\"\nname = \"Ямы, выбоины\"\n",
//!     "rules/categories.toml",
//! )?;
//! let rules = parse_routing_rules("[defaults]\nlevel = \"municipal\"\n", "rules/routing.toml")?;
//!
//! let territory = |id, code: &str, kind, parent| Territory {
//!     id: TerritoryId(id), code: code.into(), kind, name: code.into(), parent, name_variants: vec![],
//! };
//! let omsu = Organisation {
//!     id: OrganisationId(10), code: "adm-shelekhov".into(), kind: OrgKind::Omsu,
//!     name: "Администрация Шелеховского района".into(), short_name: None, parent: None,
//!     territory: TerritoryId(2), competences: vec![], onboarding: Onboarding::default(),
//!     site_url: None,
//! };
//! let directory = Directory::new(
//!     vec![
//!         territory(1, "region", TerritoryKind::Region, None),
//!         territory(2, "shelekhov", TerritoryKind::MunicipalDistrict, Some(TerritoryId(1))),
//!         territory(3, "baklashi", TerritoryKind::Settlement, Some(TerritoryId(2))),
//!     ],
//!     vec![omsu],
//! );
//! let router = Router::new(&rules, &tree, directory)?;
//! let decision = router.route(&RouteRequest {
//!     subcategory: &SubcategoryId("roads.potholes".into()),
//!     territory: Some(TerritoryId(3)),
//!     submitted_via: None,
//! })?;
//! assert_eq!(decision.executor, OrganisationId(10));
//! assert!(matches!(decision.reason, RouteReason::TerritoryOmsu { territory: TerritoryId(2), .. }));
//! assert!(decision.reason.explain_ru().contains("местного самоуправления"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod directory;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use otklik_domain::{
    CategoryId, CategoryTree, OrgKind, Organisation, OrganisationId, SubcategoryId, TerritoryId,
};
use otklik_rules::{Level, Origin, RoutingRules, RuleTarget, RulesError};
use thiserror::Error;

pub use directory::Directory;

/// Errors of building a router or routing a message.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The routing rules do not match the category tree (unknown category or subcategory).
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// A routing rule names an organisation code the directory does not have.
    #[error("{origin}: unknown organisation code {code:?}")]
    UnknownOrganisationCode {
        /// Where the code is written.
        origin: Origin,
        /// The code.
        code: String,
    },
    /// A routing rule names a territory code the directory does not have.
    #[error("{origin}: unknown territory code {code:?}")]
    UnknownTerritoryCode {
        /// Where the code is written.
        origin: Origin,
        /// The code.
        code: String,
    },
    /// Several errors, one per line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Many(Vec<RouteError>),
    /// The request names a subcategory the tree does not have.
    #[error("unknown subcategory \"{0}\"")]
    UnknownSubcategory(SubcategoryId),
    /// The request names a territory the directory does not have.
    #[error("unknown territory id {0}")]
    UnknownTerritory(TerritoryId),
    /// Nothing in the directory can answer (no ОМСУ, РОИВ, institution or fallback body).
    #[error(
        "no executor found for subcategory \"{subcategory}\": the directory has no suitable organisation"
    )]
    NoExecutor {
        /// The subcategory of the message.
        subcategory: SubcategoryId,
    },
}

/// What to route.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest<'a> {
    /// Subcategory chosen by the citizen or the classifier.
    pub subcategory: &'a SubcategoryId,
    /// Territory of the problem, when known.
    pub territory: Option<TerritoryId>,
    /// Organisation whose widget received the message, when it came through one.
    pub submitted_via: Option<OrganisationId>,
}

/// The chosen executor and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    /// The organisation that answers by default.
    pub executor: OrganisationId,
    /// The step that decided.
    pub reason: RouteReason,
}

/// The routing step that chose the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteReason {
    /// The message came through the executor's own widget.
    PlaceOfSubmission,
    /// An explicit `[[rule]]` of a routing file.
    ExplicitRule {
        /// Routing file.
        file: PathBuf,
        /// Line of the rule's `[[rule]]` header.
        line: usize,
    },
    /// The ОМСУ of the territory (or of the nearest ancestor that has one).
    TerritoryOmsu {
        /// Territory where the ОМСУ was found.
        territory: TerritoryId,
        /// Its name.
        territory_name: String,
    },
    /// An institution of the territory (or an ancestor) with the category in its competences.
    InstitutionOfTerritory {
        /// Territory where the institution was found.
        territory: TerritoryId,
        /// Its name.
        territory_name: String,
        /// The category.
        category: CategoryId,
        /// Its name.
        category_name: String,
    },
    /// The region's РОИВ with the category in its competences.
    RegionalRoiv {
        /// The category.
        category: CategoryId,
        /// Its name.
        category_name: String,
    },
    /// Nothing more specific found: the region-level fallback body (ЦУР or a РОИВ).
    RegionFallback,
}

impl RouteReason {
    /// One Russian sentence for moderators: why this executor.
    pub fn explain_ru(&self) -> String {
        match self {
            RouteReason::PlaceOfSubmission => "Исполнитель определён по месту подачи: сообщение \
                поступило через форму на сайте этой организации."
                .to_owned(),
            RouteReason::ExplicitRule { file, line } => format!(
                "Исполнитель назначен явным правилом маршрутизации ({}, строка {line}).",
                file.display()
            ),
            RouteReason::TerritoryOmsu { territory_name, .. } => format!(
                "Вопрос местного значения: исполнитель — орган местного самоуправления \
                 территории «{territory_name}»."
            ),
            RouteReason::InstitutionOfTerritory {
                territory_name,
                category_name,
                ..
            } => format!(
                "Исполнитель — учреждение территории «{territory_name}», в компетенции \
                 которого категория «{category_name}»."
            ),
            RouteReason::RegionalRoiv { category_name, .. } => format!(
                "Вопрос регионального ведения: исполнитель — орган исполнительной власти \
                 региона, в компетенции которого категория «{category_name}»."
            ),
            RouteReason::RegionFallback => "Исполнитель по категории и территории не найден: \
                сообщение передано организации регионального уровня для распределения \
                модератором."
                .to_owned(),
        }
    }
}

impl fmt::Display for RouteReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain_ru())
    }
}

/// Per-subcategory routing facts, resolved once.
#[derive(Debug, Clone)]
struct SubRoute {
    category: CategoryId,
    category_name: String,
    level: Level,
    by_place_of_submission: bool,
}

/// An explicit rule with its codes resolved.
#[derive(Debug, Clone)]
struct ResolvedRule {
    executor: OrganisationId,
    file: PathBuf,
    line: usize,
}

/// Routes messages; built once from rules, the tree and a directory snapshot.
#[derive(Debug, Clone)]
pub struct Router {
    directory: Directory,
    subs: HashMap<SubcategoryId, SubRoute>,
    /// First rule (in priority order) per (target, territory).
    rules: HashMap<(RuleTarget, Option<TerritoryId>), ResolvedRule>,
    fallback: Option<OrganisationId>,
}

impl Router {
    /// Checks the rules against the tree and resolves their organisation and territory codes
    /// against the directory; reports every unknown reference with file:line:column.
    pub fn new(
        rules: &RoutingRules,
        tree: &CategoryTree,
        directory: Directory,
    ) -> Result<Router, RouteError> {
        let mut errors = Vec::new();
        if let Err(e) = rules.validate(tree) {
            errors.push(RouteError::Rules(e));
        }
        let org = |l: &otklik_rules::Located<String>, errors: &mut Vec<RouteError>| {
            let found = directory.organisation_by_code(&l.value).map(|o| o.id);
            if found.is_none() {
                errors.push(RouteError::UnknownOrganisationCode {
                    origin: l.origin.clone(),
                    code: l.value.clone(),
                });
            }
            found
        };

        let fallback = match &rules.defaults().fallback_executor {
            Some(f) => org(f, &mut errors),
            None => None,
        };

        let mut resolved = HashMap::new();
        for r in rules.rules() {
            let territory = match &r.territory {
                None => Some(None),
                Some(t) => match directory.territory_by_code(&t.value) {
                    Some(found) => Some(Some(found.id)),
                    None => {
                        errors.push(RouteError::UnknownTerritoryCode {
                            origin: t.origin.clone(),
                            code: t.value.clone(),
                        });
                        None
                    }
                },
            };
            let executor = org(&r.executor, &mut errors);
            if let (Some(territory), Some(executor)) = (territory, executor) {
                resolved
                    .entry((r.target.clone(), territory))
                    .or_insert(ResolvedRule {
                        executor,
                        file: r.origin.file.clone(),
                        line: r.origin.line,
                    });
            }
        }

        match errors.len() {
            0 => {}
            1 => return Err(errors.remove(0)),
            _ => return Err(RouteError::Many(errors)),
        }

        let subs = tree
            .subcategories()
            .iter()
            .map(|s| {
                let category_name = tree
                    .category(&s.category)
                    .map_or_else(|| s.category.0.clone(), |c| c.name.clone());
                let route = SubRoute {
                    category: s.category.clone(),
                    category_name,
                    level: rules.level_for(s),
                    by_place_of_submission: rules.by_place_of_submission_for(s),
                };
                (s.id.clone(), route)
            })
            .collect();

        Ok(Router {
            directory,
            subs,
            rules: resolved,
            fallback,
        })
    }

    /// The directory the router was built with.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The region-level fallback body as an oversight organisation: the configured
    /// `defaults.fallback_executor`, else the region's «other» body (the ЦУР) when there is
    /// one. A РОИВ chosen only as a routing fallback is not returned: it oversees nothing.
    pub fn fallback_executor(&self) -> Option<&Organisation> {
        match self.fallback {
            Some(id) => self.directory.organisation(id),
            None => self
                .directory
                .region_fallback(None)
                .filter(|o| o.kind == OrgKind::Other),
        }
    }

    /// Jurisdiction level of a subcategory, `None` when unknown.
    pub fn level_for(&self, subcategory: &SubcategoryId) -> Option<Level> {
        self.subs.get(subcategory).map(|s| s.level)
    }

    /// Whether the widget owner answers messages of a subcategory, `None` when unknown.
    pub fn by_place_of_submission_for(&self, subcategory: &SubcategoryId) -> Option<bool> {
        self.subs.get(subcategory).map(|s| s.by_place_of_submission)
    }

    /// Chooses the default executor of a message.
    pub fn route(&self, request: &RouteRequest<'_>) -> Result<RouteDecision, RouteError> {
        let sub = self
            .subs
            .get(request.subcategory)
            .ok_or_else(|| RouteError::UnknownSubcategory(request.subcategory.clone()))?;
        let chain = match request.territory {
            Some(t) if self.directory.territory(t).is_none() => {
                return Err(RouteError::UnknownTerritory(t));
            }
            Some(t) => self.directory.ancestors(t),
            None => Vec::new(),
        };

        // 1. Place of submission.
        if sub.by_place_of_submission
            && let Some(org) = request
                .submitted_via
                .and_then(|id| self.directory.organisation(id))
        {
            return Ok(RouteDecision {
                executor: org.id,
                reason: RouteReason::PlaceOfSubmission,
            });
        }

        // 2–4. Explicit rules.
        let by_sub = RuleTarget::Subcategory(request.subcategory.clone());
        let by_cat = RuleTarget::Category(sub.category.clone());
        let explicit = chain
            .iter()
            .find_map(|t| self.rules.get(&(by_sub.clone(), Some(*t))))
            .or_else(|| {
                chain
                    .iter()
                    .find_map(|t| self.rules.get(&(by_cat.clone(), Some(*t))))
            })
            .or_else(|| self.rules.get(&(by_sub, None)))
            .or_else(|| self.rules.get(&(by_cat, None)));
        if let Some(rule) = explicit {
            return Ok(RouteDecision {
                executor: rule.executor,
                reason: RouteReason::ExplicitRule {
                    file: rule.file.clone(),
                    line: rule.line,
                },
            });
        }

        // 5. By level, each falling back to the next broader one.
        let decision = match sub.level {
            Level::Institution => self
                .institution(request.territory, sub)
                .or_else(|| self.regional(request.territory, sub))
                .or_else(|| self.municipal(request.territory)),
            Level::Regional => self
                .regional(request.territory, sub)
                .or_else(|| self.municipal(request.territory)),
            Level::Municipal => self.municipal(request.territory),
        };
        if let Some(d) = decision {
            return Ok(d);
        }

        // 6. Region-level fallback.
        let fallback = self.fallback.or_else(|| {
            self.directory
                .region_fallback(request.territory)
                .map(|o| o.id)
        });
        fallback
            .map(|executor| RouteDecision {
                executor,
                reason: RouteReason::RegionFallback,
            })
            .ok_or_else(|| RouteError::NoExecutor {
                subcategory: request.subcategory.clone(),
            })
    }

    fn territory_name(&self, t: TerritoryId) -> String {
        self.directory
            .territory(t)
            .map_or_else(|| t.to_string(), |t| t.name.clone())
    }

    fn municipal(&self, territory: Option<TerritoryId>) -> Option<RouteDecision> {
        let (at, org) = self.directory.omsu_for(territory?)?;
        Some(RouteDecision {
            executor: org.id,
            reason: RouteReason::TerritoryOmsu {
                territory: at,
                territory_name: self.territory_name(at),
            },
        })
    }

    fn regional(&self, territory: Option<TerritoryId>, sub: &SubRoute) -> Option<RouteDecision> {
        let roiv = self
            .directory
            .roivs_for(&sub.category, territory)
            .into_iter()
            .next()?;
        Some(RouteDecision {
            executor: roiv.id,
            reason: RouteReason::RegionalRoiv {
                category: sub.category.clone(),
                category_name: sub.category_name.clone(),
            },
        })
    }

    fn institution(&self, territory: Option<TerritoryId>, sub: &SubRoute) -> Option<RouteDecision> {
        let (at, org) = self.directory.institution_for(territory?, &sub.category)?;
        Some(RouteDecision {
            executor: org.id,
            reason: RouteReason::InstitutionOfTerritory {
                territory: at,
                territory_name: self.territory_name(at),
                category: sub.category.clone(),
                category_name: sub.category_name.clone(),
            },
        })
    }
}
