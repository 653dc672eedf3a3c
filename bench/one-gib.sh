#!/bin/bash
# One 1 GiB upload then download on 127.0.0.1 against the release binary (`make release`):
# idle RSS, upload and download speed, peak RSS (VmHWM), byte-identity, spool left empty.
set -e
BIN=${PICOSHARE_BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/$(rustc -vV | sed -n "s/^host: //p")/release/picoshare}
D=${TMPDIR:-/tmp}/picoshare-one-gib; rm -rf $D; mkdir -p $D
head -c 1073741824 /dev/urandom > $D/big.bin
PS_SHARED_SECRET=pw $BIN -db $D/store.db --listen 127.0.0.1 --port 4620 > $D/log 2>&1 &
P=$!; sleep 1
echo "idle:            $(grep VmRSS /proc/$P/status)"
curl -s -c $D/cj -H 'Content-Type: application/json' -d '{"sharedSecretKey":"pw"}' http://127.0.0.1:4620/api/auth
curl -s -b $D/cj -F "file=@$D/big.bin" -w "\nupload: %{time_total} s, %{speed_upload} B/s\n" \
  "http://127.0.0.1:4620/api/entry?expiration=2999-12-31T00:00:00Z" | tee $D/up
echo "after upload:    $(grep VmHWM /proc/$P/status)"
ID=$(head -1 $D/up | python3 -c "import json,sys;print(json.load(sys.stdin)['id'])")
curl -s -o /dev/null -w "download: %{time_total} s, %{speed_download} B/s\n" http://127.0.0.1:4620/-$ID
curl -s http://127.0.0.1:4620/-$ID | sha256sum | cut -c1-16; sha256sum $D/big.bin | cut -c1-16
echo "after download:  $(grep VmHWM /proc/$P/status)"
ls $D/store.db-spool | wc -l | sed 's/^/spool files left: /'
kill -TERM $P; wait $P; echo "exit status: $?"
rm -rf $D
