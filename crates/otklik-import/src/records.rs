//! Per-kind parsers: rows → domain input records, with the line each record starts on.

use std::collections::HashMap;
use std::io::Read;

use otklik_domain::directory::{
    NewCommunity, NewOrganisation, NewRoleGrant, NewSource, NewTerritory, NewUser,
};
use otklik_domain::{CategoryId, Network, Onboarding, Role, TerritoryKind, Verification};

use crate::ImportError;
use crate::community_url::{
    CommunityUrlError, community_url, ok_name, parse_community_url, telegram_name, vk_name,
};
use crate::error::Errors;
use crate::field::{self, Check, CodeEnum};
use crate::table::{Column, Row, opt, read_rows, req};

/// Records with the line each one starts on.
pub(crate) type Located<T> = Vec<(u64, T)>;

pub(crate) const TERRITORY_COLUMNS: &[Column] = &[
    req("code"),
    req("kind"),
    req("name"),
    opt("parent_code"),
    opt("name_variants"),
];

pub(crate) const ORGANISATION_COLUMNS: &[Column] = &[
    req("code"),
    req("kind"),
    req("name"),
    opt("short_name"),
    opt("parent_code"),
    req("territory_code"),
    opt("competences"),
    opt("account_ready"),
    opt("training_done"),
    opt("widget_installed"),
    opt("site_url"),
];

pub(crate) const USER_COLUMNS: &[Column] = &[
    req("login"),
    req("full_name"),
    opt("email"),
    opt("organisation_code"),
    opt("roles"),
    opt("confirmed"),
];

pub(crate) const COMMUNITY_COLUMNS: &[Column] = &[
    req("url"),
    req("organisation_code"),
    req("title"),
    opt("verification"),
];

pub(crate) const SOURCE_COLUMNS: &[Column] = &[
    req("name"),
    req("network"),
    req("target"),
    req("schedule"),
    opt("territory_code"),
    opt("enabled"),
];

/// One row being checked: field getters record failures and return a placeholder.
struct Cells<'a> {
    row: &'a Row,
    errs: &'a mut Errors,
    ok: bool,
}

impl<'a> Cells<'a> {
    fn new(row: &'a Row, errs: &'a mut Errors) -> Self {
        Self {
            row,
            errs,
            ok: true,
        }
    }

    fn raw(&self, column: &str) -> &'a str {
        self.row.get(column)
    }

    fn err(&mut self, column: &str, message: impl Into<String>) {
        self.errs.push(self.row.line, Some(column), message);
        self.ok = false;
    }

    fn take<T>(&mut self, column: &str, check: Check<T>) -> Option<T> {
        match check {
            Ok(v) => Some(v),
            Err(m) => {
                self.err(column, m);
                None
            }
        }
    }

    fn req_code(&mut self, column: &str) -> String {
        let v = field::req_code(self.raw(column));
        self.take(column, v).unwrap_or_default()
    }

    fn opt_code(&mut self, column: &str) -> Option<String> {
        let v = field::code(self.raw(column));
        self.take(column, v).flatten()
    }

    fn req_text(&mut self, column: &str) -> String {
        let v = field::req_text(self.raw(column));
        self.take(column, v).unwrap_or_default()
    }

    fn opt_text(&mut self, column: &str) -> Option<String> {
        let v = field::text(self.raw(column));
        self.take(column, v).flatten()
    }

    fn code_enum<T: CodeEnum>(&mut self, column: &str) -> Option<T> {
        let v = field::code_enum(self.raw(column));
        self.take(column, v)
    }

    fn boolean(&mut self, column: &str, default: bool) -> bool {
        let v = field::boolean(self.raw(column), default);
        self.take(column, v).unwrap_or(default)
    }

    /// The record, when every field of the row was valid.
    fn finish<T>(self, record: Option<T>) -> Option<(u64, T)> {
        match record {
            Some(r) if self.ok => Some((self.row.line, r)),
            _ => None,
        }
    }
}

