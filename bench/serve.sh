#!/usr/bin/env bash
# Mirror file serving against nginx with sendfile, same files, same machine, same run.
# Usage: bench/serve.sh [seconds=10] [connections=4]     ROUNDS=5 (at least 1)
# The mirror runs as shipped (`dotnet Downloads.Mirror.dll`, as ./run.sh and the ansible role start
# it) with only the settings it cannot start without, and a stand-in Redis address (127.0.0.1:1:
# nothing listens there, so reporting fails quietly in the background, off the request path).
# nginx runs with Debian's shipped settings (worker_processes auto, sendfile on, tcp_nopush on).
# Each round measures nginx then the mirror, for a 1 GiB and a 4 MiB file; the script prints every
# round and the medians of the rates and of the per-round ratios. The mirror gets no log-level setting of
# its own: it runs with the shipped defaults, which log nothing per request.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
CONNS=${2:-4}
ROUNDS=${ROUNDS:-5}
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "serve.sh needs wrk and nginx (apt-get install -y wrk nginx-light)" >&2; exit 2; }
W=$(mktemp -d /tmp/dl-bench-serve.XXXXXX)
chmod 755 "$W"   # nginx workers run as an unprivileged user
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"' EXIT
dotnet build origin -c Release -nologo -v q >/dev/null
dotnet build mirror -c Release -nologo -v q >/dev/null
O=(dotnet origin/bin/Release/net10.0/Downloads.Origin.dll)
M=(dotnet mirror/bin/Release/net10.0/Downloads.Mirror.dll)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$W/root/os" "$W/root/noobs"
head -c $((1024 * 1024 * 1024)) /dev/urandom > "$W/root/os/big.img"
head -c $((4 * 1024 * 1024)) /dev/urandom > "$W/root/noobs/small.zip"
PUB=$("${O[@]}" keygen --out "$W/key")
OP=$(port); MP=$(port); NP=$(port)
"${O[@]}" --urls=http://127.0.0.1:$OP --Origin:Root="$W/root" --Origin:StateDir="$W/state" --Origin:PrivateKeyFile="$W/key" \
   --Redis:Configuration=127.0.0.1:1 >"$W/origin.log" 2>&1 & pids+=($!)
until curl -sf -o /dev/null http://127.0.0.1:$OP/-/manifest.json; do sleep 0.2; done
"${M[@]}" --urls=http://127.0.0.1:$MP --Mirror:Id=bench --Mirror:DataDir="$W/data" --Mirror:Upstream=http://127.0.0.1:$OP \
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
# Debian's /etc/nginx/nginx.conf, with paths in the work folder and no access log (the mirror logs
# nothing per request either; at a few hundred requests/s it is within noise).
cat > "$W/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
error_log $W/nginx/logs/error.log;
pid $W/nginx/nginx.pid;
events { worker_connections 768; }
http {
  sendfile on;
  tcp_nopush on;
  types_hash_max_size 2048;
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  gzip on;
  client_body_temp_path $W/nginx; proxy_temp_path $W/nginx; fastcgi_temp_path $W/nginx; uwsgi_temp_path $W/nginx; scgi_temp_path $W/nginx;
  server { listen 127.0.0.1:$NP; root $W/www; }
}
CONF
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" & pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null -I http://127.0.0.1:$NP/noobs/small.zip && break; sleep 0.1; done
curl -sf -o /dev/null -I http://127.0.0.1:$NP/noobs/small.zip || { echo "nginx did not serve the files:"; cat "$W/nginx/logs/error.log"; exit 1; } >&2

# wrk's "Transfer/sec" in MiB/s.
rate() { # url seconds
  wrk -t1 -c"$CONNS" -d"${2}s" "$1" | awk '/Transfer\/sec/ {v=$2; u=substr(v,length(v)-1); n=substr(v,1,length(v)-2);
    if (u=="GB") n*=1024; else if (u=="KB") n/=1024; print n}'
}
# CPU time (user + system, clock ticks) of the given processes and their children (nginx's workers).
ticks() { for p in "$@" $(pgrep -P "$(echo "$@" | tr ' ' ',')" || true); do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{t += $1} END {print t}'; }
HZ=$(getconf CLK_TCK)
# Prints "MiB/s CPU-seconds-per-GiB" for one wrk run against url, charging the CPU of the given server processes.
measure() { # url pid...
  local url=$1; shift
  local t0 r t1
  t0=$(ticks "$@"); r=$(rate "$url" "$SECS"); t1=$(ticks "$@")
  echo "$r $(echo "($t1 - $t0) / $HZ / ($r * $SECS / 1024)" | bc -l)"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
NGINX=${pids[2]}; MIRROR=${pids[1]}
FILES=(os/big.img noobs/small.zip)
# Warm the page cache and the mirror's JIT before the first measured round (tiered compilation and PGO
# settle over ~15 s of load: a service that has been up a while is warm).
for f in "${FILES[@]}"; do
  curl -s -o /dev/null http://127.0.0.1:$NP/$f
  rate http://127.0.0.1:$NP/$f 2 >/dev/null
  rate http://127.0.0.1:$MP/$f 10 >/dev/null
done
echo "wrk -t1 -c$CONNS -d${SECS}s, $ROUNDS rounds (nginx then mirror per file), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "files: os/big.img $(stat -Lc %s "$W/www/os/big.img") bytes, noobs/small.zip $(stat -Lc %s "$W/www/noobs/small.zip") bytes; server CPU in seconds per GiB served"
printf '%-6s %-16s %12s %12s %7s %10s %10s\n' round file "nginx MiB/s" "mirror MiB/s" ratio "nginx CPU" "mirror CPU"
for r in $(seq 1 "$ROUNDS"); do
  for f in "${FILES[@]}"; do
    read -r n nc < <(measure http://127.0.0.1:$NP/$f "$NGINX")
    read -r m mc < <(measure http://127.0.0.1:$MP/$f "$MIRROR")
    ratio=$(echo "$m / $n" | bc -l)
    printf '%-6s %-16s %12.0f %12.0f %7.2f %10.3f %10.3f\n' "$r" "$f" "$n" "$m" "$ratio" "$nc" "$mc"
    echo "$f $n $m $ratio $nc $mc" >> "$W/rounds"
  done
done
for f in "${FILES[@]}"; do
  col() { awk -v f="$f" -v c="$1" '$1==f {print $c}' "$W/rounds" | median; }
  printf '%-6s %-16s %12.0f %12.0f %7.2f %10.3f %10.3f\n' median "$f" "$(col 2)" "$(col 3)" "$(col 4)" "$(col 5)" "$(col 6)"
done
