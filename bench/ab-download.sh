#!/usr/bin/env bash
# A/B of the download path: two server binaries take turns serving the same database (three
# files uploaded in parallel by the first binary), inside one memory cgroup, so a change is
# judged against its baseline in the same minutes of a noisy machine. For each turn it prints
# the rate of one pass of three parallel downloads and the server's CPU time for it.
#
#   bench/ab-download.sh OLD_BINARY NEW_BINARY [ROUNDS] [LIMIT_MIB]
#
# Files come from bench/.work (made by `make bench`); needs root for the cgroup (runs without
# one otherwise) and curl. Example: build the old tree's `make release` binary to /tmp/old,
# then `bench/ab-download.sh /tmp/old target/x86_64-unknown-linux-gnu/release/picoshare`.
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2") rounds=${3:-3} limit=$(( ${4:-256} << 20 ))
root=$(cd "$(dirname "$0")/.." && pwd)
files=("$root"/bench/.work/file{0,1,2}.bin)
for f in "${files[@]}"; do [ -f "$f" ] || { echo "run make bench first: $f missing" >&2; exit 2; }; done
work=$(mktemp -d) port=4799 cg=""
if [ -w /sys/fs/cgroup/cgroup.subtree_control ] && [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cg=/sys/fs/cgroup/picoshare-ab; mkdir -p $cg; echo $limit > $cg/memory.max
elif [ -w /sys/fs/cgroup/memory ]; then
  cg=/sys/fs/cgroup/memory/picoshare-ab; mkdir -p $cg; echo $limit > $cg/memory.limit_in_bytes
else
  echo "no writable memory cgroup: running without a limit" >&2
fi
pid=""
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; pid=""; }
trap 'stop; rm -rf "$work"; [ -n "$cg" ] && rmdir $cg 2>/dev/null || true' EXIT
start() {
  stop
  sh -c "${cg:+echo \$\$ > $cg/cgroup.procs; }exec env PS_SHARED_SECRET=ab $1 -db $work/store.db --listen 127.0.0.1 --port $port" >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && return; sleep 0.05; done
  echo "server did not start: $(cat "$work/log")" >&2; exit 1
}
start "$old"
curl -s -c "$work/ck" -H 'Content-Type: application/json' -d '{"sharedSecretKey":"ab"}' \
  "http://127.0.0.1:$port/api/auth" >/dev/null
ids=() ups=()
for i in 0 1 2; do
  curl -s -b "$work/ck" -F "file=@${files[$i]}" \
    "http://127.0.0.1:$port/api/entry?expiration=2999-12-31T00:00:00Z" >"$work/id$i" & ups+=($!)
done
wait "${ups[@]}"
for i in 0 1 2; do ids+=("$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$work/id$i")"); done
mib=$(( $(stat -c %s "${files[0]}" "${files[1]}" "${files[2]}" | paste -sd+ | bc) >> 20 ))
pass() {
  local t0 t1 c0 c1 dl=()
  c0=$(awk '{print $14 + $15}' /proc/$pid/stat); t0=$(date +%s.%N)
  for id in "${ids[@]}"; do curl -s --fail -o /dev/null "http://127.0.0.1:$port/-$id" & dl+=($!); done
  wait "${dl[@]}"
  t1=$(date +%s.%N); c1=$(awk '{print $14 + $15}' /proc/$pid/stat)
  printf "%6.0f MiB/s  server CPU %5d ms\n" "$(echo "$mib / ($t1 - $t0)" | bc -l)" \
    $(( (c1 - c0) * 1000 / $(getconf CLK_TCK) ))
}
for r in $(seq "$rounds"); do
  for b in old new; do
    [ $b = old ] && bin=$old || bin=$new
    start "$bin"
    for p in 1 2 3; do echo "round $r $b: $(pass)"; done
  done
done