/// Reports a second occurrence of a key.
fn unique(
    seen: &mut HashMap<String, u64>,
    key: String,
    what: &str,
    shown: &str,
    line: u64,
    column: &str,
    errs: &mut Errors,
) {
    if key.is_empty() {
        return;
    }
    if let Some(first) = seen.get(&key) {
        errs.push(
            line,
            Some(column),
            format!("duplicate {what} \"{shown}\" (first defined at line {first})"),
        );
    } else {
        seen.insert(key, line);
    }
}

/// Parses `territories.csv`.
pub(crate) fn territories<R: Read>(
    reader: R,
    file: &str,
) -> Result<Located<NewTerritory>, ImportError> {
    let mut errs = Errors::new(file);
    let rows = read_rows(reader, TERRITORY_COLUMNS, &mut errs)?;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for row in &rows {
        let mut c = Cells::new(row, &mut errs);
        let code = c.req_code("code");
        let kind = c.code_enum::<TerritoryKind>("kind");
        let name = c.req_text("name");
        let parent_code = c.opt_code("parent_code");
        let mut name_variants: Vec<String> = Vec::new();
        for item in field::list(c.raw("name_variants")) {
            if let Some(v) = c.take("name_variants", field::req_text(item))
                && !name_variants.contains(&v)
            {
                name_variants.push(v);
            }
        }
        match (kind, &parent_code) {
            (Some(TerritoryKind::Region), Some(_)) => {
                c.err("parent_code", "a region has no parent territory");
            }
            (Some(k), None) if k != TerritoryKind::Region => {
                c.err(
                    "parent_code",
                    format!("required for a territory of kind {k}"),
                );
            }
            _ => {}
        }
        if parent_code.as_deref() == Some(code.as_str()) {
            c.err("parent_code", "a territory cannot be its own parent");
        }
        let record = kind.map(|kind| NewTerritory {
            code: code.clone(),
            kind,
            name,
            parent_code,
            name_variants,
        });
        out.extend(c.finish(record));
        unique(
            &mut seen,
            code.clone(),
            "territory code",
            &code,
            row.line,
            "code",
            &mut errs,
        );
    }
    // Hierarchy inside the file: a parent defined anywhere in it must be allowed to contain
    // the child's kind (order is checked with the references).
    let kinds: HashMap<&str, TerritoryKind> =
        out.iter().map(|(_, t)| (t.code.as_str(), t.kind)).collect();
    let mut hierarchy = Vec::new();
    for (line, t) in &out {
        if let Some(parent) = t.parent_code.as_deref()
            && let Some(pk) = kinds.get(parent)
            && !pk.may_contain(t.kind)
        {
            hierarchy.push((*line, may_not_contain(parent, *pk, t.kind)));
        }
    }
    for (line, message) in hierarchy {
        errs.push(line, Some("parent_code"), message);
    }
    errs.into_result(out)
}

/// The message for a child kind its parent's kind may not contain.
pub(crate) fn may_not_contain(
    parent: &str,
    parent_kind: TerritoryKind,
    child: TerritoryKind,
) -> String {
    format!(
        "parent \"{parent}\" is a {} territory, which cannot contain a {} territory",
        parent_kind.code(),
        child.code()
    )
}

/// Parses `organisations.csv`.
pub(crate) fn organisations<R: Read>(
    reader: R,
    file: &str,
) -> Result<Located<NewOrganisation>, ImportError> {
    let mut errs = Errors::new(file);
    let rows = read_rows(reader, ORGANISATION_COLUMNS, &mut errs)?;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for row in &rows {
        let mut c = Cells::new(row, &mut errs);
        let code = c.req_code("code");
        let kind = c.code_enum("kind");
        let name = c.req_text("name");
        let short_name = c.opt_text("short_name");
        let parent_code = c.opt_code("parent_code");
        if parent_code.as_deref() == Some(code.as_str()) {
            c.err("parent_code", "an organisation cannot be its own parent");
        }
        let territory_code = c.req_code("territory_code");
        let mut competences: Vec<CategoryId> = Vec::new();
        for item in field::list(c.raw("competences")) {
            if let Some(id) = c.take("competences", field::category_id(item)) {
                let id = CategoryId(id);
                if !competences.contains(&id) {
                    competences.push(id);
                }
            }
        }
        let onboarding = Onboarding {
            account_ready: c.boolean("account_ready", false),
            training_done: c.boolean("training_done", false),
            widget_installed: c.boolean("widget_installed", false),
        };
        let site_url = {
            let v = field::http_url(c.raw("site_url"));
            c.take("site_url", v).flatten()
        };
        let record = kind.map(|kind| NewOrganisation {
            code: code.clone(),
            kind,
            name,
            short_name,
            parent_code,
            territory_code,
            competences,
            onboarding,
            site_url,
        });
        out.extend(c.finish(record));
        unique(
            &mut seen,
            code.clone(),
            "organisation code",
            &code,
            row.line,
            "code",
            &mut errs,
        );
    }
    errs.into_result(out)
}

