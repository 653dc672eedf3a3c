//! Space accounting for the system-information page: bytes of file data stored. (Free pages
//! are `Store::reclaimable_bytes`, beside the code that gives them back.)

use super::Store;
use crate::error::StoreError;

impl Store {
    /// Total bytes of all stored files (orphaned chunks of failed or in-progress uploads not
    /// counted), summed from the `(id, LENGTH(chunk))` expression index without reading blobs.
    pub fn stored_file_bytes(&self) -> Result<u64, StoreError> {
        let n: i64 = self.reader()?.query_row(
            "SELECT COALESCE(SUM(LENGTH(chunk)), 0) FROM entries_data \
             WHERE id IN (SELECT id FROM entries)",
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Timestamp;
    use crate::store::test_support::{insert_file, temp_store};

    #[test]
    fn stored_bytes_use_the_length_index_and_skip_orphans() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        assert_eq!(t.store.stored_file_bytes().unwrap(), 0);
        insert_file(&t, "a", &[9u8; 23], now);
        t.store
            .writer()
            .execute(
                "INSERT INTO entries_data (id, chunk_index, chunk) VALUES ('orphan', 0, x'0102')",
                [],
            )
            .unwrap();
        assert_eq!(t.store.stored_file_bytes().unwrap(), 23);
        let plan: String = t
            .store
            .reader()
            .unwrap()
            .query_row(
                "EXPLAIN QUERY PLAN SELECT COALESCE(SUM(LENGTH(chunk)), 0) FROM entries_data \
                 WHERE id IN (SELECT id FROM entries)",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("idx_entries_data_length"), "{plan}");
        assert!(t.store.reclaimable_bytes().is_ok());
    }
}
