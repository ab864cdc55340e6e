#!/usr/bin/env bash
# Redirect throughput in one run, same machine: nginx `return 302`, a bare Kestrel MapGet redirect,
# and the redirector (1,000 mirrors in Redis, a 1,000-file signed manifest, synthetic City/ASN
# databases, random client addresses over many countries via X-Forwarded-For). Prints requests/s,
# p99 latency and the ratios; then the redirector's RSS with 10,000 mirrors and 100,000 files.
#
#   bench/redirect.sh [duration, default 15s] [connections, default 64]
#   RSS_ONLY=1 bench/redirect.sh      (memory and Redis-command parts only)
#   REDIS_ONLY=1 bench/redirect.sh    (Redis commands per refresh round only)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:-15s}
conns=${2:-64}
work=$(mktemp -d /tmp/dl-bench.XXXXXX)
pids=()
cleanup() {
  # Stop in reverse order of start, so Redis goes last.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { # url, what
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "timed out waiting for $2 ($1)" >&2; exit 1
}

echo "building (Release)…"
dotnet build -c Release -v q -nologo "$root/bench/Downloads.Bench" >/dev/null
bench=(dotnet "$root/bench/Downloads.Bench/bin/Release/net10.0/Downloads.Bench.dll")
# As deployed (ansible redirector role, run.sh): a 4 MiB gen-0 budget. DOTNET_GCgen0size= (empty) for the runtime default.
redirector=(env "DOTNET_GCgen0size=${DOTNET_GCgen0size-0x400000}" dotnet "$root/redirector/bin/Release/net10.0/Downloads.Redirector.dll")

redis_port=$(free_port); origin_port=$(free_port); nginx_port=$(free_port); bare_port=$(free_port); redir_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
pids+=($!)
"${bench[@]}" geo "$work/geo" 20000
"${bench[@]}" seed "127.0.0.1:$redis_port" 1000

"${bench[@]}" origin "$origin_port" 1000 "$work/key" &
pids+=($!)
wait_http "http://127.0.0.1:$origin_port/-/manifest.json" origin

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
"${bench[@]}" report "127.0.0.1:$redis_port" 1000 2 &
reporter_pid=$!
pids+=($reporter_pid)

# Health checks off: the seeded mirrors are names, not HTTP servers. With them on, the first round (at
# start, then every 30 s) fails every probe — 1,000 lookups and refused connections — and excludes every
# mirror, after which each "redirect" measured would be the cheap fallback to the origin.
start_redirector() { # extra redirector arguments, e.g. --RateLimit:Enabled=false
  "${redirector[@]}" --Health:Enabled=${BENCH_HEALTH:-false} "$@" --urls="http://127.0.0.1:$redir_port" --Redis:Configuration="127.0.0.1:$redis_port" \
    --Redirector:Origin="http://127.0.0.1:$origin_port" --Redirector:PublicKey="$(cat "$work/key")" \
    --Geo:CityDatabase="$work/geo/City.mmdb" --Geo:AsnDatabase="$work/geo/ASN.mmdb" >>"$work/redirector.log" 2>&1 &
  redir_pid=$!
  pids+=($redir_pid)
  wait_http "http://127.0.0.1:$redir_port/-/health" redirector
}
start_redirector
wait_http "http://127.0.0.1:$nginx_port/x" nginx
wait_http "http://127.0.0.1:$bare_port/x" "bare Kestrel"
curl -fsS -o /dev/null -w "sample redirect: %{http_code} %{redirect_url}\n" -H 'X-Forwarded-For: 81.2.69.142' "http://127.0.0.1:$redir_port/noobs/file-000000.img"

run_wrk() { # name url → "rps p99ms"
  wrk -t1 -c"$conns" -d5s -s "$work/geo/clients.lua" "$2" >/dev/null 2>&1 # warm-up (JIT tiers, caches)
  local out; out=$(wrk -t1 -c"$conns" -d"$duration" --latency -s "$work/geo/clients.lua" "$2")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local p99; p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  local non3xx; non3xx=$(awk '/Non-2xx or 3xx/ {print $5}' <<<"$out")
  printf '%-28s %10.0f req/s   p99 %7.2f ms%s\n' "$1" "$rps" "$p99" "${non3xx:+   (non-2xx/3xx: $non3xx)}" >&2
  echo "$rps $p99"
}

