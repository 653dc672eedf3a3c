#!/usr/bin/env bash
# Runs the browser journeys (make test-browser): installs what they need when it is missing
# (setup.sh), then runs them in headless Chromium. If Chromium, Node.js or playwright-core
# cannot be had, the run fails saying how to install them — unless PICOSHARE_TEST_SKIP names
# chromium (the one skip policy of the tests: README.md, Development).
set -euo pipefail
cd "$(dirname "$0")"

skipped() {
  case ",$(printf '%s' "${PICOSHARE_TEST_SKIP:-}" | tr ' ' ',')," in
    *,"$1",*) return 0 ;;
    *) return 1 ;;
  esac
}

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
set +e
bash setup.sh 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
if [ "$status" != 0 ]; then
  why="$(tail -n 1 "$out")"
  if skipped chromium; then
    mkdir -p ../../target/tmp
    echo "SKIPPED the browser journeys (PICOSHARE_TEST_SKIP names chromium): $why" |
      tee -a ../../target/tmp/skipped-tests.txt
    exit 0
  fi
  echo "(browser tests: to skip the journeys instead, set PICOSHARE_TEST_SKIP=chromium)" >&2
  exit 1
fi
exec node --test --test-concurrency=1 journeys/
