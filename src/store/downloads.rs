//! Download history: the `downloads` rows (one per transfer), written by the download handler
//! and read back newest first for a file's history page.

use std::collections::HashSet;

use rusqlite::params;

use super::Store;
use crate::error::StoreError;
use crate::model::{DownloadRecord, EntryId, Timestamp};

/// The most history rows returned at once (about 150 bytes each in memory).
pub const MAX_HISTORY_ROWS: usize = 10_000;

impl Store {
    /// Records one download of `id`.
    pub fn record_download(
        &self,
        id: &EntryId,
        at: Timestamp,
        client_ip: &str,
        user_agent: &str,
    ) -> Result<(), StoreError> {
        self.writer()
            .prepare_cached(
                "INSERT INTO downloads (entry_id, download_timestamp, client_ip, user_agent) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id.as_str(), at.rfc3339(), client_ip, user_agent])?;
        Ok(())
    }

    /// The recorded downloads of `id`, newest first (ties: the later-inserted row first), at
    /// most [`MAX_HISTORY_ROWS`] of them so a much-downloaded file cannot make one page load
    /// unbounded memory ([`Store::download_count`] gives the total). Empty for a file never
    /// downloaded or unknown.
    pub fn downloads(&self, id: &EntryId) -> Result<Vec<DownloadRecord>, StoreError> {
        self.history(id, false)
    }

    /// [`Store::downloads`] with PicoShare's "Unique IPs only" filter applied in SQL: each
    /// client IP's most recent download, newest first (the same result as [`unique_ips`] on
    /// the whole history).
    pub fn unique_ip_downloads(&self, id: &EntryId) -> Result<Vec<DownloadRecord>, StoreError> {
        self.history(id, true)
    }

    fn history(&self, id: &EntryId, unique: bool) -> Result<Vec<DownloadRecord>, StoreError> {
        let sql = if unique {
            "SELECT download_timestamp, client_ip, user_agent FROM ( \
               SELECT download_timestamp, client_ip, user_agent, rowid AS r, \
                 ROW_NUMBER() OVER (PARTITION BY COALESCE(client_ip, '') \
                   ORDER BY download_timestamp DESC, rowid DESC) AS n \
               FROM downloads WHERE entry_id = ?1) \
             WHERE n = 1 ORDER BY download_timestamp DESC, r DESC LIMIT ?2"
        } else {
            "SELECT download_timestamp, client_ip, user_agent FROM downloads \
             WHERE entry_id = ?1 ORDER BY download_timestamp DESC, rowid DESC LIMIT ?2"
        };
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(sql)?;
        let rows = st.query_map(params![id.as_str(), MAX_HISTORY_ROWS as i64], |r| {
            let time: String = r.get(0)?;
            Ok(DownloadRecord {
                time: Timestamp::parse_rfc3339(&time).unwrap_or(Timestamp::from_unix(0)),
                client_ip: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                user_agent: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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
mod tests {
    use super::*;
    use crate::store::test_support::{insert_file, temp_store};

    #[test]
    fn history_is_newest_first_and_the_unique_filter_keeps_each_ips_latest() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let id = insert_file(&t, "a.txt", b"hello", now);
        assert!(t.store.downloads(&id).unwrap().is_empty());
        let rows = [
            (0, "10.0.0.1", "curl/8.5.0"),
            (10, "10.0.0.2", "Wget/1.21.4"),
            (20, "10.0.0.1", "Mozilla/5.0 Firefox/128.0"),
            (20, "10.0.0.3", ""),
        ];
        for (dt, ip, ua) in rows {
            t.store
                .record_download(&id, now.plus_secs(dt), ip, ua)
                .unwrap();
        }
        let all = t.store.downloads(&id).unwrap();
        let order: Vec<&str> = all.iter().map(|r| r.client_ip.as_str()).collect();
        assert_eq!(order, ["10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.1"]);
        assert_eq!(all[1].user_agent, "Mozilla/5.0 Firefox/128.0");
        assert_eq!(all[1].time, now.plus_secs(20));
        assert_eq!(t.store.download_count(&id).unwrap(), 4);
        let unique = unique_ips(all);
        assert_eq!(t.store.unique_ip_downloads(&id).unwrap(), unique);

        // A much-downloaded file: the history is capped, the count is not.
        t.store
            .writer()
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) \
                 INSERT INTO downloads (entry_id, download_timestamp, client_ip, user_agent) \
                 SELECT ?1, '2023-01-01T00:00:00Z', '10.1.' || (i % 250) || '.' || (i / 250), '' \
                 FROM n",
                params![id.as_str(), MAX_HISTORY_ROWS as i64 + 5],
            )
            .unwrap();
        assert_eq!(t.store.downloads(&id).unwrap().len(), MAX_HISTORY_ROWS);
        assert_eq!(
            t.store.download_count(&id).unwrap(),
            MAX_HISTORY_ROWS as u64 + 9
        );
        assert_eq!(t.store.downloads(&id).unwrap()[0].client_ip, "10.0.0.3");
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
}
