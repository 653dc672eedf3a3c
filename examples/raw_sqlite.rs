//! Baseline for `make bench`: the same bytes written as raw 327,680-byte chunk rows into
//! SQLite with rusqlite and read back the same way, with the server's pragmas but no HTTP,
//! multipart or spool. Prints one JSON line of timings. The read-back is timed `READ_PASSES`
//! times (default 1), so the benchmark can take a median as it does for downloads.
//!
//! Usage: `raw_sqlite DB CHUNK_SIZE BATCH_BYTES FILE...`, or `raw_sqlite --read DB ID...` to
//! only read back, the same way, files the server stored (its database, its layout).
//! `PAGE_SIZE` (default 65536, the server's for new databases) sets the new database's page
//! size and `CKPT_BYTES` (default 4 MiB, the server's) the WAL auto-checkpoint threshold;
//! incremental auto-vacuum is on, as in the server's databases.

use std::fs::File;
use std::io::Read;
use std::time::Instant;

use rusqlite::{params, Connection};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let passes: usize = std::env::var("READ_PASSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    if args.len() >= 3 && args[1] == "--read" {
        let conn = Connection::open(&args[2])?;
        conn.pragma_update(None, "cache_size", -512)?;
        let mut buf = Vec::new();
        let (read, read_secs) = read_back(&conn, &args[3..], passes, &mut buf)?;
        println!(
            "{{\"read_bytes\": {read}, \"read_secs\": [{}]}}",
            read_secs.join(", ")
        );
        return Ok(());
    }
    if args.len() < 5 {
        return Err("usage: raw_sqlite DB CHUNK_SIZE BATCH_BYTES FILE...".into());
    }
    let (db, chunk, batch) = (
        &args[1],
        args[2].parse::<usize>()?,
        args[3].parse::<usize>()?,
    );
    let files = &args[4..];
    let page_size: u32 = std::env::var("PAGE_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(65_536);
    let conn = Connection::open(db)?;
    conn.pragma_update(None, "page_size", page_size)?;
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -512)?;
    // The server's WAL bounds: its auto-checkpoint threshold (in bytes, `CKPT_BYTES`, default
    // the server's 4 MiB) and journal size limit.
    let ckpt_bytes: u64 = std::env::var("CKPT_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4 << 20);
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        (ckpt_bytes / page_size as u64).max(1),
    )?;
    conn.pragma_update(None, "journal_size_limit", 32i64 << 20)?;
    conn.execute_batch(
        "CREATE TABLE entries_data (id TEXT NOT NULL, chunk_index INTEGER NOT NULL, \
         chunk BLOB NOT NULL, PRIMARY KEY (id, chunk_index)) STRICT;
         CREATE INDEX idx_entries_data_length ON entries_data (id, length(chunk));",
    )?;
    let mut buf = vec![0u8; chunk];
    let mut total = 0u64;
    let start = Instant::now();
    for (n, path) in files.iter().enumerate() {
        let id = format!("file{n:06}");
        let mut f = File::open(path)?;
        let mut index = 0i64;
        let mut done = false;
        while !done {
            let tx = conn.unchecked_transaction()?;
            let mut in_batch = 0;
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO entries_data (id, chunk_index, chunk) VALUES (?1, ?2, ?3)",
                )?;
                while in_batch < batch {
                    let mut filled = 0;
                    while filled < chunk {
                        let n = f.read(&mut buf[filled..])?;
                        if n == 0 {
                            break;
                        }
                        filled += n;
                    }
                    if filled == 0 {
                        done = true;
                        break;
                    }
                    st.execute(params![id, index, &buf[..filled]])?;
                    index += 1;
                    in_batch += filled;
                    total += filled as u64;
                }
            }
            tx.commit()?;
        }
    }
    let insert_secs = start.elapsed().as_secs_f64();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;

    let ids: Vec<String> = (0..files.len()).map(|n| format!("file{n:06}")).collect();
    let (read, read_secs) = read_back(&conn, &ids, passes, &mut buf)?;
    println!(
        "{{\"bytes\": {total}, \"insert_secs\": {insert_secs:.3}, \"read_bytes\": {read}, \"read_secs\": [{}]}}",
        read_secs.join(", ")
    );
    Ok(())
}

/// Reads every chunk of `ids` back, one row per statement into one buffer, `passes` times;
/// returns the bytes of one pass and each pass's seconds.
fn read_back(
    conn: &Connection,
    ids: &[String],
    passes: usize,
    buf: &mut Vec<u8>,
) -> rusqlite::Result<(u64, Vec<String>)> {
    let mut st =
        conn.prepare_cached("SELECT chunk FROM entries_data WHERE id = ?1 AND chunk_index = ?2")?;
    let mut read = 0u64;
    let mut secs = Vec::new();
    for _ in 0..passes {
        let start = Instant::now();
        read = 0;
        for id in ids {
            let mut index = 0i64;
            loop {
                let got = st.query_row(params![id, index], |row| {
                    let b = row.get_ref(0)?.as_blob()?;
                    if buf.len() < b.len() {
                        buf.resize(b.len(), 0);
                    }
                    buf[..b.len()].copy_from_slice(b);
                    Ok(b.len())
                });
                match got {
                    Ok(len) => read += len as u64,
                    Err(rusqlite::Error::QueryReturnedNoRows) => break,
                    Err(e) => return Err(e),
                }
                index += 1;
            }
        }
        secs.push(format!("{:.3}", start.elapsed().as_secs_f64()));
    }
    Ok((read, secs))
}
