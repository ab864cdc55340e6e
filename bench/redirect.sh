#!/usr/bin/env bash
# Redirect throughput as shipped, in one run on one machine: nginx `return 302`, a bare Kestrel MapGet
# redirect, and the redirector started exactly as ./run.sh starts it (same launcher, environment and
# settings; working directory the repository root; output to a log file) with 10,000 mirrors in Redis,
# a 100,000-file signed manifest and GeoLite2-scale City/ASN databases (generated, ~74 + 11 MB).
# Three client mixes, all via X-Forwarded-For from 127.0.0.1 (trusted, as in run.sh):
#   uniform  a uniformly random public IPv4 address per request (the worst case for any cache)
#   mix      3,000 networks of the database, a few busy ones and a long tail, IPv4 and IPv6
#   close    uniform, and a new TCP connection per request (download tools make one redirect each)
# Prints requests/s, p99 and the ratios per mix, and the bytes the redirector allocated per redirect (its
# dotnet_gc_heap_total_allocated_bytes_total over the measured run); bytes the redirector wrote per redirect; the CPU of a
# real origin and mirror (started as run.sh starts them) while the redirector is saturated; then the
# redirector's RSS (steady, peak, and peak over a geo database reload) and Redis commands per refresh.
#
#   bench/redirect.sh [duration, default 10s] [connections, default 64]
#   MIXES="uniform" bench/redirect.sh     only some mixes
#   SATURATION=1 bench/redirect.sh        also: rate limit off vs on, and 16x the connections
#   RSS_ONLY=1 / REDIS_ONLY=1             memory / Redis-command parts only (RSS_DETAIL=1: where it is)
#   PROFILE=out.txt bench/redirect.sh     profile only: perf samples of the redirector under the uniform mix
#                                         (adds DOTNET_PerfMapEnabled=1 DOTNET_ReadyToRun=0 DOTNET_EnableWriteXorExecute=0 so perf can name all managed code;
#                                         its figures are not results)
#
# The one flag the redirector gets that run.sh does not pass: --Health:Enabled=false, because the 10,000
# seeded mirrors are names, not servers (with probes on, the first round excludes every one of them and
# each "redirect" measured would be the cheap fallback to the origin).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:-10s}
conns=${2:-64}
mixes=${MIXES:-uniform mix close}
work=$(mktemp -d /tmp/dl-bench.XXXXXX)
pids=()
cleanup() {
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { # url, what
  for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "timed out waiting for $2 ($1)" >&2; exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
file_size() { stat -c %s "$1"; }

echo "building (Release, as run.sh)…" >&2
dotnet build "$root/Downloads.sln" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
dotnet build "$root/bench/Downloads.Bench" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
bench=(dotnet "$root/bench/Downloads.Bench/bin/Release/net10.0/Downloads.Bench.dll")
ORIGIN=$root/origin/bin/Release/net10.0/Downloads.Origin.dll
MIRROR=$root/mirror/bin/Release/net10.0/Downloads.Mirror.dll
REDIRECTOR=$root/redirector/bin/Release/net10.0/Downloads.Redirector.dll

# GeoLite2-scale databases, generated once per version of the generator (~30 s) and kept between runs.
geo_cache=${DOWNLOADS_BENCH_GEO:-/tmp/downloads-bench-geo}
geo_stamp=$(cat "$root"/tools/geodata/*.cs "$root/bench/Downloads.Bench/Program.cs" | sha256sum | cut -c1-16)
if [ ! -f "$geo_cache/$geo_stamp" ]; then
  rm -rf "$geo_cache"
  "${bench[@]}" geo "$geo_cache" >&2
  touch "$geo_cache/$geo_stamp"
fi
mkdir -p "$work/geo" "$work/logs"
cp "$geo_cache"/*.mmdb "$geo_cache"/*.lua "$work/geo/"
logs=$work/logs

redis_port=$(free_port); stand_in_port=$(free_port); nginx_port=$(free_port); bare_port=$(free_port)
redir_port=$(free_port); origin_port=$(free_port); mirror_port=$(free_port)
redis=127.0.0.1:$redis_port
admin_token=bench-admin-token
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --maxmemory 256mb --maxmemory-policy noeviction --dir "$work" >/dev/null &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
"${bench[@]}" seed "$redis" 10000 >&2

# The redirector's origin: a stand-in serving a signed manifest of 100,000 files (no bodies).
"${bench[@]}" origin "$stand_in_port" 100000 "$work/key" &
pids+=($!)
wait_http "http://127.0.0.1:$stand_in_port/-/manifest.json" "stand-in origin"

cat > "$work/nginx.conf" <<NGINX
daemon off;
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$nginx_port; location / { return 302 http://mirror.example\$request_uri; } }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
"${bench[@]}" bare "$bare_port" &
pids+=($!)

# The seeded mirrors report every 2 s like real ones, so the redirector's estimate of its own redirects
# is settled by reports as in production (without reports every mirror soon looks full to it).
"${bench[@]}" report "$redis" 10000 2 &
pids+=($!)

# The redirector, as run.sh starts it (cd to the repository root, env DOTNET_GCgen0size, these settings).
start_redirector() { # extra arguments for comparisons only (e.g. --RateLimit:Enabled=false)
  (cd "$root" && exec env DOTNET_GCgen0size=0x400000 ${PROFILE:+DOTNET_PerfMapEnabled=1 DOTNET_ReadyToRun=0 DOTNET_EnableWriteXorExecute=0} dotnet "$REDIRECTOR" --urls "http://127.0.0.1:$redir_port" \
    --Redis:Configuration="$redis" --Redirector:Origin="http://127.0.0.1:$stand_in_port" --Redirector:PublicKey="$(cat "$work/key")" \
    --Geo:CityDatabase="$work/geo/City.mmdb" --Geo:AsnDatabase="$work/geo/ASN.mmdb" --Admin:Token="$admin_token" \
    --Redirector:StateDir="$work/redirector-state" --Health:Enabled=false "$@") >>"$logs/redirector.log" 2>&1 &
  redir_pid=$!
  pids+=($redir_pid)
  wait_http "http://127.0.0.1:$redir_port/-/health" redirector
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$redir_port/-/health" | grep -q '"files":100000,"mirrors":100[0-9][0-9]' && return 0
    sleep 0.2
  done
  echo "redirector did not load 10,000 mirrors and 100,000 files" >&2; exit 1
}
start_redirector

# A real origin and mirror, started as run.sh starts them, to see what they cost while the redirector works.
(cd "$root" && dotnet "$ORIGIN" keygen --out "$work/origin.key" >/dev/null && dotnet "$ORIGIN" sample --root "$work/files" --scale tiny >/dev/null)
(cd "$root" && exec dotnet "$ORIGIN" --urls "http://127.0.0.1:$origin_port" --Origin:Root="$work/files" --Origin:StateDir="$work/origin-state" \
  --Origin:PrivateKeyFile="$work/origin.key" --Redis:Configuration="$redis") >"$logs/origin.log" 2>&1 &
origin_pid=$!; pids+=($origin_pid)
wait_http "http://127.0.0.1:$origin_port/-/manifest.json" origin
api() { curl -fsS -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' "$@"; }
token=$(api -X POST "http://127.0.0.1:$redir_port/-/api/tokens" -d "{}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
(cd "$root" && exec dotnet "$MIRROR" --urls "http://127.0.0.1:$mirror_port" \
  --Mirror:Id=bench-real --Mirror:Name=Cambridge --Mirror:DataDir="$work/mirror" \
  --Mirror:Upstream="http://127.0.0.1:$origin_port" --Mirror:PublicKey="$(cat "$work/origin.key.pub")" \
  --Mirror:HttpUrl="http://127.0.0.1:$mirror_port" --Mirror:Sets=noobs,os,rachel \
  --Mirror:Latitude=52.2053 --Mirror:Longitude=0.1218 --Mirror:Country=GB --Mirror:Continent=EU \
  --Mirror:CapacityMbps=1000 --Mirror:QuotaTB=5 \
  --Enrollment:Token="$token" --Enrollment:Redirector="http://127.0.0.1:$redir_port" \
  --Redis:Configuration="$redis") >"$logs/mirror.log" 2>&1 &
mirror_pid=$!; pids+=($mirror_pid)
wait_http "http://127.0.0.1:$mirror_port/-/health" mirror
for _ in $(seq 1 50); do api -X POST "http://127.0.0.1:$redir_port/-/api/mirrors/bench-real/approve" >/dev/null 2>&1 && break; sleep 0.2; done
wait_http "http://127.0.0.1:$nginx_port/x" nginx
wait_http "http://127.0.0.1:$bare_port/x" "bare Kestrel"
sleep 5 # the real mirror's first sync and report settle
curl -fsS -o /dev/null -w "sample redirect: %{http_code} %{redirect_url}\n" -H 'X-Forwarded-For: 81.2.69.142' \
  "http://127.0.0.1:$redir_port/noobs/file-000000.img" >&2

# Bytes the redirector's managed heap has allocated since it started (its own /-/metrics, read off the request path).
# (the bare Kestrel reference answers the same figure at /-/allocated).
allocated() { # redirector|bare
  if [[ $1 == bare ]]; then curl -fsS "http://127.0.0.1:$bare_port/-/allocated"; return; fi
  curl -fsS "http://127.0.0.1:$redir_port/-/metrics" | awk '$1=="dotnet_gc_heap_total_allocated_bytes_total" {printf "%.0f", $2}'
}
run_wrk() { # name url mix [redirector|bare: also bytes allocated] → "rps p99ms requests [bytes allocated per request]"
  wrk -t1 -c"$conns" -d3s -s "$work/geo/$3.lua" "$2" >/dev/null 2>&1 # warm-up (JIT tiers, caches)
  local a0=; [[ -n "${4:-}" ]] && a0=$(allocated "$4")
  local out; out=$(wrk -t1 -c"$conns" -d"$duration" --latency -s "$work/geo/$3.lua" "$2")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local total; total=$(awk '/requests in/ {print $1}' <<<"$out")
  local p99; p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  local bad; bad=$(awk '/Non-2xx or 3xx/ {print $5}' <<<"$out")
  local per=
  if [[ -n "$a0" ]]; then local a1; a1=$(allocated "$4"); per=$(awk -v d="$((a1 - a0))" -v n="$total" 'BEGIN {printf "%.0f", d/n}'); fi
  printf '  %-26s %9.0f req/s   p99 %7.2f ms%s%s\n' "$1" "$rps" "$p99" "${per:+   $per B allocated per request}" "${bad:+   (non-2xx/3xx: $bad)}" >&2
  echo "$rps $p99 $total $per"
}

if [[ -n "${PROFILE:-}" ]]; then
  wrk -t1 -c"$conns" -d5s -s "$work/geo/uniform.lua" "http://127.0.0.1:$redir_port/" >/dev/null # warm-up
  wrk -t1 -c"$conns" -d"$duration" -s "$work/geo/uniform.lua" "http://127.0.0.1:$redir_port/" >"$work/wrk.txt" &
  wrk_pid=$!
  sleep 1
  perf record -F 499 -g -p "$redir_pid" -o "$work/perf.data" -- sleep 5 >/dev/null 2>&1
  wait "$wrk_pid"
  grep 'Requests/sec' "$work/wrk.txt" >&2
  perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -v '^$' >"$PROFILE"
  perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v '^$' >"$PROFILE.children"
  echo "profile written to $PROFILE and $PROFILE.children" >&2
  exit 0
fi

if [[ -z "${RSS_ONLY:-}" && -z "${REDIS_ONLY:-}" ]]; then
  redir_requests=0; redir_seconds=0
  log0=$(file_size "$logs/redirector.log"); olog0=$(file_size "$logs/origin.log"); mlog0=$(file_size "$logs/mirror.log")
  for mix in $mixes; do
    echo "$mix clients, wrk -t1 -c$conns -d$duration:" >&2
    read -r nginx_rps nginx_p99 _ < <(run_wrk "nginx return 302" "http://127.0.0.1:$nginx_port/" "$mix")
    read -r bare_rps bare_p99 _ bare_alloc < <(run_wrk "bare Kestrel MapGet 302" "http://127.0.0.1:$bare_port/" "$mix" bare)
    o0=$(cpu_ticks "$origin_pid"); m0=$(cpu_ticks "$mirror_pid"); t0=$(date +%s%N)
    read -r redir_rps redir_p99 redir_total redir_alloc < <(run_wrk "redirector" "http://127.0.0.1:$redir_port/" "$mix" redirector)
    o1=$(cpu_ticks "$origin_pid"); m1=$(cpu_ticks "$mirror_pid"); t1=$(date +%s%N)
    redir_requests=$((redir_requests + redir_total))
    awk -v r="$redir_rps" -v b="$bare_rps" -v n="$nginx_rps" -v p="$redir_p99" -v al="${redir_alloc:-0}" -v bal="${bare_alloc:-0}" -v mix="$mix" \
      -v o="$((o1 - o0))" -v m="$((m1 - m0))" -v ns="$((t1 - t0))" 'BEGIN {
      printf "%s: redirector/bare Kestrel %.2f (goal >= 0.8), redirector/nginx %.2f (goal >= 0.5), p99 %.2f ms (goal < 5); allocated per redirect %d B (bare Kestrel %d B)\n", mix, r/b, r/n, p, al, bal
      printf "%s: while the redirector was saturated: origin %.1f%%, mirror %.1f%% of a core (goal < 2%%)\n", mix, o*1e9/ns, m*1e9/ns }'
  done
  log1=$(file_size "$logs/redirector.log"); olog1=$(file_size "$logs/origin.log"); mlog1=$(file_size "$logs/mirror.log")
  awk -v d="$((log1 - log0))" -v n="$redir_requests" -v o="$((olog1 - olog0))" -v m="$((mlog1 - mlog0))" 'BEGIN {
    printf "log bytes written during the load: redirector %d over %d requests (%.3f bytes per redirect; goal 0), origin %d, mirror %d\n", d, n, d/n, o, m }'

  if [[ -n "${SATURATION:-}" ]]; then
    # Overload protection: the same load with the per-client rate limit off, then 16x the connections with it on.
    kill "$redir_pid"; wait "$redir_pid" 2>/dev/null || true
    start_redirector --RateLimit:Enabled=false
    read -r nolimit_rps _ _ < <(run_wrk "redirector, rate limit off" "http://127.0.0.1:$redir_port/" uniform)
    kill "$redir_pid"; wait "$redir_pid" 2>/dev/null || true
    start_redirector
    read -r on_rps _ _ < <(run_wrk "redirector, rate limit on" "http://127.0.0.1:$redir_port/" uniform)
    conns_saved=$conns; conns=$((conns * 16))
    read -r sat_rps _ _ < <(run_wrk "redirector, ${conns} connections" "http://127.0.0.1:$redir_port/" uniform)
    read -r bare_sat_rps _ _ < <(run_wrk "bare Kestrel, ${conns} connections" "http://127.0.0.1:$bare_port/" uniform)
    read -r bare_rps _ _ < <(run_wrk "bare Kestrel, ${conns_saved} connections" "http://127.0.0.1:$bare_port/" uniform)
    conns=$conns_saved
    awk -v on="$on_rps" -v off="$nolimit_rps" -v sat="$sat_rps" -v b="$bare_rps" -v bs="$bare_sat_rps" 'BEGIN {
      printf "rate limit cost: %.1f%% of requests/s; 16x connections: redirector %.2f, bare Kestrel %.2f of their throughput\n", (off-on)*100/off, sat/on, bs/b }'
  fi
fi

if [[ -z "${REDIS_ONLY:-}" ]]; then
  wrk -t1 -c"$conns" -d5s -s "$work/geo/uniform.lua" "http://127.0.0.1:$redir_port/" >/dev/null
  sleep 10 # several refresh rounds of the 10,000-mirror table
  geo_mb=$(( ($(file_size "$work/geo/City.mmdb") + $(file_size "$work/geo/ASN.mmdb")) / 1000000 ))
  rss() { awk -v k="$1" '$1==k":" {printf "%.0f", $2/1024}' "/proc/$redir_pid/status"; }
  printf 'redirector RSS, 10,000 mirrors, 100,000 files, GeoLite2-scale geo (%d MB of files): %s MB steady, %s MB peak since start\n' \
    "$geo_mb" "$(rss VmRSS)" "$(rss VmHWM)"
  detail() { # RSS_DETAIL=1: where the resident memory is (GC heap per the health page, largest mappings)
    [ -n "${RSS_DETAIL:-}" ] || return 0
    curl -fsS "http://127.0.0.1:$redir_port/-/health" | grep -o '"gcHeapMB":[0-9]*' >&2
    grep -E '^(Rss|Anonymous|Private_Dirty)' "/proc/$redir_pid/smaps_rollup" | tr -s ' ' | tr '\n' ';' >&2; echo >&2
    pmap -x "$redir_pid" | sort -k3 -n -r | head -8 >&2 || true
  }
  detail
  # A geo update arrives by rename, as geoipupdate writes it; the redirector checks once a minute.
  cp "$work/geo/City.mmdb" "$work/geo/City.mmdb.new" && touch "$work/geo/City.mmdb.new" && mv "$work/geo/City.mmdb.new" "$work/geo/City.mmdb"
  loaded0=$(grep -c 'City.mmdb loaded' "$logs/redirector.log" || true)
  ( while kill -0 "$redir_pid" 2>/dev/null; do echo "$(date +%s.%N | cut -c1-14) $(awk '/VmRSS/ {print $2}' /proc/$redir_pid/status)"; sleep 0.05; done ) >"$work/rss-trace" 2>/dev/null &
  tracer=$!
  for _ in $(seq 1 160); do
    [ "$(grep -c 'City.mmdb loaded' "$logs/redirector.log" || true)" -gt "$loaded0" ] && break
    sleep 0.5
  done
  wrk -t1 -c"$conns" -d5s -s "$work/geo/uniform.lua" "http://127.0.0.1:$redir_port/" >/dev/null
  sleep 5
  kill "$tracer" 2>/dev/null || true
  [ -n "${RSS_TRACE:-}" ] && sort -k2 -n "$work/rss-trace" | tail -3 >&2 && awk '{print $2}' "$work/rss-trace" | awk '{printf "%d\n", $1/1024}' | uniq | tr '\n' ' ' >&2
  printf 'after a City database reload: %s MB steady, %s MB peak since start (goal: peak < 250 MB + %d MB of geo files)\n' \
    "$(rss VmRSS)" "$(rss VmHWM)" "$geo_mb"
  detail
fi

# Redis commands the mirror refresh costs with 10,000 mirrors: INFO commandstats over 20 s (10 rounds of
# the default 2 s). A round is counted by its one SCARD (two-speed refresh) or its SMEMBERS (full reload).
kill "$redir_pid"; wait "$redir_pid" 2>/dev/null || true
kill "$mirror_pid" "$origin_pid"; wait "$mirror_pid" "$origin_pid" 2>/dev/null || true
start_redirector
sleep 3
redis_cpu() { redis-cli -p "$redis_port" info cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ {s+=$2} END {print s}'; }
redis-cli -p "$redis_port" config resetstat >/dev/null
cpu0=$(redis_cpu)
start_ns=$(date +%s%N)
sleep 20
stats=$(redis-cli -p "$redis_port" info commandstats | tr -d '\r')
cpu1=$(redis_cpu)
elapsed=$(( ($(date +%s%N) - start_ns) / 1000000 ))
awk -F'[:,=]' -v ms="$elapsed" '
  /^cmdstat_/ { name=substr($1, 9); if (name ~ /^(info|config)/) next; calls[name]=$3; usec[name]=$5; total+=$3; totalus+=$5 }
  END {
    rounds = ("scard" in calls) ? calls["scard"] : calls["smembers"]
    if (rounds == 0) { print "no refresh rounds seen"; exit 1 }
    printf "Redis over %.1f s (the seeded mirrors report meanwhile): %d refresh rounds, %d commands (%.0f/s)\n", ms/1000, rounds, total, total*1000/ms
    for (n in calls) printf "  %-10s %8d calls  %7.0f per round  %6.1f ms/round\n", n, calls[n], calls[n]/rounds, usec[n]/rounds/1000
  }' <<<"$stats"
awk -v a="$cpu0" -v b="$cpu1" -v ms="$elapsed" 'BEGIN { printf "redis-server CPU (user+sys) over the window: %.2f s = %.1f%% of one core\n", b-a, (b-a)*100000/ms }'
