//! Disk space and the files beside the database: what the filesystem holding a path has, for
//! refusing uploads that cannot fit, the maintenance commands' checks and system information.

use std::path::{Path, PathBuf};

/// Sizes of the filesystem holding a path, in bytes.
pub struct Usage {
    pub total: u64,
    /// Free blocks, including those only root may use.
    pub free: u64,
    /// Free blocks available to us.
    pub available: u64,
}

/// The filesystem holding `path`.
pub fn usage(path: &Path) -> std::io::Result<Usage> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("path contains a NUL byte"))?;
    // SAFETY: `statvfs` only writes into the zeroed struct we pass; `c` is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let unit = st.f_frsize as u64;
    Ok(Usage {
        total: (st.f_blocks as u64).saturating_mul(unit),
        free: (st.f_bfree as u64).saturating_mul(unit),
        available: (st.f_bavail as u64).saturating_mul(unit),
    })
}

/// Free bytes available to us on the filesystem holding `path`.
pub fn available_bytes(path: &Path) -> std::io::Result<u64> {
    usage(path).map(|u| u.available)
}

/// `path` with `suffix` appended to its last component: the files we keep beside the
/// database (`store.db-spool`, `store.db-session.key`, `store.db-wal`, …).
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
