//! The XLSX export opens as a workbook holding the report's values.

use std::io::Read;

use otklik_reports::onboarding::onboarding;
use otklik_reports::{Names, ZoneThresholds, to_xlsx};
use otklik_store::Store;

both_backends!(onboarding_exports_to_xlsx);

fn entry(zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> String {
    let mut text = String::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .read_to_string(&mut text)
        .unwrap();
    text
}

async fn onboarding_exports_to_xlsx(store: Store) {
    crate::store::directory(&store).await;
    let names = Names::load(&store, None).await.unwrap();
    let r = onboarding(&store, ZoneThresholds::default()).await.unwrap();
    let bytes = to_xlsx(&[r.table(), r.pending_table(&names)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("onboarding.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::read(&path).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(file)).unwrap();
    let workbook = entry(&mut zip, "xl/workbook.xml");
    assert!(workbook.contains("name=\"Статус внедрения\""), "{workbook}");
    assert!(
        workbook.contains("name=\"Что сделать организациям\""),
        "{workbook}"
    );
    let sheet = entry(&mut zip, "xl/worksheets/sheet1.xml");
    // Row 2 (РОИВ): 2 organisations, readiness 75 — numbers are stored as numbers.
    assert!(
        sheet.contains("<c r=\"B2\" s=\"0\" t=\"n\"><v>2</v></c>")
            || sheet.contains("<c r=\"B2\"><v>2</v></c>"),
        "{sheet}"
    );
    assert!(sheet.contains("<v>75</v>"), "{sheet}");
    let strings = entry(&mut zip, "xl/sharedStrings.xml");
    for value in [
        "РОИВ",
        "ОМСУ",
        "жёлтая",
        "красная",
        "Итого",
        "Минтранс области",
    ] {
        assert!(strings.contains(value), "{value} in {strings}");
    }
    let second = entry(&mut zip, "xl/worksheets/sheet2.xml");
    assert!(
        second.contains("<row r=\"3\""),
        "two organisations to act: {second}"
    );
}
