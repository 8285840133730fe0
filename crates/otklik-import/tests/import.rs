//! Parsing and validation of directory CSV files.

use std::path::{Path, PathBuf};

use otklik_domain::directory::DirectoryBatch;
use otklik_domain::{Network, OrgKind, Role, TerritoryKind, Verification};
use otklik_import::{
    ImportError, ImportKind, Importer, KnownCodes, RowError, check_references, load_dir,
    load_dir_checked, parse_communities, parse_file, parse_into, parse_organisations,
    parse_sources, parse_territories, parse_users,
};

fn data(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir)
}

/// Parses `text` as `kind` and returns the row errors (panics when it parses).
fn errors(kind: ImportKind, text: &str) -> Vec<RowError> {
    let mut importer = Importer::new();
    match importer.add_reader(kind, text.as_bytes(), kind.file_name()) {
        Ok(n) => panic!("expected errors, parsed {n} records:\n{text}"),
        Err(e) => e.row_errors().to_vec(),
    }
}

/// Asserts exactly one error at `row` in `column` whose message contains `needle`.
#[track_caller]
fn one_error(kind: ImportKind, text: &str, row: u64, column: Option<&str>, needle: &str) {
    let errs = errors(kind, text);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let e = &errs[0];
    assert_eq!(e.file, kind.file_name());
    assert_eq!((e.row, e.column.as_deref()), (row, column), "{e}");
    assert!(
        e.message.contains(needle),
        "{e} does not contain {needle:?}"
    );
}

const T_HEAD: &str = "code,kind,name,parent_code,name_variants\n";
const REGION: &str = "severnaya-oblast,region,Северная область,,\n";
const O_HEAD: &str = "code,kind,name,short_name,parent_code,territory_code,competences,account_ready,training_done,widget_installed,site_url\n";
const U_HEAD: &str = "login,full_name,email,organisation_code,roles,confirmed\n";
const C_HEAD: &str = "url,organisation_code,title,verification\n";
const S_HEAD: &str = "name,network,target,schedule,territory_code,enabled\n";

#[test]
fn territory_errors_name_row_and_column() {
    use ImportKind::Territories as T;
    let cases: &[(&str, u64, Option<&str>, &str)] = &[
        (
            "x,village,X,severnaya-oblast,\n",
            3,
            Some("kind"),
            "unknown territory kind \"village\"",
        ),
        (
            ",settlement,X,severnaya-oblast,\n",
            3,
            Some("code"),
            "required field is empty",
        ),
        (
            "x,settlement,,severnaya-oblast,\n",
            3,
            Some("name"),
            "required field is empty",
        ),
        (
            "x,settlement,X,,\n",
            3,
            Some("parent_code"),
            "required for a territory of kind settlement",
        ),
        (
            "x,region,X,severnaya-oblast,\n",
            3,
            Some("parent_code"),
            "a region has no parent",
        ),
        (
            "x,settlement,X,x,\n",
            3,
            Some("parent_code"),
            "its own parent",
        ),
        (
            "код,settlement,X,severnaya-oblast,\n",
            3,
            Some("code"),
            "invalid code",
        ),
        (
            "x,settlement,X,severnaya-oblast\n",
            3,
            None,
            "expected 5 fields as in the header, found 4",
        ),
        ("x,settlement,X,severnaya-oblast,,\n", 3, None, "found 6"),
        (
            "severnaya-oblast,region,X,,\n",
            3,
            Some("code"),
            "duplicate territory code \"severnaya-oblast\" (first defined at line 2)",
        ),
        (
            "x,settlement,\"X\u{1}\",severnaya-oblast,\n",
            3,
            Some("name"),
            "control character U+0001",
        ),
        (
            "x,settlement,X,severnaya-oblast,\"a;\u{7f}\"\n",
            3,
            Some("name_variants"),
            "control character U+007F",
        ),
    ];
    for (row, line, column, needle) in cases {
        one_error(T, &format!("{T_HEAD}{REGION}{row}"), *line, *column, needle);
    }
    let long = "я".repeat(1001);
    one_error(
        T,
        &format!("{T_HEAD}{REGION}x,settlement,{long},severnaya-oblast,\n"),
        3,
        Some("name"),
        "too long: 1001 characters (at most 1000)",
    );
    // A kind the parent's kind may not contain (parent later in the same file counts too).
    one_error(
        T,
        &format!(
            "{T_HEAD}{REGION}d,municipal_district,D,severnaya-oblast,\ncd,city_district,CD,d,\n"
        ),
        4,
        Some("parent_code"),
        "parent \"d\" is a municipal_district territory, which cannot contain a city_district territory",
    );
    one_error(
        T,
        &format!("{T_HEAD}{REGION}s,settlement,S,d,\nd,municipal_district,D,s,\n"),
        4,
        Some("parent_code"),
        "cannot contain a municipal_district",
    );
}

