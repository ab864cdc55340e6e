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

# Warm the page cache so both runs read the source from memory.
curl -s -o /dev/null http://127.0.0.1:$OP/os/big.img
CURL_S=$(curl -s -o "$W/curl.img" -w '%{time_total}' http://127.0.0.1:$OP/os/big.img)
rm -f "$W/curl.img"

$M --urls=http://127.0.0.1:$MP --Mirror:Id=bench --Mirror:DataDir="$W/data" --Mirror:Upstream=http://127.0.0.1:$OP \
   --Mirror:PublicKey="$PUB" --Redis:Configuration=127.0.0.1:1 --Sync:PollInterval=01:00:00 >"$W/mirror.log" 2>&1 & MPID=$!
for _ in $(seq 1 600); do grep -q 'verified and live' "$W/mirror.log" && break; sleep 0.1; done
SYNC_S=$(grep -o 'fetched in [0-9.]* s' "$W/mirror.log" | head -1 | awk '{print $3}')
python3 - "$MIB" "$CURL_S" "$SYNC_S" <<'PY'
import sys
mib, curl, sync = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"file {mib} MiB: curl {curl:.2f} s ({mib/curl:.0f} MiB/s), mirror sync {sync:.2f} s ({mib/sync:.0f} MiB/s), ratio {curl/sync:.2f}x")
PY
