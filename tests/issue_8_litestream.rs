//! Issue 8, deployment and replication: a real Litestream round trip through the Fly image's
//! entrypoint, and checks of the deployment files themselves.
//!
//! - `litestream_round_trip_restores_every_file`: `deploy/fly/entrypoint.sh` with
//!   `LITESTREAM_BUCKET` set runs the real server under `litestream replicate -exec`, with a
//!   file replica in place of the bucket. Uploads (one file 50 MB) and a deletion, a wait until
//!   a trial restore of the replica shows them, SIGTERM through Litestream to the server, then
//!   the database is "lost" (db, -wal, -shm and Litestream's folder), restored with
//!   `litestream restore -o`, served again: every file byte-identical, the deleted one 404.
//!   Finally the entrypoint is started on the lost path and restores it by itself.
//! - `fly.toml` parses and agrees with the server; the systemd units pass
//!   `systemd-analyze verify`; the Litestream configs are accepted by Litestream; the scripts
//!   are valid `sh`; the Lightsail launch bundle carries its files; the Caddyfile validates.
//!
//! Litestream, Caddy and systemd-analyze come from `tests/common/tools.rs` (installed on first
//! need); a missing one fails its test unless `PICOSHARE_TEST_SKIP` names it. Everything is
//! local: 127.0.0.1 and files in a temp folder; every wait is bounded.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// The server's graceful shutdown (`Config::shutdown_timeout`) plus its final checkpoint's
/// busy wait: what Fly's `kill_timeout` must at least allow.
const SERVER_STOP: Duration = Duration::from_secs(10 + 5);

fn path(rel: &str) -> PathBuf {
    repo_path(rel)
}

/// `sh deploy/fly/entrypoint.sh -db <folder>/data/store.db …` in `folder`.
fn entrypoint(folder: &Path) -> ServerBuilder {
    Server::builder()
        .via(
            "sh",
            &[path("deploy/fly/entrypoint.sh").to_str().expect("utf-8")],
        )
        .in_folder(folder)
        .db_flag(Some("-db"))
        .db_name("data/store.db")
}

/// Uploads a file from disk as the admin (`curl -F`), never expiring; returns its id.
#[track_caller]
fn upload(server: &Server, file: &Path) -> String {
    let r = server.upload_path(&entry_path(NEVER), file, true, &[]);
    assert_eq!(r.status, 200, "upload {}: {}", file.display(), r.text());
    r.json()["id"].as_str().expect("id").to_owned()
}

/// Downloads `/-{id}` into `dest`; returns the HTTP status.
fn download(server: &Server, id: &str, dest: &Path) -> u16 {
    server.get(&format!("/-{id}")).output(dest).send().status
}

fn stored(db: &Path) -> Result<BTreeMap<String, i64>, String> {
    stored_entries(&open_db_read_only(db))
}

// ---------------------------------------------------------------------------------------------
// The round trip.

struct Uploaded {
    name: &'static str,
    len: usize,
    id: String,
    /// The original, kept to compare downloads with.
    source: PathBuf,
}