#[test]
fn header_errors_list_the_required_columns() {
    let errs = errors(
        ImportKind::Organisations,
        "code,kind,name,territory,competences\nx,roiv,X,r,\n",
    );
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "organisations.csv:1: column territory: unknown column \"territory\" (allowed: code, kind, name, short_name, parent_code, territory_code, competences, account_ready, training_done, widget_installed, site_url)",
            "organisations.csv:1: column territory_code: required column is missing (required: code, kind, name, territory_code)",
        ]
    );
    one_error(ImportKind::Users, "", 1, None, "the file is empty");
    one_error(
        ImportKind::Users,
        "\u{feff}",
        1,
        None,
        "required (login, full_name)",
    );
}

#[test]
fn organisation_errors_name_row_and_column() {
    use ImportKind::Organisations as O;
    let row = |cells: &str| {
        format!("{O_HEAD}minzdrav,roiv,Минздрав,,,severnaya-oblast,health,1,1,1,\n{cells}\n")
    };
    let cases: &[(&str, Option<&str>, &str)] = &[
        (
            "x,ROIV2,X,,,r,,,,,",
            Some("kind"),
            "unknown organisation kind \"ROIV2\" (expected one of: roiv, omsu, institution, other)",
        ),
        (
            "x,roiv,X,,,,,,,,",
            Some("territory_code"),
            "required field is empty",
        ),
        (
            "x,roiv,X,,,r,Health,,,,",
            Some("competences"),
            "invalid category id \"Health\"",
        ),
        (
            "x,roiv,X,,,r,,2,,,",
            Some("account_ready"),
            "invalid boolean \"2\"",
        ),
        (
            "x,roiv,X,,,r,,,maybe,,",
            Some("training_done"),
            "invalid boolean",
        ),
        (
            "x,roiv,X,,,r,,,,ага,",
            Some("widget_installed"),
            "invalid boolean \"ага\"",
        ),
        (
            "x,roiv,X,,,r,,,,,ftp://x.example",
            Some("site_url"),
            "must start with https://",
        ),
        (
            "x,roiv,X,,,r,,,,,https://",
            Some("site_url"),
            "no valid host name",
        ),
        ("x,roiv,X,,x,r,,,,,", Some("parent_code"), "its own parent"),
        (
            "minzdrav,roiv,X,,,r,,,,,",
            Some("code"),
            "duplicate organisation code \"minzdrav\" (first defined at line 2)",
        ),
    ];
    for (cells, column, needle) in cases {
        one_error(O, &row(cells), 3, *column, needle);
    }
    // The exact Display of the documented example.
    let errs = errors(O, &row("x,ROIV2,X,,,r,,,,,"));
    assert!(
        errs[0]
            .to_string()
            .starts_with("organisations.csv:3: column kind: unknown organisation kind \"ROIV2\"")
    );
}

