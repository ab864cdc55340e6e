#!/usr/bin/env bash
# Sync throughput of one large file (fetch + per-chunk SHA-256 verification + write) against
# curl of the same file from the same origin, in the same run: ROUNDS (default 5) rounds, each with
# both contenders in alternating order; prints every round and the medians.
# Usage: [ROUNDS=n] bench/sync/throughput.sh [MiB]
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${1:-1024}
W=$(mktemp -d /tmp/dl-bench-sync.XXXXXX)
trap 'kill ${OPID:-} ${MPID:-} 2>/dev/null || true; rm -rf "$W"' EXIT
dotnet build origin -c Release -nologo -v q >/dev/null
dotnet build mirror -c Release -nologo -v q >/dev/null
O=origin/bin/Release/net10.0/Downloads.Origin
M=mirror/bin/Release/net10.0/Downloads.Mirror
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$W/root/os"
head -c $((MIB * 1024 * 1024)) /dev/urandom > "$W/root/os/big.img"
PUB=$($O keygen --out "$W/key")
OP=$(port); MP=$(port)
CFG=(--Origin:Root="$W/root" --Origin:StateDir="$W/state" --Origin:PrivateKeyFile="$W/key" --Redis:Configuration=127.0.0.1:1)
$O publish "${CFG[@]}" >/dev/null
$O --urls=http://127.0.0.1:$OP "${CFG[@]}" >"$W/origin.log" 2>&1 & OPID=$!
until curl -sf -o /dev/null http://127.0.0.1:$OP/-/manifest.json; do sleep 0.2; done

# Warm the page cache so every run reads the source from memory.
curl -s -o /dev/null http://127.0.0.1:$OP/os/big.img
# curl to a file, then fsync it: the mirror fsyncs each file before it goes live, so both numbers are given.
run_curl() {
  local t0 t1 t2
  t0=$(date +%s.%N)
  curl -s -o "$W/curl.img" http://127.0.0.1:$OP/os/big.img
  t1=$(date +%s.%N)
  sync "$W/curl.img"
  t2=$(date +%s.%N)
  rm -f "$W/curl.img"
  CURL_S=$(python3 -c "print($t1 - $t0)"); CURLF_S=$(python3 -c "print($t2 - $t0)")
}
# A fresh mirror with an empty data folder; the figure is its own log line (fetch, verify, write, fsync).
run_mirror() {
  rm -rf "$W/data"
  $M --urls=http://127.0.0.1:$MP --Mirror:Id=bench --Mirror:DataDir="$W/data" --Mirror:Upstream=http://127.0.0.1:$OP \
     --Mirror:PublicKey="$PUB" --Redis:Configuration=127.0.0.1:1 --Sync:PollInterval=01:00:00 >"$W/mirror.log" 2>&1 & MPID=$!
  for _ in $(seq 1 600); do grep -q 'verified and live' "$W/mirror.log" && break; sleep 0.1; done
  SYNC_S=$(grep -o 'fetched in [0-9.]* s' "$W/mirror.log" | head -1 | awk '{print $3}')
  kill $MPID; wait $MPID 2>/dev/null || true; MPID=
  rm -rf "$W/data"
}
ROUNDS=${ROUNDS:-5}
for r in $(seq 1 "$ROUNDS"); do
  # Both contenders in every round, in alternating order, so neither always runs second (after the other's writeback).
  if [ $((r % 2)) -eq 1 ]; then run_curl; run_mirror; else run_mirror; run_curl; fi
  echo "$CURL_S $CURLF_S $SYNC_S"
done | python3 -c '
import sys, statistics as st
mib = int(sys.argv[1]); rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
for i, (c, cf, m) in enumerate(rows, 1):
    print(f"  round {i}: curl {c:.2f} s, curl+fsync {cf:.2f} s, mirror sync (verified, fsynced) {m:.2f} s; "
          f"ratio {c/m:.2f}x of curl, {cf/m:.2f}x of curl+fsync")
c = st.median(r[0] for r in rows); cf = st.median(r[1] for r in rows); m = st.median(r[2] for r in rows)
rc = st.median(r[0] / r[2] for r in rows); rcf = st.median(r[1] / r[2] for r in rows)
print(f"file {mib} MiB, median of {len(rows)} rounds: curl {mib/c:.0f} MiB/s, curl+fsync {mib/cf:.0f} MiB/s, mirror {mib/m:.0f} MiB/s; "
      f"median per-round ratio {rc:.2f}x of curl, {rcf:.2f}x of curl+fsync")
' "$MIB"
