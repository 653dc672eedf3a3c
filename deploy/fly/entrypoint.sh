#!/bin/sh
# Container entrypoint for PicoShare for Rust (deploy/fly/Dockerfile).
#
#   picoshare-entrypoint [picoshare arguments...]      (the image's CMD: -db /data/store.db)
#
# Without LITESTREAM_BUCKET: exec picoshare with the arguments.
# With LITESTREAM_BUCKET (non-empty):
#   1. if the database file is missing, remove its stale -wal/-shm and Litestream state and
#      restore it from the replica (nothing happens when the replica is empty: first start);
#   2. exec `litestream replicate -exec "picoshare ..."`: Litestream supervises the server,
#      forwards SIGTERM/SIGINT to it, waits for it to exit, then pushes the last changes.
#
# Overridable for tests and other layouts: PICOSHARE_BIN, LITESTREAM_BIN, LITESTREAM_CONFIG.
# The config file reads DB_PATH, which this script exports (the absolute -db path).
set -eu

PICOSHARE_BIN=${PICOSHARE_BIN:-/usr/local/bin/picoshare}
LITESTREAM_BIN=${LITESTREAM_BIN:-/usr/local/bin/litestream}
LITESTREAM_CONFIG=${LITESTREAM_CONFIG:-/etc/litestream.yml}

log() { printf 'entrypoint: %s\n' "$*"; }

# The database path, found the way picoshare parses it: -db X, -db=X, --db X, --db=X;
# the last one wins; default data/store.db.
DB_PATH=data/store.db
expect_db=0
for arg in "$@"; do
    if [ "$expect_db" = 1 ]; then
        DB_PATH=$arg
        expect_db=0
        continue
    fi
    case $arg in
        -db | --db) expect_db=1 ;;
        -db=* | --db=*) DB_PATH=${arg#*=} ;;
    esac
done
case $DB_PATH in
    /*) ;;
    *) DB_PATH=$(pwd)/$DB_PATH ;;
esac
export DB_PATH

if [ -z "${LITESTREAM_BUCKET:-}" ]; then
    log "LITESTREAM_BUCKET is not set: no replication; database $DB_PATH"
    exec "$PICOSHARE_BIN" "$@"
fi

export LITESTREAM_RETENTION="${LITESTREAM_RETENTION:-72h}"
log "litestream $("$LITESTREAM_BIN" version)"
log "replica bucket: ${LITESTREAM_BUCKET}"
log "replica endpoint: ${LITESTREAM_ENDPOINT:-(AWS S3 default)}"
log "snapshot retention: ${LITESTREAM_RETENTION}"

db_dir=$(dirname "$DB_PATH")
db_name=$(basename "$DB_PATH")
mkdir -p "$db_dir"

if [ -f "$DB_PATH" ]; then
    log "database $DB_PATH exists ($(wc -c <"$DB_PATH") bytes): not restoring"
else
    # A -wal or -shm without its database, or Litestream's position for a database that is
    # gone, would be applied to (or compared with) the restored file: remove them first.
    rm -f "$DB_PATH-wal" "$DB_PATH-shm"
    rm -rf "$db_dir/.$db_name-litestream" "$DB_PATH-litestream"
    log "database $DB_PATH is missing: restoring from the replica if it has one"
    "$LITESTREAM_BIN" restore -config "$LITESTREAM_CONFIG" \
        -if-db-not-exists -if-replica-exists "$DB_PATH"
    if [ -f "$DB_PATH" ]; then
        log "restored $DB_PATH ($(wc -c <"$DB_PATH") bytes)"
    else
        log "the replica is empty: starting with a new database"
    fi
fi

# Litestream splits -exec with shell-word rules: single-quote every word.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
cmd=$(quote "$PICOSHARE_BIN")
for arg in "$@"; do
    cmd="$cmd $(quote "$arg")"
done

log "exec litestream replicate -exec $cmd"
exec "$LITESTREAM_BIN" replicate -config "$LITESTREAM_CONFIG" -exec "$cmd"