#[test]
fn user_errors_name_row_and_column() {
    use ImportKind::Users as U;
    let row = |cells: &str| format!("{U_HEAD}{cells}\n");
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("Иванова,И,,,,", Some("login"), "invalid login"),
        (
            "ivanova.mp,,,,,",
            Some("full_name"),
            "required field is empty",
        ),
        (
            "ivanova.mp,И,ivanova.example,,,",
            Some("email"),
            "invalid e-mail address \"ivanova.example\"",
        ),
        ("ivanova.mp,И,a@b,,,", Some("email"), "invalid e-mail"),
        (
            "ivanova.mp,И,,org,boss,",
            Some("roles"),
            "unknown role \"boss\"",
        ),
        (
            "ivanova.mp,И,,,moderator,",
            Some("roles"),
            "role moderator needs an organisation",
        ),
        (
            "ivanova.mp,И,,org,citizen,",
            Some("roles"),
            "role citizen is not held in an organisation",
        ),
        (
            "ivanova.mp,И,,org,executor;executor@org,",
            Some("roles"),
            "role executor in org is listed twice",
        ),
        (
            "ivanova.mp,И,,org,executor@,",
            Some("roles"),
            "organisation code: required field is empty",
        ),
        (
            "ivanova.mp,И,,org,,нет?",
            Some("confirmed"),
            "invalid boolean",
        ),
    ];
    for (cells, column, needle) in cases {
        one_error(U, &row(cells), 2, *column, needle);
    }
    one_error(
        U,
        &format!("{U_HEAD}ivanova.mp,И,,,,\nIvanova.MP,И2,,,,\n"),
        3,
        Some("login"),
        "duplicate login \"Ivanova.MP\" (first defined at line 2)",
    );
}

#[test]
fn community_and_source_errors_name_row_and_column() {
    use ImportKind::{Communities as C, Sources as S};
    let c = |cells: &str| format!("{C_HEAD}{cells}\n");
    let cases: &[(&str, Option<&str>, &str)] = &[
        (
            "https://example.com/x,org,T,",
            Some("url"),
            "unsupported site \"example.com\"",
        ),
        ("https://vk.com/id1,org,T,", Some("url"), "a personal page"),
        (
            "vk.com/club1,org,T,checked",
            Some("verification"),
            "unknown verification status \"checked\"",
        ),
        (
            "vk.com/club1,org,,",
            Some("title"),
            "required field is empty",
        ),
        (",org,T,", Some("url"), "required field is empty"),
    ];
    for (cells, column, needle) in cases {
        one_error(C, &c(cells), 2, *column, needle);
    }
    one_error(
        C,
        &format!("{C_HEAD}vk.com/public1,org,T,\nhttps://m.vk.com/club1/,org,T,\n"),
        3,
        Some("url"),
        "duplicate community \"vk/club1\" (first defined at line 2)",
    );

    let s = |cells: &str| format!("{S_HEAD}{cells}\n");
    let cases: &[(&str, Option<&str>, &str)] = &[
        (
            "a,vkontakte,adm_x,0 * * * * *,,",
            Some("network"),
            "unknown network \"vkontakte\"",
        ),
        (
            "a,vk,adm_x,*/10 * * * *,,",
            Some("schedule"),
            "a seconds field is required",
        ),
        ("a,vk,adm_x,0 0 25 * * *,,", Some("schedule"), "hours field"),
        (
            "a,vk,x y,0 * * * * *,,",
            Some("target"),
            "invalid vk community name",
        ),
        (
            "a,vk,search:,0 * * * * *,,",
            Some("target"),
            "search query: required field is empty",
        ),
        (
            "a,vk,https://t.me/abcde,0 * * * * *,,",
            Some("target"),
            "is a telegram link but the source network is vk",
        ),
        (
            "a,telegram,a-b,0 * * * * *,,",
            Some("target"),
            "invalid telegram community name",
        ),
        (
            "a,rss,severnaya-obl.example/rss,0 * * * * *,,",
            Some("target"),
            "must start with https://",
        ),
        (
            "a,rss,https://x.example/rss,0 * * * * *,,выкл",
            Some("enabled"),
            "invalid boolean",
        ),
        (
            "a b,rss,https://x.example/rss,0 * * * * *,,",
            Some("name"),
            "invalid code",
        ),
    ];
    for (cells, column, needle) in cases {
        one_error(S, &s(cells), 2, *column, needle);
    }
}

