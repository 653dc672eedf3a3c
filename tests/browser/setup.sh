#!/usr/bin/env bash
# Installs what the browser tests need, only when missing: Debian's chromium (no browser
# download: playwright-core drives the system one) and playwright-core from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "browser tests: installing Debian's chromium"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    chromium fonts-dejavu-core >/dev/null
fi

want="$(node -p "require('./package.json').dependencies['playwright-core']")"
have="$(node -p "try { require('./node_modules/playwright-core/package.json').version } catch { '' }")"
if [ "$want" != "$have" ]; then
  echo "browser tests: installing playwright-core $want"
  npm ci --no-audit --no-fund --loglevel=error
fi