#[test]
fn litestream_round_trip_restores_every_file() {
    let Some(ls) = litestream() else { return };
    let started = Instant::now();
    let tmp = TempDir::new("roundtrip");
    let replica = tmp.join("replica");
    let data = tmp.join("data");
    let db = data.join("store.db");
    let config = tmp.join("litestream.yml");
    // The Fly config with a file replica in place of the bucket; DB_PATH is exported by the
    // entrypoint (and set by hand for the restore below).
    fs::write(
        &config,
        format!(
            "dbs:\n  - path: ${{DB_PATH}}\n    busy-timeout: 5s\n    replica:\n      \
             type: file\n      path: {}\n",
            replica.display()
        ),
    )
    .unwrap();
    let replicated = || {
        entrypoint(tmp.path())
            .env("LITESTREAM_BIN", ls.to_str().expect("utf-8"))
            .env("LITESTREAM_CONFIG", config.to_str().expect("utf-8"))
            .env("LITESTREAM_BUCKET", "file-replica-for-tests")
            .start()
    };

    // 1. First start: no database, no replica.
    let mut server = replicated();
    assert_eq!(server.db_path, db);
    server.wait_for_log(
        "the replica is empty: starting with a new database",
        Duration::ZERO,
    );
    server.login();

    let files = tmp.join("files");
    fs::create_dir_all(&files).unwrap();
    let plan: [(&str, usize); 6] = [
        ("tiny.txt", 1),
        ("one-chunk.bin", 327_680),
        ("chunk-and-a-byte.bin", 327_681),
        ("deleted-later.bin", 3_000_000),
        ("big 50MB.bin", 50 << 20),
        ("after-delete.bin", 1_000_003),
    ];
    let mut uploads = Vec::new();
    for (i, (name, len)) in plan.iter().enumerate() {
        let p = files.join(name);
        write_pattern_file(&p, *len, i as u64 + 1);
        let id = if *name == "after-delete.bin" {
            // Written after the deletion (and the space reclaimer it wakes).
            let gone = uploads
                .iter()
                .find(|u: &&Uploaded| u.name == "deleted-later.bin")
                .unwrap();
            let r = server
                .request("DELETE", &format!("/api/entry/{}", gone.id))
                .auth()
                .send();
            assert_eq!(r.status, 200, "delete: {}", r.text());
            upload(&server, &p)
        } else {
            upload(&server, &p)
        };
        uploads.push(Uploaded {
            name,
            len: *len,
            id,
            source: p,
        });
    }
    let deleted = uploads
        .iter()
        .find(|u| u.name == "deleted-later.bin")
        .unwrap();
    let survivors: BTreeMap<String, i64> = uploads
        .iter()
        .filter(|u| u.name != "deleted-later.bin")
        .map(|u| (u.id.clone(), u.len as i64))
        .collect();
    eprintln!(
        "uploaded {} files ({} bytes) and deleted one in {:?}",
        uploads.len(),
        plan.iter().map(|p| p.1).sum::<usize>(),
        started.elapsed()
    );

    // 2. Wait (≤ 30 s) until the replica holds exactly the survivors: a trial restore of
    //    the replica, read with SQLite, every 500 ms.
    let replica_url = format!("file://{}", replica.display());
    let wait_start = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let probe = tmp.join(&format!("probe-{attempt}.db"));
        let out = run(
            Command::new(&ls)
                .args(["restore", "-o"])
                .arg(&probe)
                .arg(&replica_url),
            Duration::from_secs(30),
        );
        let seen = if out.status.success() {
            stored(&probe)
        } else {
            Err(format!("restore failed: {}", text(&out.stderr)))
        };
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", probe.display()));
        }
        match seen {
            Ok(seen) if seen == survivors => break,
            other if wait_start.elapsed() > Duration::from_secs(30) => panic!(
                "the replica did not catch up within 30 s: last trial restore {other:?}, \
                 want {survivors:?}\n{}",
                server.log()
            ),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    eprintln!(
        "replica caught up {:?} after the last write ({attempt} trial restores)",
        wait_start.elapsed()
    );

    // 3. Stop as Fly does: SIGTERM to Litestream, which stops the server, then syncs.
    let t = Instant::now();
    server.stop_within(SERVER_STOP + Duration::from_secs(30));
    let log = server.log();
    assert!(
        log.contains("picoshare: stopped"),
        "server did not stop cleanly:\n{log}"
    );
    assert!(log.contains("litestream shut down"), "{log}");
    // The server never shut Litestream out (no "database is locked", no failed sync or
    // checkpoint): Litestream logged no error or warning.
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("level=ERROR") || l.contains("level=WARN"))
        .collect();
    assert!(
        complaints.is_empty(),
        "Litestream complained:\n{}",
        complaints.join("\n")
    );
    eprintln!(
        "SIGTERM → Litestream and the server exited in {:?}",
        t.elapsed()
    );

    // 4. Lose the database: file, WAL, shared memory and Litestream's own state.
    let meta = data.join(".store.db-litestream");
    assert!(
        meta.is_dir(),
        "Litestream 0.5 keeps its state in {}",
        meta.display()
    );
    for f in ["store.db", "store.db-wal", "store.db-shm"] {
        let _ = fs::remove_file(data.join(f));
    }
    fs::remove_dir_all(&meta).unwrap();
    let _ = fs::remove_dir_all(data.join("store.db-litestream")); // pre-0.5 name
    assert!(!db.exists());

    // 5. Restore with the same config, into a new place, with SQLite's integrity check.
    let restored = tmp.join("restored/store.db");
    let out = run(
        Command::new(&ls)
            .args(["restore", "-config"])
            .arg(&config)
            .args(["-integrity-check", "full", "-o"])
            .arg(&restored)
            .arg(&db)
            .env("DB_PATH", &db),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "litestream restore: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(stored(&restored).unwrap(), survivors);

    // 6. Serve the restored file (no Litestream) and download everything.
    let mut server = Server::builder()
        .in_folder(tmp.path())
        .db_flag(Some("-db"))
        .db_name("restored/store.db")
        .start();
    let got = tmp.join("download");
    for u in &uploads {
        let status = download(&server, &u.id, &got);
        if u.id == deleted.id {
            assert_eq!(status, 404, "the deleted file came back: {}", u.name);
        } else {
            assert_eq!(status, 200, "{}", u.name);
            assert_eq!(
                fs::metadata(&got).unwrap().len(),
                u.len as u64,
                "{}",
                u.name
            );
            assert!(
                same_file_bytes(&got, &u.source),
                "{} differs after restore",
                u.name
            );
        }
    }
    server.stop_within(SERVER_STOP);

    // 7. The entrypoint on the lost path restores it by itself before serving.
    let mut server = replicated();
    let log = server.log();
    assert!(
        log.contains("is missing: restoring from the replica"),
        "{log}"
    );
    assert!(log.contains("entrypoint: restored"), "{log}");
    for u in &uploads {
        let status = download(&server, &u.id, &got);
        if u.id == deleted.id {
            assert_eq!(status, 404, "the deleted file came back: {}", u.name);
        } else {
            assert_eq!(status, 200, "{}", u.name);
            assert!(
                same_file_bytes(&got, &u.source),
                "{} differs after restore",
                u.name
            );
        }
    }
    server.stop_within(SERVER_STOP + Duration::from_secs(30));
    eprintln!("round trip done in {:?}", started.elapsed());
}

