//! Download limits (issue 20): the decision to serve a visitor's request for a file that may
//! be downloaded only so many times, taken in one write transaction with its counting, so two
//! racing downloads of a one-download link cannot both get it.
//!
//! A request that starts at byte 0 (no `Range`, or one from 0) is a download: it counts, and
//! once the count is reached it is refused. A range that starts later continues a download
//! the same client address counted within the grace period, and is served without counting
//! (a video being watched can still seek); any other range counts as a download of its own,
//! so a limited file cannot be read piecewise without counting. History (`downloads` rows)
//! is recorded as for every file, by the download handler (see `history.rs`).

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::Store;
use crate::error::StoreError;
use crate::model::{EntryId, Timestamp};

impl Store {
    /// Decides whether a visitor's `GET` of file `id` from byte `start`, from address
    /// `client_ip`, is served at `now`, counting it if it is a download (see the module doc).
    /// [`StoreError::UsedUp`] when the limit is reached: nothing is recorded. A file without a
    /// limit is always served.
    pub fn admit_download(
        &self,
        id: &EntryId,
        start: u64,
        client_ip: &str,
        now: Timestamp,
        grace_secs: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let limit: Option<(i64, i64)> = tx
            .prepare_cached(
                "SELECT max_downloads, download_count FROM rs_download_limits \
                 WHERE entry_id = ?1",
            )?
            .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if limit.is_some() {
            let continues = start > 0 && {
                let since = now.plus_secs(-grace_secs).rfc3339();
                tx.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM rs_download_grants WHERE entry_id = ?1 \
                     AND client_ip = ?2 AND granted_at >= ?3)",
                )?
                .query_row(params![id.as_str(), client_ip, since], |r| r.get(0))?
            };
            if !continues {
                // The count goes up only while it is below the limit: one statement decides.
                let counted = tx
                    .prepare_cached(
                        "UPDATE rs_download_limits SET download_count = download_count + 1 \
                         WHERE entry_id = ?1 AND download_count < max_downloads",
                    )?
                    .execute([id.as_str()])?;
                if counted == 0 {
                    return Err(StoreError::UsedUp);
                }
                tx.prepare_cached(
                    "INSERT INTO rs_download_grants (entry_id, client_ip, granted_at) \
                     VALUES (?1, ?2, ?3) ON CONFLICT (entry_id, client_ip) \
                     DO UPDATE SET granted_at = excluded.granted_at",
                )?
                .execute(params![id.as_str(), client_ip, now.rfc3339()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MaxDownloads;
    use crate::store::test_support::{insert_file, temp_store};

    #[test]
    fn issue_20_a_limited_file_counts_downloads_and_lets_continuations_through() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let id = insert_file(&t, "f.txt", b"hello world", now);
        let (me, other) = ("10.0.0.1", "10.0.0.2");
        // No limit: always served.
        for _ in 0..3 {
            t.store.admit_download(&id, 0, me, now, 3600).unwrap();
        }
        {
            let conn = t.store.writer();
            crate::store::entries::set_download_limit(
                &conn,
                &id,
                Some(MaxDownloads::new(1, 10).unwrap()),
            )
            .unwrap();
        }
        t.store.admit_download(&id, 0, me, now, 3600).unwrap();
        let used_up = |r: Result<(), StoreError>| matches!(r, Err(StoreError::UsedUp));
        assert!(used_up(t.store.admit_download(&id, 0, me, now, 3600)));
        // A continuation from the address that counted, within the grace period only.
        t.store
            .admit_download(&id, 5, me, now.plus_secs(3600), 3600)
            .unwrap();
        assert!(used_up(t.store.admit_download(
            &id,
            5,
            me,
            now.plus_secs(3601),
            3600
        )));
        assert!(used_up(t.store.admit_download(&id, 5, other, now, 3600)));
        let meta = t.store.entry(&id, now).unwrap();
        assert_eq!(meta.download_limit.map(|l| (l.max, l.used)), Some((1, 1)));
    }
}