/// Parses the `roles` cell of a user: `role` (in the user's organisation) or `role@org_code`,
/// separated by `;`. A `citizen` without an organisation yields no grant: citizens act on their
/// own messages, not within an organisation.
fn roles(c: &mut Cells<'_>, own_org: Option<&str>) -> Vec<NewRoleGrant> {
    let mut grants: Vec<NewRoleGrant> = Vec::new();
    let mut citizen = false;
    for item in field::list(c.raw("roles")) {
        let (role_text, org) = match item.split_once('@') {
            Some((r, o)) => (r.trim(), Some(o.trim())),
            None => (item, None),
        };
        let Some(role) = c.take("roles", field::code_enum::<Role>(role_text)) else {
            continue;
        };
        let org = match org {
            Some(o) => match field::req_code(o) {
                Ok(o) => Some(o),
                Err(m) => {
                    c.err("roles", format!("in \"{item}\": organisation code: {m}"));
                    continue;
                }
            },
            None => own_org.map(str::to_owned),
        };
        match (role, org) {
            (Role::Citizen, None) => {
                if citizen {
                    c.err("roles", "role citizen is listed twice");
                }
                citizen = true;
            }
            (Role::Citizen, Some(_)) => c.err(
                "roles",
                "role citizen is not held in an organisation (leave organisation_code empty for citizens)",
            ),
            (role, None) => c.err(
                "roles",
                format!(
                    "role {role} needs an organisation: fill organisation_code or write {role}@<organisation code>"
                ),
            ),
            (role, Some(organisation_code)) => {
                let grant = NewRoleGrant {
                    role,
                    organisation_code,
                };
                if grants.contains(&grant) {
                    c.err(
                        "roles",
                        format!("role {role} in {} is listed twice", grant.organisation_code),
                    );
                } else {
                    grants.push(grant);
                }
            }
        }
    }
    grants
}

/// Parses `users.csv`.
pub(crate) fn users<R: Read>(reader: R, file: &str) -> Result<Located<NewUser>, ImportError> {
    let mut errs = Errors::new(file);
    let rows = read_rows(reader, USER_COLUMNS, &mut errs)?;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for row in &rows {
        let mut c = Cells::new(row, &mut errs);
        let login = {
            let v = field::login(c.raw("login"));
            c.take("login", v).unwrap_or_default()
        };
        let full_name = c.req_text("full_name");
        let email = {
            let v = field::email(c.raw("email"));
            c.take("email", v).flatten()
        };
        let organisation_code = c.opt_code("organisation_code");
        let roles = roles(&mut c, organisation_code.as_deref());
        let confirmed = c.boolean("confirmed", false);
        let record = Some(NewUser {
            login: login.clone(),
            full_name,
            email,
            organisation_code,
            confirmed,
            roles,
        });
        out.extend(c.finish(record));
        unique(
            &mut seen,
            login.to_lowercase(),
            "login",
            &login,
            row.line,
            "login",
            &mut errs,
        );
    }
    errs.into_result(out)
}

