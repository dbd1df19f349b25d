#!/usr/bin/env bash
# Put latency and ingest with S3 tiering off and on (issue 18): runs the
# built binary (make build) on a fresh data directory, once without and once
# with --blobs to a versitygw on loopback, each loaded by `rheos bench` at
# RATE records/s of 1 KiB for DUR, and prints the bench's JSON line and the
# tiering status. ROUNDS alternates off/on that many times. S3_DIR puts
# versitygw's data elsewhere (e.g. /dev/shm: a store that does not share
# the log's disk, as a remote S3 would not).
# UPLOAD_RATE paces uploads (bytes/s, storage.uploadBytesPerSec).
#   RATE=20000 DUR=20s ROUNDS=2 [S3_DIR=/dev/shm] [UPLOAD_RATE=33554432] scripts/bench-tiering.sh
set -u
cd "$(dirname "$0")/.."
BIN=${RHEOS_BIN:-./rheos}
RATE=${RATE:-20000}; DUR=${DUR:-20s}; ROUNDS=${ROUNDS:-2}
GW=$(command -v versitygw || echo "$(go env GOPATH)/bin/versitygw")
run() {
  local mode=$1 d s3 port s3port adm gw srv
  d=$(mktemp -d /tmp/bench-tiering.XXXX); s3=$(mktemp -d "${S3_DIR:-$d}/s3.XXXX"); mkdir -p "$s3/tier"
  port=$((20000 + RANDOM % 20000)); s3port=$((port + 1)); adm=$((port + 2))
  "$GW" --access AK --secret SK --port 127.0.0.1:$s3port posix "$s3" > "$d/gw.log" 2>&1 & gw=$!
  sleep 1
  if [ "$mode" = on ]; then
    RHEOS_BLOBS="s3://tier/b?endpoint=http://127.0.0.1:$s3port&path-style=true" RHEOS_BLOBS_ACCESS_KEY_ID=AK RHEOS_BLOBS_SECRET_ACCESS_KEY=SK RHEOS_UPLOAD_BYTES_PER_SEC=${UPLOAD_RATE:-0} \
      "$BIN" serve --addr 127.0.0.1:$port --admin-addr 127.0.0.1:$adm --data-dir "$d/data" --log-level warn > "$d/rheos.log" 2>&1 & srv=$!
  else
    "$BIN" serve --addr 127.0.0.1:$port --admin-addr 127.0.0.1:$adm --data-dir "$d/data" --log-level warn > "$d/rheos.log" 2>&1 & srv=$!
  fi
  sleep 1.5
  echo "tiering $mode:"
  "$BIN" bench --endpoint http://127.0.0.1:$port --duration "$DUR" --rate "$RATE" --shards 4 --producers 4 --server-pid $srv --json 2>/dev/null
  curl -s http://127.0.0.1:$adm/cluster/status | tr -d '\n ' | head -c 600; echo
  kill $srv $gw; wait $srv $gw 2>/dev/null
  rm -rf "$d" "$s3"
}
for _ in $(seq "$ROUNDS"); do run off; run on; done
