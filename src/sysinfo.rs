//! System information data for the `/information` page: disk space of the database's
//! filesystem and the free-disk floors uploads keep, the sizes of the database's own files,
//! stored file data, the space unfinished resumable uploads hold, reclaimable space, and the
//! program's version.

use std::path::Path;

use crate::config::Config;
use crate::error::StoreError;
use crate::store::Store;

/// Everything the system-information page shows. All sizes are bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemInfo {
    /// Size of the filesystem holding the database.
    pub fs_total_bytes: u64,
    /// Used on it: total − free blocks (root-reserved blocks count as used).
    pub fs_used_bytes: u64,
    /// Available to us (excludes root-reserved blocks).
    pub fs_available_bytes: u64,
    /// The database file, its `-wal` and its `-shm` (0 when absent). Exactly these three
    /// names, not a glob over the database path as PicoShare does.
    pub db_file_bytes: u64,
    pub wal_file_bytes: u64,
    pub shm_file_bytes: u64,
    /// All stored files' data.
    pub stored_file_bytes: u64,
    /// Resumable uploads not finished yet, and the bytes they hold (not counted in
    /// `stored_file_bytes`).
    pub unfinished_uploads: u64,
    pub unfinished_upload_bytes: u64,
    /// Free pages inside the database file (reused for new data; a vacuum gives them back).
    pub reclaimable_bytes: u64,
    /// Free disk a guest's upload must leave ([`Config::guest_disk_floor`]).
    pub guest_floor_bytes: u64,
    /// Free disk the admin's uploads must leave ([`Config::admin_disk_floor`]).
    pub admin_floor_bytes: u64,
    /// `CARGO_PKG_VERSION`, without a leading `v`.
    pub version: &'static str,
    /// The VCS revision, when the build set `PICOSHARE_GIT_REVISION`.
    pub revision: Option<&'static str>,
    /// The build time, when the build set `PICOSHARE_BUILD_TIME`.
    pub built_at: Option<&'static str>,
}

impl SystemInfo {
    /// Gathers the figures now. Errors: SQLite failures, or the filesystem cannot be queried.
    pub fn gather(store: &Store, config: &Config) -> Result<SystemInfo, StoreError> {
        let db = store.path();
        let fs = filesystem(db)?;
        let (unfinished_uploads, unfinished_upload_bytes) = store.resumable_usage()?;
        Ok(SystemInfo {
            fs_total_bytes: fs.total,
            fs_used_bytes: fs.total.saturating_sub(fs.free),
            fs_available_bytes: fs.available,
            db_file_bytes: file_size(db),
            wal_file_bytes: file_size(&crate::disk::beside(db, "-wal")),
            shm_file_bytes: file_size(&crate::disk::beside(db, "-shm")),
            stored_file_bytes: store.stored_file_bytes()?,
            unfinished_uploads,
            unfinished_upload_bytes,
            reclaimable_bytes: store.reclaimable_bytes()?,
            guest_floor_bytes: config.guest_disk_floor,
            admin_floor_bytes: config.admin_disk_floor,
            version: env!("CARGO_PKG_VERSION").trim_start_matches('v'),
            revision: option_env!("PICOSHARE_GIT_REVISION").filter(|s| !s.is_empty()),
            built_at: option_env!("PICOSHARE_BUILD_TIME").filter(|s| !s.is_empty()),
        })
    }

    /// The database's files together.
    pub fn database_bytes(&self) -> u64 {
        self.db_file_bytes + self.wal_file_bytes + self.shm_file_bytes
    }

    /// As a JSON object (for `GET /api/information`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "filesystem": {
                "totalBytes": self.fs_total_bytes,
                "usedBytes": self.fs_used_bytes,
                "availableBytes": self.fs_available_bytes,
                "guestUploadFloorBytes": self.guest_floor_bytes,
                "adminUploadFloorBytes": self.admin_floor_bytes,
            },
            "database": {
                "fileBytes": self.db_file_bytes,
                "walBytes": self.wal_file_bytes,
                "shmBytes": self.shm_file_bytes,
                "totalBytes": self.database_bytes(),
                "reclaimableBytes": self.reclaimable_bytes,
            },
            "storedFileBytes": self.stored_file_bytes,
            "unfinishedUploads": {
                "count": self.unfinished_uploads,
                "bytes": self.unfinished_upload_bytes,
            },
            "version": self.version,
            "revision": self.revision,
            "builtAt": self.built_at,
        })
    }
}

/// The filesystem holding the database: statvfs needs an existing path, the database file,
/// else its folder.
fn filesystem(path: &Path) -> Result<crate::disk::Usage, StoreError> {
    let target = if path.exists() {
        path
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    };
    Ok(crate::disk::usage(target)?)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    #[test]
    fn gathers_sane_figures() {
        let t = temp_store(5);
        // An unrelated file sharing the database's prefix is not counted.
        std::fs::write(t.dir.join("store.db.bak"), vec![0u8; 100_000]).unwrap();
        let mut config = Config::defaults(t.dir.join("store.db"), String::new());
        config.guest_disk_floor = 300 << 20;
        let info = SystemInfo::gather(&t.store, &config).unwrap();
        assert_eq!(
            info.to_json()["filesystem"]["guestUploadFloorBytes"],
            300 << 20
        );
        assert_eq!(
            info.to_json()["filesystem"]["adminUploadFloorBytes"],
            16 << 20
        );
        assert!(info.fs_total_bytes > 0);
        assert!(info.fs_used_bytes <= info.fs_total_bytes);
        assert!(info.fs_available_bytes <= info.fs_total_bytes - info.fs_used_bytes);
        let size = |suffix: &str| {
            std::fs::metadata(t.dir.join(format!("store.db{suffix}")))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        let db = size("");
        assert_eq!(info.db_file_bytes, db);
        assert_eq!(info.wal_file_bytes, size("-wal"));
        assert_eq!(info.shm_file_bytes, size("-shm"));
        // Exactly the three files: store.db.bak beside them is not counted.
        assert_eq!(info.database_bytes(), db + size("-wal") + size("-shm"));
        assert_eq!(info.stored_file_bytes, 0);
        assert_eq!(
            (info.unfinished_uploads, info.unfinished_upload_bytes),
            (0, 0)
        );
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(!info.version.starts_with('v'));
        assert_eq!(info.to_json()["database"]["fileBytes"], db);
    }
}
