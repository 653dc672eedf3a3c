//! Giving space back: after deletions, free pages are returned to the filesystem in small
//! steps with `PRAGMA incremental_vacuum(N)` — never a full `VACUUM`, which rewrites the whole
//! database through the WAL and needs twice the disk (PicoShare's VACUUM saga).

use super::Store;
use crate::error::StoreError;

impl Store {
    /// Frees up to `step_bytes` (whole pages, at least one) per write transaction until the
    /// free list is empty, checkpointing between steps so the WAL stays near `step_bytes`.
    /// Returns the bytes given back. A database without incremental auto-vacuum (one the Go
    /// PicoShare created) gives nothing back; `picoshare compact` converts it.
    pub fn reclaim(&self, step_bytes: u64) -> Result<u64, StoreError> {
        let mut total = 0u64;
        loop {
            let freed = {
                let conn = self.writer();
                let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
                let before: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
                if mode != 2 || before == 0 {
                    return Ok(total);
                }
                let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
                let step_pages = (step_bytes / page.max(512) as u64).max(1);
                // SQLite frees one page per step of this statement: step it to completion.
                let mut st = conn.prepare(&format!("PRAGMA incremental_vacuum({step_pages})"))?;
                let mut rows = st.query([])?;
                while rows.next()?.is_some() {}
                drop(rows);
                drop(st);
                let after: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
                if !self.settings.litestream {
                    // Copy the moved pages home and let the file shrink; with Litestream,
                    // checkpoints are Litestream's to run.
                    self.wal.checkpoint(&conn, "TRUNCATE")?;
                }
                (before - after).max(0) as u64 * page.max(0) as u64
            };
            if freed == 0 {
                return Ok(total);
            }
            total += freed;
        }
    }

    /// Bytes the database file could give back now (free pages × page size).
    pub fn reclaimable_bytes(&self) -> Result<u64, StoreError> {
        let conn = self.reader()?;
        let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok((free * page).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Timestamp;
    use crate::store::test_support::{insert_file, temp_store};

    #[test]
    fn deleting_a_file_then_reclaiming_shrinks_the_database_file() {
        let t = temp_store(32 << 10);
        let now = Timestamp::from_unix(1_800_000_000);
        let id = insert_file(&t, "big.bin", &vec![7u8; 8 << 20], now);
        t.store.checkpoint().unwrap();
        let db = t.dir.join("store.db");
        let full = std::fs::metadata(&db).unwrap().len();
        t.store.delete_entry(&id).unwrap();
        assert!(t.store.reclaimable_bytes().unwrap() > 7 << 20);
        let freed = t.store.reclaim(1 << 20).unwrap();
        assert!(freed > 7 << 20, "freed {freed} bytes");
        let after = std::fs::metadata(&db).unwrap().len();
        assert!(after < full - (7 << 20), "{full} -> {after}");
        let wal = std::fs::metadata(t.dir.join("store.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(wal < 4 << 20, "wal {wal}");
        assert_eq!(t.store.reclaimable_bytes().unwrap(), 0);
    }
}