#[test]
fn all_errors_of_a_file_are_collected_and_nothing_is_returned() {
    let text = format!(
        "{O_HEAD}\
minzdrav,roiv,Минздрав,,,severnaya-oblast,health,1,1,1,\n\
mintrans,roiv,Минтранс,,,severnaya-oblast,roads,1,1,1,\n\
bad,ROIV2,Плохая,,,severnaya-oblast,,да,нет,2,\n\
minobr,roiv,Минобр,,,severnaya-oblast,education,1,1,1,\n\
,roiv,Без кода,,,,,,,,\n"
    );
    let err = parse_organisations(text.as_bytes(), "organisations.csv")
        .err()
        .map(|e| e.row_errors().to_vec())
        .unwrap_or_default();
    let at: Vec<(u64, Option<&str>)> = err.iter().map(|e| (e.row, e.column.as_deref())).collect();
    assert_eq!(
        at,
        vec![
            (4, Some("kind")),
            (4, Some("widget_installed")),
            (6, Some("code")),
            (6, Some("territory_code")),
        ]
    );
}

#[test]
fn excel_export_with_bom_crlf_quotes_and_russian_labels() -> Result<(), ImportError> {
    let batch = load_dir(&data("excel"))?;
    let t = &batch.territories;
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].kind, TerritoryKind::Region);
    assert_eq!(t[0].parent_code, None);
    assert_eq!(t[1].kind, TerritoryKind::MunicipalDistrict);
    assert_eq!(t[1].name_variants, vec!["Заречный район", "Заречье"]);
    assert_eq!(t[2].kind, TerritoryKind::Settlement);
    assert_eq!(t[2].name, "рабочий посёлок Заречный");
    assert_eq!(
        t[2].name_variants,
        vec!["Заречный", "рп Заречный, Заречье-1"]
    );

    let o = &batch.organisations;
    assert_eq!(o[0].kind, OrgKind::Roiv);
    assert_eq!(o[0].short_name.as_deref(), Some("Минздрав"));
    let c: Vec<&str> = o[0].competences.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(c, vec!["health", "covid"]);
    assert!(o[0].onboarding.account_ready && o[0].onboarding.training_done);
    assert!(!o[0].onboarding.widget_installed);
    assert_eq!(o[1].kind, OrgKind::Institution);
    assert_eq!(o[1].name, "ГБУЗ «Заречная ЦРБ», стационар");
    assert_eq!(o[1].short_name.as_deref(), Some("Заречная ЦРБ"));
    assert_eq!(o[1].parent_code.as_deref(), Some("minzdrav"));
    assert!(o[1].onboarding.account_ready && !o[1].onboarding.training_done);
    assert_eq!(o[1].site_url, None);

    load_dir_checked(&data("excel"), &KnownCodes::new())?;
    Ok(())
}

#[test]
fn records_spanning_lines_are_reported_where_they_start() {
    let text = format!(
        "{T_HEAD}\n{REGION}\r\n\"d\",municipal_district,\"Длинное\nназвание\",severnaya-oblast,\n\nx,settlement,X,nowhere,\n"
    );
    let mut importer = Importer::new();
    assert_eq!(
        importer
            .add_reader(ImportKind::Territories, text.as_bytes(), "t.csv")
            .ok(),
        Some(3)
    );
    let errs = importer
        .check_references(&KnownCodes::new())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        errs.as_deref(),
        Some("t.csv:8: column parent_code: unknown territory \"nowhere\"")
    );
}

fn territories(text: &str) -> DirectoryBatch {
    DirectoryBatch {
        territories: parse_territories(format!("{T_HEAD}{text}").as_bytes(), "territories.csv")
            .unwrap_or_default(),
        ..Default::default()
    }
}

