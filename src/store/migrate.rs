//! Schema set-up: numbered SQL files in `migrations/`, tracked by `PRAGMA user_version` the way
//! PicoShare tracks its own (a fully migrated PicoShare database is at version 15).

use rusqlite::Connection;

use crate::error::StoreError;

/// PicoShare's schema version that our tables match.
pub const PICOSHARE_VERSION: i64 = 15;

/// Our migrations: (the user_version after it, SQL). The first creates PicoShare's final
/// schema in one step.
const MIGRATIONS: &[(i64, &str)] = &[(
    PICOSHARE_VERSION,
    include_str!("migrations/0001_picoshare_schema.sql"),
)];

/// On a brand-new, empty database, turn on incremental auto-vacuum: it can only be chosen
/// before the first table exists, and it lets deleted files' pages go back to the filesystem
/// in small steps instead of a full VACUUM that doubles disk use.
pub fn prepare_new_database(conn: &Connection) -> Result<(), StoreError> {
    let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
    if tables == 0 {
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    }
    Ok(())
}

/// Brings the schema to [`PICOSHARE_VERSION`]. A database from an older PicoShare (1 … 14) is
/// refused with a reason rather than guessed at.
pub fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > 0 && version < PICOSHARE_VERSION {
        return Err(StoreError::Io(std::io::Error::other(format!(
            "this database is at PicoShare schema version {version}; open it once with \
             PicoShare 1.5 or newer to upgrade it to version {PICOSHARE_VERSION}"
        ))));
    }
    for (target, sql) in MIGRATIONS {
        if version < *target {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", target)?;
            tx.commit()?;
        }
    }
    Ok(())
}
