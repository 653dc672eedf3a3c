//! A small disk for the full-disk tests: a tmpfs of a few MiB mounted on a fresh folder,
//! which needs root (issue 12's skip policy: `PICOSHARE_TEST_SKIP=fulldisk` skips instead).

use std::path::PathBuf;
use std::process::Command;

use super::proc::text;
use super::server::TempDir;
use super::skip::require;

/// A tmpfs of `mib` MiB mounted on a fresh folder, unmounted on drop.
pub struct SmallDisk {
    pub path: PathBuf,
    /// Removed (after the unmount) on drop.
    _dir: TempDir,
}

impl SmallDisk {
    fn mount(mib: u64) -> Result<SmallDisk, String> {
        let dir = TempDir::new(&format!("fulldisk-{mib}m"));
        let path = dir.path().to_owned();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(text(&out.stderr).trim().to_owned());
        }
        Ok(SmallDisk { path, _dir: dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// The small disk, or `None` when the test is skipped (`PICOSHARE_TEST_SKIP=fulldisk`).
#[track_caller]
pub fn small_disk(mib: u64) -> Option<SmallDisk> {
    let mounted = SmallDisk::mount(mib).map_err(|e| {
        format!(
            "the full-disk tests mount a {mib} MiB tmpfs, which needs root ({e}); run them as \
             root: sudo -E make test"
        )
    });
    require("fulldisk", mounted)
}
