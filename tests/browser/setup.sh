#!/usr/bin/env bash
# Installs what the browser tests need, only when missing: Debian's chromium (no browser
# download: playwright-core drives the system one) and playwright-core from package-lock.json.
# Fails, with what is missing and how to install it on its last line, when it cannot.
set -euo pipefail
cd "$(dirname "$0")"

fail() {
  echo "$*" >&2
  exit 1
}

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "browser tests: installing Debian's chromium"
  $sudo apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    chromium fonts-dejavu-core >/dev/null || true
fi
[ -x "$chromium" ] ||
  fail "no Chromium at $chromium: install Debian's (apt-get install chromium fonts-dejavu-core) or set CHROMIUM_PATH to a Chromium binary"

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
  fail "Node.js and npm are missing: install them (apt-get install nodejs npm)"

want="$(node -p "require('./package.json').dependencies['playwright-core']")"
have="$(node -p "try { require('./node_modules/playwright-core/package.json').version } catch { '' }")"
if [ "$want" != "$have" ]; then
  echo "browser tests: installing playwright-core $want"
  npm ci --no-audit --no-fund --loglevel=error ||
    fail "npm ci could not install playwright-core $want (tests/browser/package-lock.json)"
fi
