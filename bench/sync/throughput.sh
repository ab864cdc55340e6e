#!/usr/bin/env bash
# Sync throughput of one large file (fetch + per-chunk SHA-256 verification + write) against
# curl of the same file from the same origin, in the same run. Usage: bench/sync/throughput.sh [MiB]
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
ROUNDS=${ROUNDS:-3}
for r in $(seq 1 "$ROUNDS"); do
  # curl to a file, then fsync it: the mirror fsyncs each file before it goes live, so both numbers are given.
  T0=$(date +%s.%N)
  curl -s -o "$W/curl.img" http://127.0.0.1:$OP/os/big.img
  T1=$(date +%s.%N)
  sync "$W/curl.img"
  T2=$(date +%s.%N)
  rm -f "$W/curl.img"
  rm -rf "$W/data"
  $M --urls=http://127.0.0.1:$MP --Mirror:Id=bench --Mirror:DataDir="$W/data" --Mirror:Upstream=http://127.0.0.1:$OP \
     --Mirror:PublicKey="$PUB" --Redis:Configuration=127.0.0.1:1 --Sync:PollInterval=01:00:00 >"$W/mirror.log" 2>&1 & MPID=$!
  for _ in $(seq 1 600); do grep -q 'verified and live' "$W/mirror.log" && break; sleep 0.1; done
  SYNC_S=$(grep -o 'fetched in [0-9.]* s' "$W/mirror.log" | head -1 | awk '{print $3}')
  kill $MPID; wait $MPID 2>/dev/null || true; MPID=
  echo "$T0 $T1 $T2 $SYNC_S"
done | python3 -c '
import sys
mib = int(sys.argv[1]); rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
for t0, t1, t2, s in rows:
    print(f"  curl {t1-t0:.2f} s, curl+fsync {t2-t0:.2f} s, mirror sync (verified, fsynced) {s:.2f} s")
c = min(r[1]-r[0] for r in rows); cf = min(r[2]-r[0] for r in rows); m = min(r[3] for r in rows)
print(f"file {mib} MiB, best of {len(rows)}: curl {mib/c:.0f} MiB/s, curl+fsync {mib/cf:.0f} MiB/s, mirror {mib/m:.0f} MiB/s; "
      f"ratio {c/m:.2f}x of curl, {cf/m:.2f}x of curl+fsync")
' "$MIB"