#[test]
fn references_must_be_defined_earlier_or_known() {
    // Parent defined later in the batch.
    let batch = territories(
        "zarechny,settlement,Заречный,zarechny-district,\nzarechny-district,municipal_district,Заречный район,severnaya-oblast,\n",
    );
    assert_eq!(batch.territories.len(), 2);
    let mut known = KnownCodes::new();
    known.add_territory("severnaya-oblast", Some(TerritoryKind::Region));
    let err = check_references(&batch, &known)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "territories.csv:2: column parent_code: parent territory \"zarechny-district\" is defined later (territories.csv:3); parents must come first"
        )
    );

    // Unknown parent.
    let batch =
        territories("zarechny-district,municipal_district,Заречный район,severnaya-oblast,\n");
    let err = check_references(&batch, &KnownCodes::new())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("territories.csv:2: column parent_code: unknown territory \"severnaya-oblast\"")
    );
    // Known parent: accepted; known with a kind that may not contain the child: refused.
    assert!(check_references(&batch, &known).is_ok());
    let mut wrong = KnownCodes::new();
    wrong.add_territory("severnaya-oblast", Some(TerritoryKind::Settlement));
    assert!(check_references(&batch, &wrong).is_err());

    // Organisations, users, communities, sources.
    let mut batch =
        territories("zarechny-district,municipal_district,Заречный район,severnaya-oblast,\n");
    let orgs = format!(
        "{O_HEAD}crb,institution,ЦРБ,,minzdrav,zarechny-district,health,,,,\nadm,omsu,Администрация,,,zarechny-district,,,,,\nschool,institution,Школа,,edu,nowhere,education,,,,\nedu,omsu,Отдел образования,,adm,zarechny-district,education,,,,\n"
    );
    batch.organisations =
        parse_organisations(orgs.as_bytes(), "organisations.csv").unwrap_or_default();
    let users = format!(
        "{U_HEAD}a.a,А А,,adm,coordinator;executor@crb;head@ghost,1\nb.b,Б Б,,ghost2,executor,1\nc.c,В В,,,citizen,да\n"
    );
    batch.users = parse_users(users.as_bytes(), "users.csv").unwrap_or_default();
    let comms = format!(
        "{C_HEAD}vk.com/adm,adm,Администрация,verified\nt.me/ghost_channel,ghost,Призрак,\n"
    );
    batch.communities = parse_communities(comms.as_bytes(), "communities.csv").unwrap_or_default();
    let sources = format!(
        "{S_HEAD}a,vk,adm,0 */10 * * * *,zarechny-district,1\nb,vk,search:ямы,0 */10 * * * *,nowhere,1\n"
    );
    batch.sources = parse_sources(sources.as_bytes(), "sources.csv").unwrap_or_default();
    assert_eq!(
        (
            batch.organisations.len(),
            batch.users.len(),
            batch.communities.len(),
            batch.sources.len()
        ),
        (4, 3, 2, 2)
    );

    let mut known = KnownCodes::new();
    known.add_territory("severnaya-oblast", None);
    known.add_organisation("minzdrav");
    let err = check_references(&batch, &known).err();
    let shown: Vec<String> = err
        .iter()
        .flat_map(|e| e.row_errors())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        vec![
            "organisations.csv:4: column parent_code: parent organisation \"edu\" is defined later (organisations.csv:5); parents must come first",
            "organisations.csv:4: column territory_code: unknown territory \"nowhere\"",
            "users.csv:2: column roles: role head: unknown organisation \"ghost\"",
            "users.csv:3: column organisation_code: unknown organisation \"ghost2\"",
            "communities.csv:3: column organisation_code: unknown organisation \"ghost\"",
            "sources.csv:3: column territory_code: unknown territory \"nowhere\"",
        ]
    );

    // Citizens hold no grant; grants default to the user's own organisation.
    assert!(batch.users[2].roles.is_empty());
    assert_eq!(batch.users[2].organisation_code, None);
    assert!(batch.users[2].confirmed);
    let g: Vec<(Role, &str)> = batch.users[0]
        .roles
        .iter()
        .map(|g| (g.role, g.organisation_code.as_str()))
        .collect();
    assert_eq!(
        g,
        vec![
            (Role::Coordinator, "adm"),
            (Role::Executor, "crb"),
            (Role::Head, "ghost")
        ]
    );
    // Communities carry the canonical URL.
    assert_eq!(batch.communities[0].url, "https://vk.com/adm");
    assert_eq!(batch.communities[1].network, Network::Telegram);
    assert_eq!(batch.communities[1].verification, Verification::Pending);
}

