//! Reports in the back-office: names (never ids), SVG charts with labels, zones as text, the
//! print stylesheet, CSV and XLSX downloads; roles without reports get 403, organisation-bound
//! roles see only their organisation's rows.

use std::io::Read as _;

use reqwest::StatusCode;

use crate::support::{Server, now, server};

/// The current UTC month (`YYYY-MM`): the period of the messages the tests submit.
fn month() -> String {
    otklik_search::month_of(now().millis())
}

/// Two messages for adm1 (town1), one for adm2 (district2).
async fn with_messages() -> Server {
    let s = server().await;
    s.submit("Яма у школы в первом районе", "town1").await;
    s.submit("Яма у больницы в первом районе", "town1").await;
    s.submit("Яма на трассе во втором районе", "district2")
        .await;
    s
}

/// The cells of a CSV (RFC 4180 as the reports write it: CRLF, quotes doubled).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

/// The text of every string cell of an XLSX workbook (shared and inline strings).
fn xlsx_strings(bytes: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an XLSX is a zip");
    let mut all = String::new();
    for name in ["xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"] {
        if let Ok(mut f) = zip.by_name(name) {
            f.read_to_string(&mut all).unwrap();
        }
    }
    assert!(zip.by_name("xl/workbook.xml").is_ok(), "a workbook part");
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_show_names_charts_zones_and_print_styles() {
    let s = with_messages().await;
    let m = month();
    let mut curator = s.signed_in("curator").await; // the ЦУР: the whole region
    let index = curator.get("/office/reports").await;
    assert_eq!(index.status, StatusCode::OK, "{}", index.body);
    for code in [
        "volumes",
        "deadlines",
        "late",
        "satisfaction",
        "onboarding",
        "gospabliki",
    ] {
        assert!(
            index
                .body
                .contains(&format!("href=\"/office/reports/{code}")),
            "{code} listed"
        );
    }
    assert!(
        index.body.contains("href=\"/office/reports\">Отчёты</a>"),
        "in the navigation"
    );

    let p = curator
        .get(&format!("/office/reports/deadlines?period={m}"))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let b = &p.body;
    assert!(
        b.contains("Организация adm1") && b.contains("Организация adm2"),
        "{b}"
    );
    assert!(!b.contains("Организация №"), "names, never ids");
    assert!(
        b.contains("<svg") && b.contains("role=\"img\""),
        "an SVG chart"
    );
    assert!(b.contains("aria-label=\"Сообщения организаций по соблюдению сроков\""));
    assert!(b.contains("<title>Сообщения организаций по соблюдению сроков</title>"));
    assert!(b.contains(">В срок</text>"), "the legend is text");
    assert!(
        b.contains("<table>") && b.contains("Итого"),
        "the table beside the chart"
    );
    assert!(
        b.contains("@media print{header,nav,footer"),
        "the print stylesheet"
    );
    assert!(b.contains("break-inside:avoid"), "rows unbroken in print");
    assert!(!b.contains("<script"), "no scripts");
    assert!(b.contains("format=csv") && b.contains("format=xlsx"));

    // Volumes by territory and by executor: territory and organisation names.
    let p = curator
        .get(&format!("/office/reports/volumes?period={m}&by=territory"))
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Территория town1"), "{}", p.body);
    assert!(p.body.contains("Территория district2"));
    assert!(!p.body.contains("Территория №"));
    let p = curator
        .get(&format!("/office/reports/volumes?period={m}&by=category"))
        .await;
    assert!(
        p.body.contains("Автомобильные дороги"),
        "category names from the tree"
    );
    assert!(
        p.body
            .contains("aria-label=\"Сообщений по группам (категория)\"")
    );

    // Satisfaction: the rating distribution chart; late answers; Госпаблики.
    let p = curator
        .get(&format!("/office/reports/satisfaction?period={m}"))
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body
            .contains("aria-label=\"Распределение оценок граждан (1–5)\"")
    );
    for name in ["late", "gospabliki"] {
        let p = curator
            .get(&format!("/office/reports/{name}?period={m}"))
            .await;
        assert_eq!(p.status, StatusCode::OK, "{name}: {}", p.body);
        assert!(p.body.contains("<svg"), "{name}");
    }

    // Onboarding: zones with text labels, not colour only.
    let p = curator.get("/office/reports/onboarding").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("zone-red"), "{}", p.body);
    assert!(p.body.contains("красная зона"), "the zone's text label");
    assert!(p.body.contains("Что сделать организациям"));

    // Bad input: a clear 400 / 404.
    let bad = curator
        .get("/office/reports/deadlines?period=октябрь")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("ГГГГ-ММ"));
    let bad = curator.get("/office/reports/volumes?by=colour").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = curator.get("/office/reports/deadlines?format=pdf").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        curator.get("/office/reports/salaries").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_and_xlsx_downloads_parse() {
    let s = with_messages().await;
    let m = month();
    let mut curator = s.signed_in("curator").await;

    let csv = curator
        .get(&format!("/office/reports/deadlines?period={m}&format=csv"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.headers["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        csv.headers["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"otklik-deadlines-{m}.csv\"")
    );
    let rows = csv_rows(&csv.body);
    assert_eq!(rows[0][0], "Организация");
    assert_eq!(rows[0][10], "Зона");
    let width = rows[0].len();
    assert!(rows.iter().all(|r| r.len() == width), "{rows:?}");
    let adm1 = rows
        .iter()
        .find(|r| r[0] == "Организация adm1")
        .expect("adm1 row");
    assert_eq!(adm1[2], "2", "two messages");
    let total = rows.last().unwrap();
    assert_eq!((total[0].as_str(), total[2].as_str()), ("Итого", "3"));

    let url = format!("{}/office/reports/onboarding?format=xlsx", s.base);
    let cookie = curator
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let res = reqwest::Client::new()
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let day = otklik_reports::day_label(now().millis());
    assert_eq!(
        res.headers()["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"otklik-onboarding-{day}.xlsx\""),
        "an ASCII file name with the day of the snapshot"
    );
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let strings = xlsx_strings(&bytes);
    assert!(strings.contains("Тип организаций"), "{strings}");
    assert!(
        strings.contains("Организация adm1"),
        "the pending sheet's names"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_limited_by_role_and_organisation() {
    let s = with_messages().await;
    let m = month();

    // Roles without reports: 403 on the list, the pages and the downloads.
    for login in [
        "moderator-adm1",
        "coordinator-adm1",
        "executor-adm1",
        "moderator",
    ] {
        let mut b = s.signed_in(login).await;
        for path in [
            "/office/reports".to_owned(),
            format!("/office/reports/deadlines?period={m}"),
            format!("/office/reports/deadlines?period={m}&format=csv"),
            "/office/reports/onboarding?format=xlsx".to_owned(),
        ] {
            let p = b.get(&path).await;
            assert_eq!(p.status, StatusCode::FORBIDDEN, "{login} {path}");
            assert!(!p.body.contains("Организация adm2"), "{login} {path}");
        }
        let office = b.get("/office").await;
        assert!(
            !office.body.contains("href=\"/office/reports\""),
            "{login}: no link"
        );
    }

    // A municipality's head and curator: their own organisation's rows only.
    for login in ["head-adm1", "curator-adm1"] {
        let mut b = s.signed_in(login).await;
        let p = b
            .get(&format!("/office/reports/deadlines?period={m}"))
            .await;
        assert_eq!(p.status, StatusCode::OK, "{login}: {}", p.body);
        assert!(p.body.contains("Организация adm1"), "{login}");
        assert!(!p.body.contains("Организация adm2"), "{login}: {}", p.body);
        assert!(!p.body.contains("Без исполнителя"), "{login}");
        let csv = b
            .get(&format!("/office/reports/deadlines?period={m}&format=csv"))
            .await;
        let rows = csv_rows(&csv.body);
        assert_eq!(rows.last().unwrap()[2], "2", "{login}: the total is theirs");
        assert!(!csv.body.contains("adm2"), "{login}");
        let v = b
            .get(&format!("/office/reports/volumes?period={m}&by=executor"))
            .await;
        assert!(!v.body.contains("Организация adm2"), "{login}");
        let o = b.get("/office/reports/onboarding").await;
        assert!(!o.body.contains("Организация adm2"), "{login}");
        assert!(!o.body.contains("Организация mintrans"), "{login}");
        assert!(o.body.contains("Организация adm1"), "{login}");
    }

    // The regional administrator (the government, top level) sees the whole region.
    let mut admin = s.signed_in("admin").await;
    let p = admin
        .get(&format!("/office/reports/deadlines?period={m}"))
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Организация adm1") && p.body.contains("Организация adm2"));
    assert!(p.body.contains("все организации региона"));

    // Not signed in: no report.
    let mut anon = s.browser();
    let p = anon
        .get(&format!("/office/reports/deadlines?period={m}&format=csv"))
        .await;
    assert_ne!(p.status, StatusCode::OK);
    assert!(!p.body.contains("Организация adm1"));
}
