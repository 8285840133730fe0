//! Attachments: content-addressed files, limits by size and magic bytes, hostile names, the
//! link to a message.

use otklik_domain::MessageId;
use otklik_store::{
    AttachmentError, AttachmentFiles, AttachmentId, AttachmentLimits, MediaType, Store, StoreError,
    attach_in,
};

use crate::fixtures::{NOW, new_message, with_region};
use crate::harness::rows_in;

both_backends!(
    uploads_are_stored_once_per_content_and_read_back,
    oversize_empty_and_wrong_type_uploads_are_refused,
    renamed_files_keep_their_real_type,
    attachments_link_to_one_message,
);

fn png(tail: &[u8]) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    v.extend_from_slice(tail);
    v
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec()
}

fn jpeg() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    v.extend_from_slice(b"JFIF\0rest of a photo");
    v
}

fn webp() -> Vec<u8> {
    let mut v = b"RIFF\x24\0\0\0WEBPVP8 ".to_vec();
    v.extend_from_slice(&[0; 20]);
    v
}

/// Files of a store's attachments in a temp folder (kept alive by the returned guard).
fn files() -> (tempfile::TempDir, AttachmentFiles) {
    let dir = tempfile::tempdir().unwrap();
    let files = AttachmentFiles::new(dir.path().join("attachments"));
    (dir, files)
}

/// Content files on disk (not counting the temp folder).
fn blobs_on_disk(files: &AttachmentFiles) -> usize {
    fn walk(p: &std::path::Path, out: &mut usize) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.file_name().is_some_and(|n| n == "tmp") {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else {
                *out += 1;
            }
        }
    }
    let mut n = 0;
    walk(files.root(), &mut n);
    n
}