/// Parses `communities.csv`.
pub(crate) fn communities<R: Read>(
    reader: R,
    file: &str,
) -> Result<Located<NewCommunity>, ImportError> {
    let mut errs = Errors::new(file);
    let rows = read_rows(reader, COMMUNITY_COLUMNS, &mut errs)?;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for row in &rows {
        let mut c = Cells::new(row, &mut errs);
        let parsed = {
            let raw = c.raw("url");
            let v = match parse_community_url(raw) {
                Err(CommunityUrlError::Empty) => Err("required field is empty".to_owned()),
                other => other.map_err(|e| e.to_string()),
            };
            c.take("url", v)
        };
        let organisation_code = c.req_code("organisation_code");
        let title = c.req_text("title");
        let verification = if c.raw("verification").is_empty() {
            Some(Verification::Pending)
        } else {
            c.code_enum("verification")
        };
        let key = parsed
            .as_ref()
            .map(|(n, id)| format!("{n}/{id}"))
            .unwrap_or_default();
        let record = match (parsed, verification) {
            (Some((network, external_id)), Some(verification)) => Some(NewCommunity {
                url: community_url(network, &external_id).unwrap_or_default(),
                network,
                external_id,
                title,
                organisation_code,
                verification,
            }),
            _ => None,
        };
        out.extend(c.finish(record));
        unique(
            &mut seen,
            key.clone(),
            "community",
            &key,
            row.line,
            "url",
            &mut errs,
        );
    }
    errs.into_result(out)
}

/// Checks and normalises a source target for its network.
fn source_target(network: Network, target: &str) -> Check<String> {
    if target.is_empty() {
        return Err("required field is empty".to_owned());
    }
    let url_err = |e: CommunityUrlError| e.to_string();
    match network {
        Network::Vk | Network::Ok => {
            if let Some(query) = target.strip_prefix("search:") {
                let query =
                    field::req_text(query.trim()).map_err(|m| format!("search query: {m}"))?;
                return Ok(format!("search:{query}"));
            }
            if target.contains('/') {
                let (n, id) = parse_community_url(target).map_err(url_err)?;
                if n != network {
                    return Err(format!(
                        "target \"{target}\" is a {n} link but the source network is {network}"
                    ));
                }
                return Ok(id);
            }
            if network == Network::Vk {
                vk_name(target, target).map_err(url_err)
            } else {
                ok_name(target, target).map_err(url_err)
            }
        }
        Network::Telegram => {
            if target.contains('/') {
                match parse_community_url(target).map_err(url_err)? {
                    (Network::Telegram, id) => Ok(id),
                    (n, _) => Err(format!(
                        "target \"{target}\" is a {n} link but the source network is telegram"
                    )),
                }
            } else {
                telegram_name(target).map_err(url_err)
            }
        }
        Network::Rss | Network::Web => {
            field::http_url(target)?.ok_or_else(|| "required field is empty".to_owned())
        }
    }
}

/// Parses `sources.csv`.
pub(crate) fn sources<R: Read>(reader: R, file: &str) -> Result<Located<NewSource>, ImportError> {
    let mut errs = Errors::new(file);
    let rows = read_rows(reader, SOURCE_COLUMNS, &mut errs)?;
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for row in &rows {
        let mut c = Cells::new(row, &mut errs);
        let name = c.req_code("name");
        let network = c.code_enum::<Network>("network");
        let target = match network {
            Some(n) => {
                let v = source_target(n, c.raw("target"));
                c.take("target", v)
            }
            None => None,
        };
        let schedule = {
            let v = field::cron(c.raw("schedule"));
            c.take("schedule", v).unwrap_or_default()
        };
        let territory_code = c.opt_code("territory_code");
        let enabled = c.boolean("enabled", true);
        let record = match (network, target) {
            (Some(network), Some(target)) => Some(NewSource {
                name: name.clone(),
                network,
                target,
                schedule,
                territory_code,
                enabled,
            }),
            _ => None,
        };
        out.extend(c.finish(record));
        unique(
            &mut seen,
            name.clone(),
            "source name",
            &name,
            row.line,
            "name",
            &mut errs,
        );
    }
    errs.into_result(out)
}
