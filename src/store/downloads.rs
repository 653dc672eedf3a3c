//! Download history: the `downloads` rows, written in batches by the history writer thread
//! (`history.rs`), trimmed to their caps, and read back a page at a time, newest first.
//!
//! PicoShare's `downloads` table has no index, and it must stay PicoShare's, so every query
//! here reads the table once at most and none runs per download: a file's page and its counts
//! are a scan each, trims run every few thousand rows, and "oldest" means first inserted
//! (`rowid` order, which needs no sort).

use std::collections::HashSet;

use rusqlite::{params, TransactionBehavior};

use super::Store;
use crate::error::StoreError;
use crate::model::{DownloadRecord, EntryId, Timestamp};

/// Rows deleted per transaction when trimming, so one trim never grows the WAL by more than
/// about a megabyte.
const TRIM_BATCH_ROWS: u64 = 2000;

/// A file's history in numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryTotals {
    /// Recorded downloads.
    pub downloads: u64,
    /// Distinct client addresses among them (no address counts as one).
    pub addresses: u64,
}

impl Store {
    /// Writes download rows in one transaction; a row whose file is gone by now (deleted or
    /// collected since its download) is skipped. Returns the rows written.
    pub fn insert_downloads(&self, rows: &[(EntryId, DownloadRecord)]) -> Result<u64, StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut written = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO downloads (entry_id, download_timestamp, client_ip, user_agent) \
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM entries WHERE id = ?1)",
            )?;
            for (id, r) in rows {
                written += insert.execute(params![
                    id.as_str(),
                    r.time.rfc3339(),
                    r.client_ip,
                    r.user_agent
                ])? as u64;
            }
        }
        tx.commit()?;
        Ok(written)
    }

    /// Deletes the oldest rows of every file that has more than `per_file`, then the oldest
    /// of all while there are more than `total`, a bounded batch per transaction. Returns the
    /// rows deleted.
    pub fn trim_history(&self, per_file: u64, total: u64) -> Result<u64, StoreError> {
        let over: Vec<(String, u64)> = {
            let conn = self.reader()?;
            let mut st = conn.prepare(
                "SELECT entry_id, COUNT(*) FROM downloads GROUP BY entry_id HAVING COUNT(*) > ?1",
            )?;
            let rows = st.query_map([per_file as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut deleted = 0;
        for (id, n) in over {
            deleted += self.delete_oldest_downloads(Some(&id), n - per_file)?;
        }
        let n: i64 = self
            .reader()?
            .query_row("SELECT COUNT(*) FROM downloads", [], |r| r.get(0))?;
        let n = n.max(0) as u64;
        if n > total {
            deleted += self.delete_oldest_downloads(None, n - total)?;
        }
        Ok(deleted)
    }

    /// Deletes the `count` first-inserted rows (of file `id`, or of all).
    fn delete_oldest_downloads(&self, id: Option<&str>, count: u64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        while deleted < count {
            let step = (count - deleted).min(TRIM_BATCH_ROWS) as i64;
            let n = match id {
                Some(id) => self.writer().execute(
                    "DELETE FROM downloads WHERE rowid IN (SELECT rowid FROM downloads \
                     WHERE entry_id = ?1 ORDER BY rowid LIMIT ?2)",
                    params![id, step],
                )?,
                None => self.writer().execute(
                    "DELETE FROM downloads WHERE rowid IN \
                     (SELECT rowid FROM downloads ORDER BY rowid LIMIT ?1)",
                    [step],
                )?,
            };
            if n == 0 {
                break;
            }
            deleted += n as u64;
        }
        Ok(deleted)
    }

    /// One page of `id`'s history, newest first (ties: the later-inserted row first):
    /// `limit` rows after the first `offset`. With `unique`, PicoShare's "Unique IPs only"
    /// filter applied in SQL over the whole history: each client address's most recent
    /// download (the same result as [`unique_ips`]). Empty past the end, and for a file never
    /// downloaded or unknown.
    pub fn download_page(
        &self,
        id: &EntryId,
        unique: bool,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<DownloadRecord>, StoreError> {
        let sql = if unique {
            "SELECT download_timestamp, client_ip, user_agent FROM ( \
               SELECT download_timestamp, client_ip, user_agent, rowid AS r, \
                 ROW_NUMBER() OVER (PARTITION BY COALESCE(client_ip, '') \
                   ORDER BY download_timestamp DESC, rowid DESC) AS n \
               FROM downloads WHERE entry_id = ?1) \
             WHERE n = 1 ORDER BY download_timestamp DESC, r DESC LIMIT ?2 OFFSET ?3"
        } else {
            "SELECT download_timestamp, client_ip, user_agent FROM downloads \
             WHERE entry_id = ?1 ORDER BY download_timestamp DESC, rowid DESC \
             LIMIT ?2 OFFSET ?3"
        };
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(sql)?;
        let rows = st.query_map(
            params![
                id.as_str(),
                limit.min(i64::MAX as u64) as i64,
                offset.min(i64::MAX as u64) as i64
            ],
            |r| {
                let time: String = r.get(0)?;
                Ok(DownloadRecord {
                    time: Timestamp::parse_rfc3339(&time).unwrap_or(Timestamp::from_unix(0)),
                    client_ip: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    user_agent: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many downloads of `id` are recorded, and from how many addresses: over every row,
    /// not a page.
    pub fn download_totals(&self, id: &EntryId) -> Result<HistoryTotals, StoreError> {
        let (downloads, addresses): (i64, i64) = self
            .reader()?
            .prepare_cached(
                "SELECT COUNT(*), COUNT(DISTINCT COALESCE(client_ip, '')) FROM downloads \
                 WHERE entry_id = ?1",
            )?
            .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(HistoryTotals {
            downloads: downloads.max(0) as u64,
            addresses: addresses.max(0) as u64,
        })
    }

    /// How many downloads of `id` are recorded.
    pub fn download_count(&self, id: &EntryId) -> Result<u64, StoreError> {
        let n: i64 = self
            .reader()?
            .prepare_cached("SELECT COUNT(*) FROM downloads WHERE entry_id = ?1")?
            .query_row([id.as_str()], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }
}

/// PicoShare's "Unique IPs only" filter: keeps the first record per client IP of a newest-first
/// list, i.e. each address's most recent download, in the same order.
pub fn unique_ips(records: Vec<DownloadRecord>) -> Vec<DownloadRecord> {
    let mut seen = HashSet::new();
    records
        .into_iter()
        .filter(|r| seen.insert(r.client_ip.clone()))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::test_support::{insert_file, temp_store, TempStore};

    /// Inserts `n` rows for `id` straight into the table, with addresses `10.1.x.y` (`i`
    /// counting from `from`) and a fixed old time.
    pub(crate) fn insert_rows(t: &TempStore, id: &EntryId, from: i64, n: i64) {
        t.store
            .writer()
            .execute(
                "WITH RECURSIVE k(i) AS (SELECT ?2 UNION ALL SELECT i + 1 FROM k WHERE i < ?3) \
                 INSERT INTO downloads (entry_id, download_timestamp, client_ip, user_agent) \
                 SELECT ?1, '2023-01-01T00:00:00Z', '10.1.' || (i % 250) || '.' || (i / 250), '' \
                 FROM k",
                params![id.as_str(), from, from + n - 1],
            )
            .unwrap();
    }

    fn record(at: Timestamp, ip: &str, ua: &str) -> DownloadRecord {
        DownloadRecord {
            time: at,
            client_ip: ip.into(),
            user_agent: ua.into(),
        }
    }

    #[test]
    fn history_pages_are_newest_first_and_the_unique_filter_keeps_each_ips_latest() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let id = insert_file(&t, "a.txt", b"hello", now);
        assert!(t.store.download_page(&id, false, 0, 10).unwrap().is_empty());
        let rows = [
            (0, "10.0.0.1", "curl/8.5.0"),
            (10, "10.0.0.2", "Wget/1.21.4"),
            (20, "10.0.0.1", "Mozilla/5.0 Firefox/128.0"),
            (20, "10.0.0.3", ""),
        ];
        let batch: Vec<_> = rows
            .iter()
            .map(|(dt, ip, ua)| (id.clone(), record(now.plus_secs(*dt), ip, ua)))
            .collect();
        assert_eq!(t.store.insert_downloads(&batch).unwrap(), 4);
        let all = t.store.download_page(&id, false, 0, 10).unwrap();
        let order: Vec<&str> = all.iter().map(|r| r.client_ip.as_str()).collect();
        assert_eq!(order, ["10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.1"]);
        assert_eq!(all[1].user_agent, "Mozilla/5.0 Firefox/128.0");
        assert_eq!(all[1].time, now.plus_secs(20));
        assert_eq!(t.store.download_page(&id, false, 1, 2).unwrap(), all[1..3]);
        assert!(t.store.download_page(&id, false, 4, 2).unwrap().is_empty());
        assert_eq!(
            t.store.download_totals(&id).unwrap(),
            HistoryTotals {
                downloads: 4,
                addresses: 3
            }
        );
        let unique = unique_ips(all);
        assert_eq!(t.store.download_page(&id, true, 0, 10).unwrap(), unique);
        assert_eq!(
            t.store.download_page(&id, true, 1, 1).unwrap(),
            unique[1..2]
        );
        let order: Vec<(&str, &str)> = unique
            .iter()
            .map(|r| (r.client_ip.as_str(), r.user_agent.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("10.0.0.3", ""),
                ("10.0.0.1", "Mozilla/5.0 Firefox/128.0"),
                ("10.0.0.2", "Wget/1.21.4")
            ]
        );
    }

    #[test]
    fn issue_16_totals_cover_every_row_and_trims_drop_the_oldest_to_the_caps() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let a = insert_file(&t, "a.txt", b"hello", now);
        let b = insert_file(&t, "b.txt", b"hello", now);
        insert_rows(&t, &a, 0, 3000);
        insert_rows(&t, &a, 0, 500); // 500 addresses again
        insert_rows(&t, &b, 0, 700);
        assert_eq!(
            t.store.download_totals(&a).unwrap(),
            HistoryTotals {
                downloads: 3500,
                addresses: 3000
            }
        );
        // The newest rows of `a` were the repeats 0..500: they are what a cap keeps.
        assert_eq!(t.store.trim_history(1000, 10_000).unwrap(), 2500);
        assert_eq!(t.store.download_count(&a).unwrap(), 1000);
        let kept = t.store.download_totals(&a).unwrap();
        assert_eq!(kept.addresses, 1000, "rows 2500..3000 and the 500 repeats");
        assert_eq!(t.store.download_count(&b).unwrap(), 700);
        // Overall: the oldest of all go, whichever file they belong to.
        assert_eq!(t.store.trim_history(1000, 1200).unwrap(), 500);
        assert_eq!(t.store.download_count(&a).unwrap(), 500);
        assert_eq!(t.store.download_count(&b).unwrap(), 700);
        assert_eq!(t.store.trim_history(1000, 1200).unwrap(), 0);
    }
}
