//! How much memory this process may use: its memory cgroup's limit (v2 `memory.max`, v1
//! `memory.limit_in_bytes`, the lowest along its path) or, without one, the machine's RAM.
//! Read once at start-up, to size the disk buffers whose page cache a cgroup is charged for
//! (see `Config::memory_limit`).

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
