#!/usr/bin/env bash
# Runs the same load cases against Rheos and kinesalite (npm, LevelDB
# persistence) in one run, interleaved, and prints a table with ratios.
#
#   scripts/bench-peers.sh [DURATION]        (default 20s per case)
#   ONLY='lean-.*' scripts/bench-peers.sh    (a subset of the cases)
#
# Results: JSON per case under $OUT (default ./bench-results/<date>), and the
# table on stdout (Markdown, ready for docs/PERFORMANCE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-20s}"
OUT="${OUT:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)}"
PEERS="${PEERS_DIR:-$HOME/.cache/rheos-peers}"
mkdir -p "$OUT" "$PEERS"

if [ ! -x "$PEERS/node_modules/.bin/kinesalite" ]; then
  echo "installing kinesalite 3.3.3 into $PEERS" >&2
  (cd "$PEERS" && npm install --no-audit --no-fund --silent kinesalite@3.3.3 >/dev/null)
fi
go build -o "$OUT/rheos" ./cmd/rheos
BIN="$OUT/rheos"

RHEOS_PORT=4590
KL_PORT=4591
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_rheos() {
  local dir; dir=$(mktemp -d)
  "$BIN" serve --addr "127.0.0.1:$RHEOS_PORT" --data-dir "$dir" --log-level warn >"$OUT/rheos-server.log" 2>&1 &
  SERVER_PID=$!; pids+=("$SERVER_PID"); SERVER_DIR=$dir
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$RHEOS_PORT/healthz" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "rheos did not start" >&2; exit 1
}
start_kinesalite() {
  local dir; dir=$(mktemp -d)
  "$PEERS/node_modules/.bin/kinesalite" --port "$KL_PORT" --path "$dir" --createStreamMs 50 >"$OUT/kinesalite.log" 2>&1 &
  SERVER_PID=$!; pids+=("$SERVER_PID"); SERVER_DIR=$dir
  sleep 1
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; rm -rf "$SERVER_DIR"; }

# name|bench flags
CASES=(
  "lean-1KiB-500|--client lean --record-size 1024 --batch 500 --producers 4 --consumers=false"
  "lean-100B-500|--client lean --record-size 100 --batch 500 --producers 4 --consumers=false"
  "sdk-1KiB-500|--client sdk --record-size 1024 --batch 500 --producers 4 --consumers=false"
  "putrecord-1000rps|--client lean --op putrecord --record-size 1024 --producers 8 --rate 1000 --consumers=false"
  "light-50rps-20ms|--client lean --op putrecord --record-size 256 --producers 1 --rate 50 --poll-interval 20ms"
)

# ONLY=regex runs a subset of the cases.
sel=()
for c in "${CASES[@]}"; do [[ -z "${ONLY:-}" || "${c%%|*}" =~ ${ONLY} ]] && sel+=("$c"); done
CASES=("${sel[@]}")

for c in "${CASES[@]}"; do
  name=${c%%|*}; flags=${c#*|}
  for target in rheos kinesalite; do
    if [ "$target" = rheos ]; then start_rheos; port=$RHEOS_PORT; else start_kinesalite; port=$KL_PORT; fi
    echo "== $name on $target" >&2
    # shellcheck disable=SC2086
    "$BIN" bench --endpoint "http://127.0.0.1:$port" --duration "$DUR" --server-pid "$SERVER_PID" --json $flags \
      >"$OUT/$name.$target.json" 2>"$OUT/$name.$target.err" || true
    stop_server
  done
done

python3 - "$OUT" "${CASES[@]}" <<'PY'
import json, sys, os
out, cases = sys.argv[1], [c.split("|")[0] for c in sys.argv[2:]]
def load(n, t):
    try:
        return json.load(open(os.path.join(out, f"{n}.{t}.json")))
    except Exception:
        return None
def f(v, fmt="{:,.0f}"):
    return "–" if v is None else fmt.format(v)
print("| case | target | records/s | MiB/s | put p50/p99 ms | put→get p99 ms | CPU-s/GiB | CPU-µs/rec | peak RSS MiB | lost/dup |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n in cases:
    rows = {}
    for t in ("rheos", "kinesalite"):
        r = load(n, t); rows[t] = r
        if r is None:
            print(f"| {n} | {t} | failed (see {t} .err) |||||||"); continue
        s = r.get("server") or {}; c = r.get("consumers") or {}
        pg = (c.get("putGetMs") or {}).get("p99")
        print(f"| {n} | {t} | {f(r['recordsPerSecond'])} | {f(r['mibPerSecond'], '{:.1f}')} | "
              f"{f(r['putLatencyMs']['p50'], '{:.1f}')}/{f(r['putLatencyMs']['p99'], '{:.1f}')} | {f(pg, '{:.1f}')} | "
              f"{f(s.get('cpuSecondsPerGiB'), '{:.2f}')} | {f(s.get('cpuMicrosPerRecord'), '{:.2f}')} | "
              f"{f(s.get('peakRssMiB'), '{:.0f}')} | {c.get('lost', '–')}/{c.get('duplicated', '–')} |")
    a, b = rows["rheos"], rows["kinesalite"]
    if a and b and b["recordsPerSecond"]:
        ratio = a["recordsPerSecond"] / b["recordsPerSecond"]
        sa, sb = (a.get("server") or {}).get("cpuSecondsPerGiB"), (b.get("server") or {}).get("cpuSecondsPerGiB")
        cpu = f", CPU/GiB {sb/sa:.1f}× less" if sa and sb else ""
        print(f"| {n} | **ratio** | **{ratio:.1f}×**{cpu} |||||||")
PY
