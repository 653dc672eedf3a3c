//! Issue 18: a finished upload is answered once the checkpoint thread has folded it into the
//! database file and synced it (src/store/checkpoint.rs). With `synchronous = NORMAL` a commit
//! alone is not synced, so before that an upload answered 200 lived only in the WAL until the
//! next checkpoint; and that checkpoint's disk work, done after the answer, delayed the
//! requests that came next (bench/RESULTS.md, seek latency).

mod common;

use common::*;

/// Under `wal_autocheckpoint_bytes` (4 MiB): its size alone wakes no checkpoint, and the
/// thread's timer wakes it only every 5 s.
const SIZE: usize = 3 << 20;

#[track_caller]
fn assert_in_database_file(s: &Server, before: u64, how: &str) -> u64 {
    let now = file_len(&s.db_path);
    assert!(
        now >= before + SIZE as u64,
        "{how}: answered while the file was in the WAL only: the database file went from \
         {before} to {now} bytes for a {SIZE}-byte upload"
    );
    now
}

#[test]
fn issue_18_an_upload_is_answered_once_it_is_in_the_synced_database_file() {
    let s = Server::builder().start();
    s.login();

    let before = file_len(&s.db_path);
    let form = pattern(SIZE, 7);
    let form_id = s.put_file(&form, "form.bin");
    let before = assert_in_database_file(&s, before, "multipart upload");

    // A resumable upload, completed by one PATCH.
    let tus = pattern(SIZE, 8);
    let r = s
        .request("POST", "/api/tus/")
        .auth()
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", &SIZE.to_string())
        .header(
            "Upload-Metadata",
            &format!("filename {}", base64::encode("tus.bin")),
        )
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let url = r.header("Location").expect("Location").to_owned();
    let r = s
        .request("PATCH", &url)
        .auth()
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(tus.clone())
        .send();
    assert_eq!(r.status, 204, "{}", r.text());
    assert_in_database_file(&s, before, "resumable upload");

    assert!(s.get(&format!("/-{form_id}")).send().body == form);
    let sizes: Vec<i64> = stored_entries(&s.db())
        .expect("entries")
        .into_values()
        .collect();
    assert_eq!(sizes, [SIZE as i64; 2], "both files whole");
}