#[test]
fn competences_are_checked_against_known_categories() {
    let batch = DirectoryBatch {
        organisations: parse_organisations(
            format!("{O_HEAD}m,roiv,М,,,r,health;cosmos,,,,\n").as_bytes(),
            "organisations.csv",
        )
        .unwrap_or_default(),
        ..Default::default()
    };
    let mut known = KnownCodes::new();
    known.add_territory("r", None);
    assert!(check_references(&batch, &known).is_ok());
    known.set_categories(["health", "roads"]);
    let err = check_references(&batch, &known)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("organisations.csv:2: column competences: unknown category \"cosmos\"")
    );
}

#[test]
fn duplicates_across_files_are_caught_by_the_reference_check() -> Result<(), ImportError> {
    let dir = tempfile::tempdir().map_err(|source| ImportError::Io {
        path: PathBuf::from("tempdir"),
        source,
    })?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).map_err(|source| ImportError::Io {
            path: PathBuf::from(name),
            source,
        })
    };
    write("a.csv", &format!("{T_HEAD}{REGION}"))?;
    write("b.csv", &format!("{T_HEAD}\n\n{REGION}"))?;
    let mut importer = Importer::new();
    importer.add_file(ImportKind::Territories, &dir.path().join("a.csv"))?;
    importer.add_file(ImportKind::Territories, &dir.path().join("b.csv"))?;
    let err = importer
        .check_references(&KnownCodes::new())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let a = dir.path().join("a.csv").display().to_string();
    let b = dir.path().join("b.csv").display().to_string();
    assert_eq!(
        err,
        format!(
            "{b}:4: column code: duplicate territory code \"severnaya-oblast\" (first defined at {a}:2)"
        )
    );

    // parse_file / parse_into: the batch is untouched on error.
    let mut batch = parse_file(ImportKind::Territories, &dir.path().join("a.csv"))?;
    assert_eq!(batch.len(), 1);
    write("bad.csv", &format!("{T_HEAD}x,nope,X,,\n"))?;
    assert!(
        parse_into(
            &mut batch,
            ImportKind::Territories,
            &dir.path().join("bad.csv")
        )
        .is_err()
    );
    assert_eq!(batch.len(), 1);
    parse_into(
        &mut batch,
        ImportKind::Territories,
        &dir.path().join("b.csv"),
    )?;
    assert_eq!(batch.len(), 2);
    Ok(())
}

#[test]
fn load_dir_reports_every_broken_file_at_once() {
    let err = load_dir(&data("broken")).err();
    let shown: Vec<String> = err
        .iter()
        .flat_map(|e| e.row_errors())
        .map(|e| {
            let name = Path::new(&e.file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("{name}:{}:{}", e.row, e.column.as_deref().unwrap_or("-"))
        })
        .collect();
    assert_eq!(
        shown,
        vec!["territories.csv:3:kind", "organisations.csv:3:code"]
    );

    let empty = tempfile::tempdir().ok();
    let empty = empty.as_ref().map(|d| d.path()).unwrap_or(Path::new("."));
    assert!(matches!(load_dir(empty), Err(ImportError::NoFiles { .. })));
    assert!(matches!(
        load_dir(&data("no-such-dir")),
        Err(ImportError::Io { .. })
    ));
}

#[test]
fn garbage_never_panics() {
    // A small deterministic generator: bytes biased towards CSV syntax.
    let alphabet: &[u8] = b",;\"\n\r @:/.-_0a\xd0\xb0\xff\x00\tcodekind";
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..400 {
        let mut text: Vec<u8> = Vec::new();
        for _ in 0..(round % 97) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        for kind in ImportKind::ALL {
            let headers = [T_HEAD, O_HEAD, U_HEAD, C_HEAD, S_HEAD];
            for prefix in [&b""[..], headers[(round % 5) as usize].as_bytes()] {
                let mut input = prefix.to_vec();
                input.extend_from_slice(&text);
                let mut importer = Importer::new();
                if importer.add_reader(kind, &input[..], "g.csv").is_ok() {
                    let _ = importer.check_references(&KnownCodes::new());
                }
            }
        }
        let _ = otklik_import::parse_community_url(&String::from_utf8_lossy(&text));
    }
}