async fn uploads_are_stored_once_per_content_and_read_back(store: Store) {
    let (_dir, files) = files();
    let a = store
        .save_attachment(&files, "яма.png", Some("image/png"), png(b"one"), NOW)
        .await
        .unwrap();
    assert_eq!(a.media_type, MediaType::Png);
    assert_eq!(a.file_name, "яма.png");
    assert_eq!(a.size_bytes, png(b"one").len() as i64);
    assert_eq!(a.message, None);
    assert_eq!(a.sha256.len(), 64);
    let path = files.path_of(&a.sha256).unwrap();
    assert!(path.starts_with(files.root().join(&a.sha256[0..2]).join(&a.sha256[2..4])));
    assert_eq!(std::fs::read(&path).unwrap(), png(b"one"));
    assert_eq!(files.read(&a.sha256).unwrap(), png(b"one"));

    // The same content under another name: a second row, the same single file.
    let b = store
        .save_attachment(&files, "copy.png", None, png(b"one"), NOW)
        .await
        .unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(a.sha256, b.sha256);
    assert_eq!(blobs_on_disk(&files), 1);
    // Other content: another file. Every accepted type.
    for (name, content, t) in [
        ("scan.pdf", pdf(), MediaType::Pdf),
        ("photo.jpeg", jpeg(), MediaType::Jpeg),
        ("pic.webp", webp(), MediaType::WebP),
    ] {
        let s = store
            .save_attachment(&files, name, None, content, NOW)
            .await
            .unwrap();
        assert_eq!(s.media_type, t);
        assert_eq!(store.attachment(s.id).await.unwrap(), Some(s));
    }
    assert_eq!(blobs_on_disk(&files), 4);
    // No temp files left behind.
    let tmp = files.root().join("tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    assert_eq!(rows_in(&store, "attachments").await, 5);
}

async fn oversize_empty_and_wrong_type_uploads_are_refused(store: Store) {
    let (_dir, files) = files();
    let files = files.with_limits(AttachmentLimits {
        max_bytes: 1_000,
        allowed: vec![MediaType::Png, MediaType::Jpeg, MediaType::Pdf],
    });
    let mut big = png(b"");
    big.resize(1_001, 0);
    let err = store
        .save_attachment(&files, "big.png", Some("image/png"), big.clone(), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AttachmentError::TooLarge {
                size: 1_001,
                max: 1_000
            }
        ),
        "{err:?}"
    );
    big.truncate(1_000);
    store
        .save_attachment(&files, "edge.png", None, big, NOW)
        .await
        .expect("exactly at the limit is accepted");

    let err = store
        .save_attachment(&files, "empty.png", None, Vec::new(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AttachmentError::Empty), "{err:?}");
    // Not an accepted type, whatever the declared MIME type says.
    for (name, content) in [
        ("virus.exe", b"MZ\x90\0\x03\0\0\0".to_vec()),
        ("page.html", b"<html><script>alert(1)</script>".to_vec()),
        ("anim.gif", b"GIF89a\x01\0\x01\0".to_vec()),
    ] {
        let err = store
            .save_attachment(&files, name, Some("image/jpeg"), content, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AttachmentError::TypeNotAllowed { detected: None, declared: Some(d) } if d == "image/jpeg"),
            "{name}: {err:?}"
        );
    }
    // A known type the region does not allow.
    let err = store
        .save_attachment(&files, "pic.webp", Some("image/webp"), webp(), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AttachmentError::TypeNotAllowed {
                detected: Some(MediaType::WebP),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(rows_in(&store, "attachments").await, 1);
    assert_eq!(blobs_on_disk(&files), 1);
}

async fn renamed_files_keep_their_real_type(store: Store) {
    let (_dir, files) = files();
    // An executable renamed to .jpg and declared as a JPEG: refused.
    let err = store
        .save_attachment(
            &files,
            "photo.jpg",
            Some("image/jpeg"),
            b"MZ\x90\0".to_vec(),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, AttachmentError::TypeNotAllowed { .. }),
        "{err:?}"
    );
    // A PDF renamed to .jpg and declared as a JPEG: stored as a PDF named .pdf.
    let a = store
        .save_attachment(&files, "photo.jpg", Some("image/jpeg"), pdf(), NOW)
        .await
        .unwrap();
    assert_eq!(a.media_type, MediaType::Pdf);
    assert_eq!(a.file_name, "photo.pdf");
    // A PNG renamed to .exe: kept as a PNG; the odd extension stays in the stem.
    let b = store
        .save_attachment(
            &files,
            "setup.exe",
            Some("application/octet-stream"),
            png(b"x"),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        (b.media_type, b.file_name.as_str()),
        (MediaType::Png, "setup.exe.png")
    );
    // Hostile names are sanitised before they are stored.
    let c = store
        .save_attachment(
            &files,
            "../../../etc/cron.d/\u{202E}gpj.sh",
            None,
            jpeg(),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(c.file_name, "gpj.sh.jpg");
    let d = store
        .save_attachment(&files, "C:\\temp\\..\\NUL.png", None, png(b"y"), NOW)
        .await
        .unwrap();
    assert_eq!(d.file_name, "_NUL.png");
}

async fn attachments_link_to_one_message(store: Store) {
    with_region(&store).await;
    let (_dir, files) = files();
    let m1 = store
        .create_message(&new_message(None, "Яма"), None, None, NOW)
        .await
        .unwrap()
        .id;
    let m2 = store
        .create_message(&new_message(None, "Свалка"), None, None, NOW)
        .await
        .unwrap()
        .id;
    let a = store
        .save_attachment(&files, "a.png", None, png(b"a"), NOW)
        .await
        .unwrap();
    let b = store
        .save_attachment(&files, "b.pdf", None, pdf(), NOW)
        .await
        .unwrap();
    let attached = store
        .attach_to_message(&[a.id, b.id], m1, NOW.plus_hours(1))
        .await
        .unwrap();
    assert!(attached.iter().all(|x| x.message == Some(m1)));
    assert_eq!(attached[0].attached_at, Some(NOW.plus_hours(1)));
    // Repeating is harmless and keeps the first time.
    let again = store
        .attach_to_message(&[a.id], m1, NOW.plus_hours(2))
        .await
        .unwrap();
    assert_eq!(again[0].attached_at, Some(NOW.plus_hours(1)));
    assert_eq!(store.attachments_of(m1).await.unwrap(), attached);

    // Already someone else's, or unknown: refused, and nothing of the call is applied.
    let c = store
        .save_attachment(&files, "c.jpg", None, jpeg(), NOW)
        .await
        .unwrap();
    assert!(matches!(
        store.attach_to_message(&[c.id, a.id], m2, NOW).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.attachment(c.id).await.unwrap().unwrap().message, None);
    assert!(
        store
            .attach_to_message(&[AttachmentId(999_999)], m2, NOW)
            .await
            .is_err()
    );
    assert!(matches!(
        store
            .attach_to_message(&[c.id], MessageId(999_999), NOW)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.attachments_of(m2).await.unwrap().is_empty());

    // Inside the caller's transaction: rolled back with it.
    let mut tx = store.begin_outbox_transaction().await.unwrap();
    attach_in(&mut tx, &[c.id], m2, NOW).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.attachment(c.id).await.unwrap().unwrap().message, None);
    let mut tx = store.begin_outbox_transaction().await.unwrap();
    attach_in(&mut tx, &[c.id], m2, NOW).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.attachments_of(m2).await.unwrap().len(), 1);
}
