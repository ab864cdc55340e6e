#!/usr/bin/env bash
# bench/quiet.sh [BUILD=.] [LABEL=this]: the production defaults as run.sh runs the services.
# Starts redis-server, the origin (tiny sample), the redirector and one enrolled mirror with run.sh's
# command lines, from a scratch "repository root" as working directory with the output appended to
# .run/logs/<service>.log, then reports:
#   - log bytes per redirect under wrk (-t1 -c16, 10 s) and over 10,000 curl redirects, per file GET
#     on the mirror and on the origin (1,000 each);
#   - inotify watches held by each service;
#   - CPU of each idle service over 20 s while a writer appends log-like lines under the working
#     directory (the mirror's ".NET File Watch" thread separately).
# BUILD holds {origin,mirror,redirector}/bin/Release/net10.0 (a checkout built with -c Release), so two
# builds can be compared in alternating rounds (bench/README.md, "Logs and file watching").
# Needs redis-server, curl, wrk; ports 16390, 18000, 18001, 18080 on 127.0.0.1.
set -euo pipefail
build=$(cd "${1:-$(dirname "$0")/..}" && pwd); label=${2:-this}
bin() { echo "$build/$1/bin/Release/net10.0/$2.dll"; }
ORIGIN=$(bin origin Downloads.Origin); MIRROR=$(bin mirror Downloads.Mirror); REDIRECTOR=$(bin redirector Downloads.Redirector)
root=$(mktemp -d /tmp/dl-quiet-XXXXXX)
logs=$root/.run/logs; state=$root/.run
mkdir -p "$logs"; cd "$root"
R=16390 O=18000 D=18080 M=18001
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "quiet.sh: $1 did not answer" >&2; return 1; }
size() { stat -c %s "$1"; }
per() { awk "BEGIN{printf \"%.1f\", $1/$2}"; }

redis-server --port $R --bind 127.0.0.1 --save "" --appendonly no --maxmemory 256mb --maxmemory-policy noeviction >"$logs/redis.log" 2>&1 & pids+=($!)
mkdir -p "$state/origin"
dotnet "$ORIGIN" keygen --out "$state/origin/signing.key" >/dev/null
pub=$(cat "$state/origin/signing.key.pub")
dotnet "$ORIGIN" sample --root "$state/origin/files" --scale tiny >/dev/null
dotnet "$ORIGIN" --urls http://127.0.0.1:$O --Origin:Root="$state/origin/files" --Origin:StateDir="$state/origin/state" \
  --Origin:PrivateKeyFile="$state/origin/signing.key" --Redis:Configuration=127.0.0.1:$R >"$logs/origin.log" 2>&1 & opid=$!; pids+=($opid)
wait_http http://127.0.0.1:$O/-/manifest.json
env DOTNET_GCgen0size=0x400000 dotnet "$REDIRECTOR" --urls http://127.0.0.1:$D --Redis:Configuration=127.0.0.1:$R \
  --Redirector:Origin=http://127.0.0.1:$O --Redirector:PublicKey="$pub" --Geo:UseSampleDatabases=true --Admin:Token=tok \
  >"$logs/redirector.log" 2>&1 & dpid=$!; pids+=($dpid)