if [[ -z "${RSS_ONLY:-}" && -z "${REDIS_ONLY:-}" ]]; then
echo "wrk -t1 -c$conns -d$duration, random client addresses from 20,000 synthetic networks:" >&2
read -r nginx_rps nginx_p99 < <(run_wrk "nginx return 302" "http://127.0.0.1:$nginx_port/")
read -r bare_rps bare_p99 < <(run_wrk "bare Kestrel MapGet 302" "http://127.0.0.1:$bare_port/")
read -r redir_rps redir_p99 < <(run_wrk "redirector (1,000 mirrors)" "http://127.0.0.1:$redir_port/")
awk -v r="$redir_rps" -v b="$bare_rps" -v n="$nginx_rps" 'BEGIN { printf "ratios: redirector/bare Kestrel %.2f (goal >= 0.8), redirector/nginx %.2f (goal >= 0.5)\n", r/b, r/n }'

# Overload protection: the same load with the per-client rate limit off, then far past saturation
# (16x the connections) with it on — throughput should stay flat, not fall off a cliff.
kill "$redir_pid"; wait "$redir_pid" 2>/dev/null || true
start_redirector --RateLimit:Enabled=false
read -r nolimit_rps _ < <(run_wrk "redirector, rate limit off" "http://127.0.0.1:$redir_port/")
kill "$redir_pid"; wait "$redir_pid" 2>/dev/null || true
start_redirector
conns_saved=$conns; conns=$((conns * 16))
read -r sat_rps _ < <(run_wrk "redirector, ${conns} connections" "http://127.0.0.1:$redir_port/")
read -r bare_sat_rps _ < <(run_wrk "bare Kestrel, ${conns} connections" "http://127.0.0.1:$bare_port/")
conns=$conns_saved
awk -v on="$redir_rps" -v off="$nolimit_rps" -v sat="$sat_rps" -v b="$bare_rps" -v bs="$bare_sat_rps" 'BEGIN { printf "rate limit cost: %.1f%% of requests/s; %dx connections: redirector %.2f, bare Kestrel %.2f of their throughput at %s\n", (off-on)*100/off, 16, sat/on, bs/b, "'"$conns"'" }'
fi

# Memory: 10,000 mirrors and 100,000 files.
kill "$redir_pid"; wait "$redir_pid" 2>/dev/null || true
kill "$reporter_pid"; wait "$reporter_pid" 2>/dev/null || true
redis-cli -p "$redis_port" flushall >/dev/null
"${bench[@]}" seed "127.0.0.1:$redis_port" 10000
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
"${bench[@]}" origin "$origin_port" 100000 "$work/key" &
pids+=($!)
wait_http "http://127.0.0.1:$origin_port/-/manifest.json" origin
wait_loaded() {
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$redir_port/-/health" | grep -q '"files":100000,"mirrors":10000'; then return 0; fi
    sleep 0.5
  done
  echo "redirector did not load 10,000 mirrors and 100,000 files" >&2; exit 1
}
if [[ -z "${REDIS_ONLY:-}" ]]; then
start_redirector
wait_loaded
curl -fsS "http://127.0.0.1:$redir_port/-/health"; echo
wrk -t1 -c"$conns" -d5s -s "$work/geo/clients.lua" "http://127.0.0.1:$redir_port/" >/dev/null
sleep 10 # several refresh rounds of the 10,000-mirror table
curl -fsS "http://127.0.0.1:$redir_port/-/health"; echo
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$redir_pid/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$redir_pid/status")
printf 'redirector RSS with 10,000 mirrors and 100,000 files: %.0f MB (peak %.0f MB; goal < 200 MB)\n' "$(echo "$rss_kb/1024" | bc -l)" "$(echo "$hwm_kb/1024" | bc -l)"
kill "$redir_pid"; wait "$redir_pid" 2>/dev/null || true
fi

# Redis commands the mirror refresh costs with 10,000 mirrors: INFO commandstats over 20 s (10 rounds of
# the default 2 s), health checks off so only the refresher talks to Redis. A round is counted by its
# one SCARD (two-speed refresh) or, failing that, its SMEMBERS (full reload every round).
start_redirector --Health:Enabled=false
wait_loaded
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
    printf "Redis over %.1f s: %d refresh rounds, %d commands (%.0f/s), %.0f ms of command time\n", ms/1000, rounds, total, total*1000/ms, totalus/1000
    for (n in calls) printf "  %-10s %8d calls  %7.0f per round  %6.1f ms/round\n", n, calls[n], calls[n]/rounds, usec[n]/rounds/1000
    printf "per round: %.0f commands, %.1f ms of Redis command time\n", total/rounds, totalus/rounds/1000
  }' <<<"$stats"
awk -v a="$cpu0" -v b="$cpu1" -v ms="$elapsed" 'BEGIN { printf "redis-server CPU (user+sys) over the window: %.2f s = %.1f%% of one core\n", b-a, (b-a)*100000/ms }'
