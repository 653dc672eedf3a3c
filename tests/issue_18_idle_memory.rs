//! Issue 18: once a server that served requests has been idle for a moment, it gives back
//! what the requests left mapped (SQLite's cached pages, the code they ran, the free heap),
//! and then serves on as before: the same bytes down, new files up.

mod common;

use std::time::Duration;

use common::*;

/// Resident kB of this process's executable code (`r-xp` mappings of the binary itself).
fn code_rss_kb(pid: u32) -> u64 {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe link");
    let exe = exe.to_string_lossy().into_owned();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("smaps");
    let mut in_code = false;
    let mut kb = 0;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            in_code = fields.get(1) == Some(&"r-xp") && fields.last() == Some(&exe.as_str());
        } else if in_code && fields.first() == Some(&"Rss:") {
            kb += fields[1].parse::<u64>().expect("Rss kB");
        }
    }
    kb
}

#[test]
fn issue_18_an_idle_server_gives_memory_back_and_serves_on() {
    let s = Server::start();
    let data = pattern(700_000, 18);
    let id = s.put_file(&data, "before.bin");
    let r = s.get(&format!("/-{id}")).send();
    assert_eq!((r.status, r.body == data), (200, true));
    let busy = code_rss_kb(s.pid());
    assert!(busy > 0, "no code mapping found for the server");

    // Idle: within a few seconds the code the requests ran is no longer mapped.
    let mut idle = busy;
    let dropped = wait_until(Duration::from_secs(10), || {
        idle = code_rss_kb(s.pid());
        idle < busy * 3 / 4
    });
    assert!(
        dropped,
        "resident code stayed at {idle} kB after idling (was {busy} kB while serving)"
    );

    // And everything works as before.
    let r = s.get(&format!("/-{id}")).send();
    assert_eq!((r.status, r.body == data), (200, true));
    let more = pattern(400_000, 19);
    let id2 = s.put_file(&more, "after.bin");
    let r = s.get(&format!("/-{id2}")).send();
    assert_eq!((r.status, r.body == more), (200, true));
    let list = s.get("/api/entries").auth().send();
    assert_eq!(list.status, 200, "{}", list.text());
    assert!(list.text().contains("before.bin") && list.text().contains("after.bin"));
}
