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

$M --urls=http://127.0.0.1:$MP --Mirror:Id=bench --Mirror:DataDir="$W/data" --Mirror:Upstream=http://127.0.0.1:$OP \
   --Mirror:PublicKey="$PUB" --Redis:Configuration=127.0.0.1:1 --Sync:PollInterval=00:00:02 --Sync:Parallelism=8 \
   --Logging:LogLevel:Default=Warning --Logging:LogLevel:Downloads.Mirror.Sync.SyncEngine=Debug >"$W/mirror.log" 2>&1 & MPID=$!
for _ in $(seq 1 1200); do grep -q 'verified and live' "$W/mirror.log" && break; sleep 0.1; done
echo "initial sync: $(grep -o 'fetched in [0-9.]* s' "$W/mirror.log" | head -1)"
# (a) polls at the same serial
for _ in $(seq 1 100); do [ "$(grep -c 'Sync pass done at serial 1' "$W/mirror.log")" -ge 4 ] && break; sleep 0.2; done
echo "no-op poll, same serial (ms):      $(grep 'Sync pass done at serial 1' "$W/mirror.log" | tail -3 | grep -o 'in [0-9.]* ms' | awk '{print $2}' | tr '\n' ' ')"
# (b) a new serial with nothing changed
$O publish "${CFG[@]}" >/dev/null
for _ in $(seq 1 100); do grep -q 'Sync pass done at serial 2' "$W/mirror.log" && break; sleep 0.2; done
echo "new serial, nothing changed (ms):  $(grep 'Sync pass done at serial 2' "$W/mirror.log" | head -1 | grep -o 'in [0-9.]* ms' | awk '{print $2}')"