wait_http http://127.0.0.1:$D/-/health
api() { curl -fsS -H "Authorization: Bearer tok" -H 'Content-Type: application/json' "$@"; }
token=$(api -X POST http://127.0.0.1:$D/-/api/tokens -d '{}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
dotnet "$MIRROR" --urls http://127.0.0.1:$M --Mirror:Id=uk-cam --Mirror:Name=Cambridge --Mirror:DataDir="$state/mirrors/uk-cam" \
  --Mirror:Upstream=http://127.0.0.1:$O --Mirror:PublicKey="$pub" --Mirror:HttpUrl=http://127.0.0.1:$M --Mirror:Sets=noobs,os,rachel \
  --Mirror:Latitude=52.2053 --Mirror:Longitude=0.1218 --Mirror:Country=GB --Mirror:Continent=EU --Mirror:CapacityMbps=1000 --Mirror:QuotaTB=5 \
  --Enrollment:Token="$token" --Enrollment:Redirector=http://127.0.0.1:$D --Redis:Configuration=127.0.0.1:$R \
  >"$logs/uk-cam.log" 2>&1 & mpid=$!; pids+=($mpid)
wait_http http://127.0.0.1:$M/-/health
for _ in $(seq 1 50); do api -X POST http://127.0.0.1:$D/-/api/mirrors/uk-cam/approve >/dev/null 2>&1 && break; sleep 0.2; done
sample=$(curl -fsS http://127.0.0.1:$O/-/manifest.json | grep -o '"path":"noobs/[^"]*"' | head -1 | cut -d'"' -f4)
for _ in $(seq 1 300); do
  loc=$(curl -s -o /dev/null -w '%{redirect_url}' -H 'X-Forwarded-For: 81.2.69.142' "http://127.0.0.1:$D/$sample")
  case $loc in *:$M/*) break ;; esac; sleep 0.2
done
echo "[$label] a London client is sent to $loc"
sleep 3

watches() { local n=0 f; for f in /proc/$1/fdinfo/*; do n=$((n + $(grep -c '^inotify wd:' "$f" 2>/dev/null || true))); done; echo $n; }
echo "[$label] inotify watches: origin $(watches $opid), redirector $(watches $dpid), mirror $(watches $mpid)"

echo 'wrk.headers["X-Forwarded-For"] = "81.2.69.142"' >"$root/xff.lua"
b0=$(size "$logs/redirector.log")
out=$(wrk -t1 -c16 -d10s -s "$root/xff.lua" "http://127.0.0.1:$D/$sample")
n=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p'); rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
sleep 1; b1=$(size "$logs/redirector.log")
echo "[$label] redirector: $n redirects (wrk, $rps req/s), log +$((b1 - b0)) bytes = $(per $((b1 - b0)) "$n") bytes/redirect"
requests() { # count url -> a curl config
  seq 1 "$1" | sed "s|.*|url = \"$2\"\noutput = \"/dev/null\"|" >"$root/curl.cfg"; }
b0=$(size "$logs/redirector.log")
requests 10000 "http://127.0.0.1:$D/$sample"
curl -sS --no-progress-meter -Z --parallel-max 8 -H 'X-Forwarded-For: 81.2.69.142' -K "$root/curl.cfg"
sleep 1; b1=$(size "$logs/redirector.log")
echo "[$label] redirector: 10000 redirects (curl), log +$((b1 - b0)) bytes = $(per $((b1 - b0)) 10000) bytes/redirect"
for t in "mirror $M uk-cam" "origin $O origin"; do
  read -r name port log <<<"$t"
  b0=$(size "$logs/$log.log")
  requests 1000 "http://127.0.0.1:$port/$sample"
  curl -sS --no-progress-meter -Z --parallel-max 8 -K "$root/curl.cfg"
  sleep 1; b1=$(size "$logs/$log.log")
  echo "[$label] $name: 1000 file GETs, log +$((b1 - b0)) bytes = $(per $((b1 - b0)) 1000) bytes/GET"
done

# CPU time of idle services while a writer appends log-like lines under their working directory, as
# the redirector's log did under load with run.sh. Fields after the last ')' of stat: thread names have spaces.
ticks() { sed 's/.*) //' "$1" | awk '{print $12 + $13}'; }
watch_ticks() { local t s=0; for t in /proc/$1/task/*; do case $(cat "$t/comm") in *Watch*) s=$((s + $(ticks "$t/stat")));; esac; done; echo $s; }
hz=$(getconf CLK_TCK)
sleep 2
m0=$(ticks /proc/$mpid/stat); o0=$(ticks /proc/$opid/stat); d0=$(ticks /proc/$dpid/stat); w0=$(watch_ticks $mpid); s=$(date +%s.%N)
n=$(nice -n 10 bash -c 'exec 3>>"$1"; end=$((SECONDS + 20)); n=0
  while [ $SECONDS -lt $end ]; do
    for k in 1 2 3 4 5 6 7 8 9 10; do printf "%s\n" "info: Microsoft.AspNetCore.Routing.EndpointMiddleware[1] Executed endpoint HTTP: GET /{**path} $n" >&3; done
    n=$((n + 10))
  done; echo $n' _ "$logs/writer.log")
m1=$(ticks /proc/$mpid/stat); o1=$(ticks /proc/$opid/stat); d1=$(ticks /proc/$dpid/stat); w1=$(watch_ticks $mpid); e=$(date +%s.%N)
pct() { awk "BEGIN{printf \"%.1f\", 100*($2-$1)/$hz/($e-$s)}"; }
echo "[$label] idle CPU while $n lines were appended under the working directory ($(awk "BEGIN{printf \"%.1f\", $e-$s}") s):" \
  "mirror $(pct "$m0" "$m1")% of a core (.NET File Watch thread $(pct "$w0" "$w1")%), origin $(pct "$o0" "$o1")%, redirector $(pct "$d0" "$d1")%"
