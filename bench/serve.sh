#!/usr/bin/env bash
# Mirror file serving against nginx with sendfile, same files, same machine, same run.
# Usage: bench/serve.sh [seconds=10] [connections=4]
# Prints wrk's transfer rate for a 1 GiB and a 4 MiB file from both servers and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
CONNS=${2:-4}
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "serve.sh needs wrk and nginx (apt-get install -y wrk nginx-light)" >&2; exit 2; }
W=$(mktemp -d /tmp/dl-bench-serve.XXXXXX)
chmod 755 "$W"   # nginx workers run as an unprivileged user
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"' EXIT
dotnet build origin -c Release -nologo -v q >/dev/null
dotnet build mirror -c Release -nologo -v q >/dev/null
O=origin/bin/Release/net10.0/Downloads.Origin
M=mirror/bin/Release/net10.0/Downloads.Mirror
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$W/root/os" "$W/root/noobs"
head -c $((1024 * 1024 * 1024)) /dev/urandom > "$W/root/os/big.img"
head -c $((4 * 1024 * 1024)) /dev/urandom > "$W/root/noobs/small.zip"
PUB=$($O keygen --out "$W/key")
OP=$(port); MP=$(port); NP=$(port)
CFG=(--Origin:Root="$W/root" --Origin:StateDir="$W/state" --Origin:PrivateKeyFile="$W/key" --Redis:Configuration=127.0.0.1:1)
$O --urls=http://127.0.0.1:$OP "${CFG[@]}" >"$W/origin.log" 2>&1 & pids+=($!)
until curl -sf -o /dev/null http://127.0.0.1:$OP/-/manifest.json; do sleep 0.2; done
$M --urls=http://127.0.0.1:$MP --Mirror:Id=bench --Mirror:DataDir="$W/data" --Mirror:Upstream=http://127.0.0.1:$OP \
   --Mirror:PublicKey="$PUB" --Redis:Configuration=127.0.0.1:1 >"$W/mirror.log" 2>&1 & pids+=($!)
for _ in $(seq 1 600); do curl -sf -o /dev/null -I http://127.0.0.1:$MP/os/big.img && break; sleep 0.2; done
# The origin is no longer needed: stop it so it does not compete for the two cores.
kill "${pids[0]}"

# nginx serves the mirror's own verified objects through the same paths (symlinks into its store).
mkdir -p "$W/nginx/logs" "$W/www/os" "$W/www/noobs"
for f in os/big.img noobs/small.zip; do
  sha=$(curl -sI http://127.0.0.1:$MP/$f | tr -d '\r' | sed -n 's/^ETag: "\(.*\)"/\1/Ip')
  obj=$(find "$W/data" -name "$sha*" -type f | head -1)
  ln -s "$obj" "$W/www/$f"
done
cat > "$W/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $W/nginx/logs/error.log warn;
pid $W/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$NP; root $W/www; }
}
CONF
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" & pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null -I http://127.0.0.1:$NP/noobs/small.zip && break; sleep 0.1; done
curl -sf -o /dev/null -I http://127.0.0.1:$NP/noobs/small.zip || { echo "nginx did not serve the files:"; cat "$W/nginx/logs/error.log"; exit 1; } >&2

# wrk's "Transfer/sec" in MiB/s.
rate() {
  wrk -t1 -c"$CONNS" -d"${SECS}s" "$1" | awk '/Transfer\/sec/ {v=$2; u=substr(v,length(v)-1); n=substr(v,1,length(v)-2);
    if (u=="GB") n*=1024; else if (u=="KB") n/=1024; print n}'
}
printf '%-22s %12s %12s %8s\n' file "nginx MiB/s" "mirror MiB/s" ratio
for f in os/big.img noobs/small.zip; do
  curl -s -o /dev/null http://127.0.0.1:$NP/$f   # warm the page cache
  n=$(rate http://127.0.0.1:$NP/$f)
  m=$(rate http://127.0.0.1:$MP/$f)
  printf '%-22s %12.0f %12.0f %8.2f\n' "$f" "$n" "$m" "$(echo "$m / $n" | bc -l)"
done