#[test]
fn entrypoint_without_a_bucket_runs_the_server_alone() {
    let tmp = TempDir::new("nobucket");
    let mut server = entrypoint(tmp.path())
        .db_flag(Some("-db="))
        // Proves Litestream is not used at all.
        .env("LITESTREAM_BIN", "/nonexistent/litestream")
        .start();
    let db = server.db_path.clone();
    let log = server.log();
    assert!(
        log.contains(&format!("no replication; database {}", db.display())),
        "{log}"
    );
    server.login();
    server.stop_within(SERVER_STOP);
    let log = server.log();
    assert!(log.contains("picoshare: stopped"), "{log}");
    assert!(!log.contains("litestream"), "{log}");
    assert!(
        db.exists(),
        "the server used the -db=PATH the entrypoint found"
    );
}

// ---------------------------------------------------------------------------------------------
// The deployment files.

/// fly.toml as JSON, through python3's tomllib (Python ≥ 3.11).
fn fly_toml() -> Option<serde_json::Value> {
    let python = python3_with_tomllib()?;
    let script = "import json, sys, tomllib\n\
                  print(json.dumps(tomllib.load(open(sys.argv[1], 'rb'))))";
    let out = run(
        Command::new(python)
            .args(["-c", script])
            .arg(path("deploy/fly/fly.toml")),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "fly.toml does not parse as TOML:\n{}",
        text(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn seconds(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Number(n) => n.as_u64().unwrap(),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if let Some(m) = s.strip_suffix('m') {
                m.parse::<u64>().unwrap() * 60
            } else {
                s.trim_end_matches('s').parse().unwrap()
            }
        }
        other => panic!("not a duration: {other}"),
    }
}

#[test]
fn fly_toml_parses_and_matches_the_server() {
    let Some(t) = fly_toml() else { return };
    assert_eq!(t["kill_signal"], "SIGTERM");
    let kill = seconds(&t["kill_timeout"]);
    assert!(
        kill >= SERVER_STOP.as_secs() && kill <= 300,
        "kill_timeout {kill}s must cover the server's shutdown and fit Fly's 300 s"
    );
    assert_eq!(t["mounts"]["destination"], "/data");
    assert_eq!(t["env"]["PORT"], "8080");
    assert!(t["env"]["PS_BEHIND_PROXY"]
        .as_str()
        .is_some_and(|v| !v.is_empty()));
    let svc = &t["http_service"];
    assert_eq!(svc["internal_port"], 8080);
    assert_eq!(svc["force_https"], true);
    let hard = svc["concurrency"]["hard_limit"].as_u64().unwrap();
    let soft = svc["concurrency"]["soft_limit"].as_u64().unwrap();
    assert!(
        soft <= hard && hard < 16,
        "concurrency must stay below the 16 request threads"
    );
    let check = &svc["checks"][0];
    assert_eq!(check["method"], "GET");
    assert!(check["path"].as_str().is_some_and(|p| p.starts_with('/')));
    let vm = &t["vm"][0];
    assert_eq!(vm["memory"], "256mb");

    // The image's CMD puts the database on that volume, and its flags parse.
    let dockerfile = fs::read_to_string(path("deploy/fly/Dockerfile")).unwrap();
    assert!(dockerfile.contains(r#"CMD ["-db", "/data/store.db"]"#));
    assert!(dockerfile.contains("cargo build --release --locked"));
    let out = Command::new(BIN)
        .args(["-db", "/data/store.db", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let picoshare = fs::read_to_string(path("deploy/lightsail/picoshare.service")).unwrap();
    let litestream_unit = fs::read_to_string(path("deploy/lightsail/litestream.service")).unwrap();
    for needed in [
        "User=picoshare",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/picoshare",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "ProtectHome=yes",
        "LimitNOFILE=",
        "MemoryMax=",
        "Restart=on-failure",
        "Environment=PS_BEHIND_PROXY=1",
        "EnvironmentFile=/etc/picoshare/env",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=",
    ] {
        assert!(
            picoshare.contains(needed),
            "picoshare.service lacks {needed}"
        );
    }
    // The server's flags as the unit passes them parse (--help exits after parsing).
    let exec = picoshare
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/usr/local/bin/picoshare "))
        .expect("ExecStart");
    let out = Command::new(BIN)
        .args(exec.split_whitespace())
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ExecStart flags: {}",
        text(&out.stderr)
    );

    let Some(systemd_analyze) = systemd_analyze() else {
        return;
    };
    // `verify` checks that each Exec binary exists (it runs none): point picoshare's at this
    // build, Litestream's at a stand-in, so this test does not need Litestream.
    let tmp = TempDir::new("units");
    let lsbin = "/bin/true";
    for (name, body) in [
        ("picoshare.service", &picoshare),
        ("litestream.service", &litestream_unit),
    ] {
        let body = body
            .replace("/usr/local/bin/picoshare", BIN)
            .replace("/usr/local/bin/litestream", lsbin);
        fs::write(tmp.join(name), body).unwrap();
    }
    let out = run(
        Command::new(systemd_analyze)
            .args(["verify", "--man=no"])
            .arg(tmp.join("picoshare.service"))
            .arg(tmp.join("litestream.service")),
        Duration::from_secs(60),
    );
    let err = text(&out.stderr);
    // Unknown keys are only warnings (exit 0): any output is a failure too.
    assert!(
        out.status.success() && err.trim().is_empty(),
        "systemd-analyze verify ({}):\n{}{err}",
        out.status,
        text(&out.stdout)
    );
}

#[test]
fn litestream_accepts_both_configs() {
    let Some(ls) = litestream() else { return };
    for (file, db) in [
        ("deploy/fly/litestream.yml", "/data/store.db"),
        (
            "deploy/lightsail/litestream.yml",
            "/var/lib/picoshare/store.db",
        ),
    ] {
        let out = run(
            Command::new(&ls)
                .args(["databases", "-config"])
                .arg(path(file))
                .env("DB_PATH", "/data/store.db")
                .env("LITESTREAM_BUCKET", "bucket")
                .env("LITESTREAM_ENDPOINT", "https://s3.example.invalid")
                .env("LITESTREAM_RETENTION", "72h"),
            Duration::from_secs(30),
        );
        let listing = text(&out.stdout);
        assert!(
            out.status.success() && listing.contains(db) && listing.contains("s3"),
            "{file}: {listing}{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn scripts_are_valid_sh_and_the_launch_bundle_carries_its_files() {
    for s in [
        "deploy/fly/entrypoint.sh",
        "deploy/lightsail/launch.sh",
        "scripts/install-litestream.sh",
    ] {
        let out = Command::new("sh").arg("-n").arg(path(s)).output().unwrap();
        assert!(out.status.success(), "{s}: {}", text(&out.stderr));
    }
    let out = run(
        Command::new("sh")
            .arg(path("deploy/lightsail/launch.sh"))
            .arg("--bundle")
            .env("PICOSHARE_DOMAIN", "files.example.com")
            .env("PICOSHARE_BINARY_URL", "https://example.com/picoshare")
            .env("LITESTREAM_BUCKET", "it's-a-bucket"),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bundle = out.stdout;
    assert!(
        bundle.len() < 16 * 1024,
        "launch scripts are limited to 16 KB; the bundle is {} bytes",
        bundle.len()
    );
    let tmp = TempDir::new("bundle");
    let script = tmp.join("user-data.sh");
    fs::write(&script, &bundle).unwrap();
    let out = Command::new("sh").arg("-n").arg(&script).output().unwrap();
    assert!(out.status.success(), "bundle: {}", text(&out.stderr));
    let head = text(&bundle[..bundle.len().min(600)]);
    assert!(head.starts_with("#!/bin/sh\n"));
    assert!(head.contains("LITESTREAM_BUCKET='it'\\''s-a-bucket'; export LITESTREAM_BUCKET"));
    // Unpack the payload the way launch.sh does and compare with the files.
    let dest = tmp.join("files");
    fs::create_dir_all(&dest).unwrap();
    let out = run(
        Command::new("sh").arg("-c").arg(format!(
            "sed '1,/^__PICOSHARE_LAUNCH_PAYLOAD__$/d' '{}' | base64 -d | tar -xzf - -C '{}'",
            script.display(),
            dest.display()
        )),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    for f in [
        "picoshare.service",
        "litestream.service",
        "litestream.yml",
        "Caddyfile",
    ] {
        assert_eq!(
            fs::read(dest.join(f)).unwrap(),
            fs::read(path(&format!("deploy/lightsail/{f}"))).unwrap(),
            "{f} differs in the bundle"
        );
    }
}

#[test]
fn caddyfile_is_what_the_deployment_needs_and_caddy_validates_it() {
    let caddyfile = fs::read_to_string(path("deploy/lightsail/Caddyfile")).unwrap();
    let directives: Vec<&str> = caddyfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(directives.contains(&"reverse_proxy 127.0.0.1:4001 {"));
    assert!(directives.contains(&"flush_interval -1"));
    assert!(
        !directives.iter().any(|l| l.starts_with("max_size")),
        "no request body cap"
    );
    assert!(
        !directives.iter().any(|l| l.starts_with("request_buffers")),
        "no request buffering"
    );
    let Some(caddy) = caddy() else { return };
    let out = run(
        Command::new(caddy)
            .args(["validate", "--adapter", "caddyfile", "--config"])
            .arg(path("deploy/lightsail/Caddyfile"))
            .env("PICOSHARE_DOMAIN", "files.example.com"),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "caddy validate:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
