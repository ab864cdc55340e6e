#!/usr/bin/env bash
# No-op sync against a 10,000-file manifest: the mirror is synced, then (a) polls the same serial
# and (b) syncs a new serial in which nothing changed. Usage: bench/sync/noop.sh [files]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10000}
W=$(mktemp -d /tmp/dl-bench-noop.XXXXXX)
trap 'kill ${OPID:-} ${MPID:-} 2>/dev/null || true; rm -rf "$W"' EXIT
dotnet build origin -c Release -nologo -v q >/dev/null
dotnet build mirror -c Release -nologo -v q >/dev/null
O=origin/bin/Release/net10.0/Downloads.Origin
M=mirror/bin/Release/net10.0/Downloads.Mirror
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

python3 - "$W/root" "$N" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, ("noobs", "os", "rachel")[i % 3], f"d{i // 500:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(64 + i % 512))
PY
PUB=$($O keygen --out "$W/key")
OP=$(port); MP=$(port)
CFG=(--Origin:Root="$W/root" --Origin:StateDir="$W/state" --Origin:PrivateKeyFile="$W/key" --Redis:Configuration=127.0.0.1:1)
$O publish "${CFG[@]}" >/dev/null
$O --urls=http://127.0.0.1:$OP "${CFG[@]}" >"$W/origin.log" 2>&1 & OPID=$!
until curl -sf -o /dev/null http://127.0.0.1:$OP/-/manifest.json; do sleep 0.2; done
echo "manifest: $(curl -s http://127.0.0.1:$OP/-/manifest.json | wc -c) bytes for $N files"

metric() { curl -s http://127.0.0.1:$MP/-/metrics | awk -v m="$1" '$1 == m {print $2}'; }
$M --urls=http://127.0.0.1:$MP --Mirror:Id=bench --Mirror:DataDir="$W/data" --Mirror:Upstream=http://127.0.0.1:$OP \
   --Mirror:PublicKey="$PUB" --Redis:Configuration=127.0.0.1:1 --Sync:PollInterval=00:00:02 --Sync:Parallelism=8 \
   >"$W/mirror.log" 2>&1 & MPID=$!
# Timings come from the mirror's own metrics (downloads_mirror_sync_*), at its shipped log level.
for _ in $(seq 1 1200); do [ "$(metric downloads_mirror_live_serial)" = "1" ] && break; sleep 0.1; done
echo "initial sync (s):                  $(metric downloads_mirror_sync_last_publish_pass_seconds)"
# (a) polls at the same serial: three passes after the first
first=$(metric downloads_mirror_sync_passes_total)
polls=""
for _ in $(seq 1 200); do
  n=$(metric downloads_mirror_sync_passes_total)
  if [ "${n%.*}" -gt "${last:-${first%.*}}" ]; then last=${n%.*}; polls="$polls $(metric downloads_mirror_sync_last_pass_seconds)"; fi
  [ "$(echo $polls | wc -w)" -ge 3 ] && break; sleep 0.1
done
echo "no-op poll, same serial (s):      $polls"
# (b) a new serial with nothing changed
$O publish "${CFG[@]}" >/dev/null
for _ in $(seq 1 200); do [ "$(metric downloads_mirror_live_serial)" = "2" ] && break; sleep 0.1; done
echo "new serial, nothing changed (s):   $(metric downloads_mirror_sync_last_publish_pass_seconds)"
