//! How much memory this process may use: its memory cgroup's limit (v2 `memory.max`, v1
//! `memory.limit_in_bytes`, the lowest along its path) or, without one, the machine's RAM.
//! Read once at start-up, to size the disk buffers whose page cache a cgroup is charged for
//! (see `Config::memory_limit`). Also: [`unmap_code_not_in_use`], which gives back the mapped
//! pages of code and read-only data only start-up (or the requests of a busy spell) used, and
//! [`trim_heap`].

use std::path::Path;

/// The limit in bytes, if one can be found.
pub fn limit() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok();
    let from_cgroup = cgroups
        .as_deref()
        .and_then(|c| cgroup_limit(c, |file| std::fs::read_to_string(Path::new(file)).ok()));
    let ram = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| mem_total(&m));
    match (from_cgroup, ram) {
        (Some(c), Some(r)) => Some(c.min(r)),
        (c, r) => c.or(r),
    }
}

/// Unmaps this process's pages of our executable's code and read-only data once start-up is
/// over, and again whenever the server goes idle (`Config::idle_release_after`): its `r-xp` and `r--p` mappings that hold no page of their own (`Anonymous: 0 kB`, so
/// never the relocated read-only data, whose pages were written at start and differ from the
/// file; never writable data). The kernel maps a file in 64 KiB windows around each page first
/// used, so after start-up nearly all 2.4 MB of code and 0.6 MB of read-only data were
/// resident, though migrations, configuration and the first checks need most of it only once.
/// The pages stay in the page cache, and whatever is used later is mapped again on its first
/// use (a minor fault, no disk read while the binary stays cached). Returns the bytes unmapped.
pub fn unmap_code_not_in_use() -> u64 {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return 0;
    };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut unmapped = 0;
    for (start, end) in read_only_ranges(&smaps, &exe.to_string_lossy()) {
        // SAFETY: `start..end` is one of our executable's read-only mappings, as the kernel
        // lists them, none of whose pages was ever written (no anonymous pages). MADV_DONTNEED
        // drops this process's page-table entries for it; the next read of any of it maps the
        // same bytes again from the file.
        let r =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if r == 0 {
            unmapped += (end - start) as u64;
        }
    }
    unmapped
}

/// Returns glibc's free heap memory to the kernel, in every arena (not only at the top).
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel; safe from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The `r-xp` and `r--p` mappings of `exe` with no anonymous pages, from a `/proc/self/smaps`
/// text.
fn read_only_ranges(smaps: &str, exe: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    // The mapping being read: its range, if it is one of ours and read-only.
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some(kib) = first.strip_prefix("Anonymous:").map(|_| f.next()) {
            if let (Some(range), Some("0")) = (current.take(), kib) {
                out.push(range);
            }
            continue;
        }
        let Some((a, b)) = first.split_once('-') else {
            continue;
        };
        let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) else {
            continue;
        };
        // A mapping's header: range, perms, offset, device, inode, path.
        let perms = f.next();
        let path = f.nth(3);
        current = (matches!(perms, Some("r-xp" | "r--p")) && path == Some(exe)).then_some((a, b));
    }
    out
}

/// The lowest memory limit along this process's cgroup path, given `/proc/self/cgroup` and a
/// way to read a file (`None`: missing). "max" and v1's huge "unlimited" are no limit.
fn cgroup_limit(proc_cgroup: &str, read: impl Fn(&str) -> Option<String>) -> Option<u64> {
    let mut lowest: Option<u64> = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (base, file) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")
        } else {
            continue;
        };
        // This cgroup and each parent, up to the root.
        let mut dir = path.trim_end_matches('/');
        loop {
            let limit = read(&format!("{base}{dir}/{file}"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                // v1 says "unlimited" with a number near 2^63.
                .filter(|&n| n < 1 << 60);
            if let Some(n) = limit {
                lowest = Some(lowest.map_or(n, |l| l.min(n)));
            }
            match dir.rfind('/') {
                Some(i) => dir = &dir[..i],
                None => break,
            }
        }
    }
    lowest
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn files(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |f| map.get(f).cloned()
    }

    #[test]
    fn issue_18_a_cgroup_v2_limit_is_the_lowest_along_the_path() {
        let read = files(&[
            ("/sys/fs/cgroup/a/b/memory.max", "max\n"),
            ("/sys/fs/cgroup/a/memory.max", "268435456\n"),
        ]);
        assert_eq!(cgroup_limit("0::/a/b\n", &read), Some(256 << 20));
        assert_eq!(cgroup_limit("0::/\n", &read), None);
    }

    #[test]
    fn issue_18_a_cgroup_v1_memory_limit_counts_and_unlimited_does_not() {
        let read = files(&[
            (
                "/sys/fs/cgroup/memory/bench/memory.limit_in_bytes",
                "33554432\n",
            ),
            (
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
            (
                "/sys/fs/cgroup/memory/other/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
        ]);
        let v1 = "12:cpu,cpuacct:/bench\n7:memory:/bench\n1:name=systemd:/x\n";
        assert_eq!(cgroup_limit(v1, &read), Some(32 << 20));
        assert_eq!(cgroup_limit("7:memory:/other\n", &read), None);
    }

    #[test]
    fn issue_18_only_our_never_written_read_only_mappings_are_unmapped() {
        let smaps = "\
5555e000-5556e000 r--p 00000000 fd:00 42                         /srv/picoshare
Rss:                 640 kB
Anonymous:             0 kB
5556e000-557d0000 r-xp 00100000 fd:00 42                         /srv/picoshare
Rss:                2372 kB
Anonymous:             0 kB
557d0000-558d3000 r--p 00362000 fd:00 42                         /srv/picoshare
Rss:                 116 kB
Anonymous:           116 kB
558d3000-558d6000 rw-p 00465000 fd:00 42                         /srv/picoshare
Anonymous:             0 kB
7f000000-7f100000 r-xp 00000000 fd:00 43                         /usr/lib/libc.so.6
Anonymous:             0 kB
7f200000-7f300000 rw-p 00000000 00:00 0                          [heap]
Anonymous:           480 kB
";
        assert_eq!(
            read_only_ranges(smaps, "/srv/picoshare"),
            vec![(0x5555e000, 0x5556e000), (0x5556e000, 0x557d0000)]
        );
    }

    #[test]
    fn issue_18_mem_total_is_read_in_bytes() {
        let m = "MemTotal:       24684160 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total(m), Some(24_684_160 * 1024));
        assert_eq!(mem_total("nothing"), None);
    }

    #[test]
    fn issue_18_this_process_has_a_limit() {
        assert!(limit().is_some_and(|l| l > 1 << 20));
    }
}
