#!/usr/bin/env bash
# Real run of the Ansible roles on this machine: builds the release archives, checks syntax and
# ansible-lint (production profile), applies site.yml with inventories/local (every service on
# 127.0.0.1:9xxx under a scratch prefix, started without systemd), proves the network works
# (a redirect from a deployed redirector to a deployed mirror, a verified download, the tier-2
# mirror synced through its tier-1 upstream; Redis and Sentinel only over TLS with the roles' private CA;
# Sentinel refuses commands without a password), applies site.yml again and requires changed=0,
# fails Redis over with Sentinel (as the admin user), changes one setting (only that service restarts; Ansible keeps
# Sentinel's topology), then stops everything it started.
#
# One line per check: "ok: …" or "FAIL: …"; last line "ansible: N passed, M failed"; exit 1 on a failure.
#   DOWNLOADS_PREFIX     scratch prefix (default /tmp/dl-ansible; wiped first)
#   DOWNLOADS_ARTIFACTS  where build.yml leaves the archives (default /tmp/dl-ansible-artifacts)
#   KEEP_RUNNING=1       leave the network running at the end (then stop it with: tests/local-run.sh stop)
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export DOWNLOADS_PREFIX=${DOWNLOADS_PREFIX:-/tmp/dl-ansible}
export DOWNLOADS_ARTIFACTS=${DOWNLOADS_ARTIFACTS:-/tmp/dl-ansible-artifacts}
export ANSIBLE_CONFIG=$here/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_CALLBACKS_ENABLED=profile_tasks
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
logs=$DOWNLOADS_ARTIFACTS/logs
run_dir=$DOWNLOADS_PREFIX/run/downloads
helper=$DOWNLOADS_PREFIX/opt/downloads/bin/dl-service
inventory=inventories/local/hosts.yml
redirectors=(9080 9081)
london=81.2.69.142
milton=216.160.83.56
admin_token=local-ansible-admin-token
metrics_token=local-ansible-scrape-token
passed=0; failed=0
# Redis and Sentinel speak only TLS here (downloads_redis_tls in the local inventory); redis-cli trusts the roles' CA.
ca=$DOWNLOADS_PREFIX/etc/downloads/redis-ca.pem
T=(--tls --cacert "$ca")
started=$(date +%s)

ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
elapsed() { echo "$(($(date +%s) - $1))s"; }

# Stops every service the roles started under the prefix (pid files of dl-service), all at
# once, each bounded (SIGTERM, 15 s, SIGKILL).
stop_all() {
  [ -d "$run_dir" ] || return 0
  local pidfile name
  for pidfile in "$run_dir"/*.pid; do
    [ -f "$pidfile" ] || continue
    name=$(basename "$pidfile" .pid)
    if [ -x "$helper" ]; then
      "$helper" stop "$name" "$run_dir" >/dev/null 2>&1 &
    else
      kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  wait
}

# The pids still alive among those the roles recorded.
alive_pids() {
  local pidfile pid
  for pidfile in "$run_dir"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill -0 "$pid" 2>/dev/null && echo "$pid"
  done
  return 0
}

if [ "${1:-}" = stop ]; then stop_all; exit 0; fi

# --- Tools --------------------------------------------------------------------------------------
need=()
command -v ansible-playbook >/dev/null || need+=(ansible)
command -v ansible-lint >/dev/null || need+=(ansible-lint)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
command -v curl >/dev/null || need+=(curl)
# The Redis TLS certificates (a private CA) are made with openssl on the control node (roles common/redis).
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; else SUDO=; fi
  echo "local-run: installing ${need[*]} (Debian packages)"
  $SUDO apt-get update -qq >/dev/null
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; then
    ok "installed ${need[*]}"
  else
    fail "could not install ${need[*]}"; echo "ansible: $passed passed, $failed failed"; exit 1
  fi
fi

# --- A clean slate ------------------------------------------------------------------------------
stop_all
rm -rf "$DOWNLOADS_PREFIX"
mkdir -p "$logs"
busy=()
for port in 9000 9001 9002 9003 9080 9081 9180 9181 9379 9389 9479 9489; do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && busy+=("$port")
done
if [ ${#busy[@]} -gt 0 ]; then
  fail "ports ${busy[*]} are in use on 127.0.0.1; the local inventory needs them"
  echo "ansible: $passed passed, $failed failed"; exit 1
fi
trap '[ -z "${KEEP_RUNNING:-}" ] && stop_all' EXIT

# --- Static checks ------------------------------------------------------------------------------
t=$(date +%s)
if ansible-playbook --syntax-check -i inventories/example/hosts.yml site.yml >"$logs/syntax.log" 2>&1 \
   && ansible-playbook --syntax-check -i "$inventory" site.yml >>"$logs/syntax.log" 2>&1 \
   && ansible-playbook --syntax-check build.yml >>"$logs/syntax.log" 2>&1; then
  ok "ansible-playbook --syntax-check (site.yml with both inventories, build.yml)"
else
  fail "ansible-playbook --syntax-check: $(grep -m1 ERROR "$logs/syntax.log")"
fi
if ansible-lint --profile production --nocolor >"$logs/lint.log" 2>&1; then
  ok "ansible-lint --profile production ($(ansible-lint --version 2>/dev/null | head -1 | awk '{print $2}'); $(elapsed "$t"))"
else
  fail "ansible-lint --profile production: $(grep -c '' "$logs/lint.log") lines in $logs/lint.log"
  grep -E '^\S+:[0-9]+' "$logs/lint.log" | head -10 | sed 's/^/  /'
fi

# The systemd path cannot run here (no systemd as PID 1), but its unit must be valid: render the
# unit template as the roles do (a mirror on :80 and Redis with Type=notify) and let systemd judge.
if command -v systemd-analyze >/dev/null; then
  units=$DOWNLOADS_ARTIFACTS/units
  rm -rf "$units"; mkdir -p "$units"
  render() { # name json-vars
    ansible localhost -c local -m ansible.builtin.template \
      -a "src=roles/common/templates/downloads.service.j2 dest=$units/$1.service mode=0644" -e "$2" >>"$logs/units.log" 2>&1
  }
  # systemd checks that the command exists: the released mirror binary is not installed yet at this point,
  # so a stand-in executable takes its path.
  bin=$DOWNLOADS_ARTIFACTS/unit-bin
  rm -rf "$bin"; mkdir -p "$bin"; printf '#!/bin/sh\n' >"$bin/Downloads.Mirror"; chmod 755 "$bin/Downloads.Mirror"
  render dl-mirror-uk-cam '{"common_service_name":"dl-mirror-uk-cam","common_service_description":"Downloads mirror uk-cam","common_service_user":"root","common_service_workdir":"/","common_service_env_file":"/etc/downloads/dl-mirror-uk-cam/dl-mirror-uk-cam.env","common_service_exec":"'"$bin"'/Downloads.Mirror","common_service_rw_paths":["/var/lib/downloads/dl-mirror-uk-cam"],"common_service_fingerprint":"x","common_service_net_bind":true}'
  render dl-redis '{"common_service_name":"dl-redis","common_service_description":"Downloads Redis","common_service_user":"root","common_service_workdir":"/","common_service_env_file":"","common_service_exec":"/usr/bin/redis-server /etc/downloads/dl-redis/redis.conf --supervised systemd","common_service_rw_paths":["/etc/downloads/dl-redis","/var/lib/downloads/dl-redis"],"common_service_fingerprint":"x","common_service_type":"notify"}'
  verdict=$(systemd-analyze verify "$units"/*.service 2>&1)
  if [ "$(ls "$units"/*.service 2>/dev/null | wc -l)" -eq 2 ] && [ -z "$verdict" ]; then
    ok "systemd-analyze verify: the hardened unit template is valid (mirror with CAP_NET_BIND_SERVICE, Redis Type=notify)"
  else
    fail "systemd unit template: ${verdict:-not rendered, see $logs/units.log}"
  fi
fi

# --- Build --------------------------------------------------------------------------------------
t=$(date +%s)
if ansible-playbook build.yml >"$logs/build.log" 2>&1; then
  ok "build.yml ran release.sh: $(sed 's/^[0-9a-f]*  //' "$DOWNLOADS_ARTIFACTS/SHA256SUMS" | paste -sd' ') ($(elapsed "$t"))"
else
  fail "build.yml (see $logs/build.log)"; tail -20 "$logs/build.log" | sed 's/^/  /'
  echo "ansible: $passed passed, $failed failed"; exit 1
fi

# --- First run ----------------------------------------------------------------------------------
recap() { sed -n '/PLAY RECAP/,$p' "$1" | grep -E 'ok=[0-9]+'; }
t=$(date +%s)
if ansible-playbook -i "$inventory" site.yml >"$logs/run1.log" 2>&1; then
  ok "site.yml applied to the local inventory: $(recap "$logs/run1.log" | wc -l) hosts, $(recap "$logs/run1.log" | grep -o 'changed=[0-9]*' | cut -d= -f2 | awk '{s+=$1} END {print s+0}') changes ($(elapsed "$t"))"
else
  fail "site.yml first run (see $logs/run1.log)"
  grep -E 'fatal:|FAILED!|ERROR' "$logs/run1.log" | head -5 | cut -c1-400 | sed 's/^/  /'
  echo "ansible: $passed passed, $failed failed"; exit 1
fi

# The mirrors run the self-contained binary from the release archive a donor installs, not dotnet + a dll.
exe=$(readlink "/proc/$(cat "$run_dir/dl-mirror-uk-cam.pid" 2>/dev/null)/exe" 2>/dev/null)
case $exe in
  */dl-mirror-uk-cam/releases/*/Downloads.Mirror) ok "uk-cam runs the self-contained mirror binary of downloads-mirror-linux-x64.tar.gz" ;;
  *) fail "uk-cam runs ${exe:-nothing}, not the release's self-contained Downloads.Mirror" ;;
esac

pids=$(alive_pids | wc -l)
[ "$pids" -eq 10 ] && ok "10 services run as background processes (2 redis, 2 sentinel, origin, 2 redirectors, 3 mirrors)" \
  || fail "expected 10 running services, found $pids"

# --- Smoke test ---------------------------------------------------------------------------------
t=$(date +%s)
manifest=$(curl -fsS http://127.0.0.1:9000/-/manifest.json || true)
read -r file sha serial < <(printf '%s' "$manifest" | python3 -c '
import json, sys
m = json.load(sys.stdin)
f = max((f for f in m["files"] if f["path"].startswith("noobs/")), key=lambda f: f["size"])
print(f["path"], f["sha256"], m["serial"])' 2>/dev/null)
if [ -n "${file:-}" ]; then ok "origin serves a signed manifest (serial $serial; testing $file)"; else fail "no manifest from the origin"; fi

# Mirrors sync in the background: wait (bounded) until the redirector sends a London client to a mirror.
location=
for _ in $(seq 1 120); do
  location=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "X-Forwarded-For: $london" "http://127.0.0.1:9080/$file")
  case $location in "302 http://127.0.0.1:900"[123]/*) break ;; esac
  sleep 0.5
done
case $location in
  "302 http://127.0.0.1:900"[123]/*) ok "redirector-a: 302 for a London client to a deployed mirror: ${location#302 } ($(elapsed "$t"))" ;;
  *) fail "redirector-a did not redirect to a deployed mirror within 60 s (last answer: $location)" ;;
esac
target=${location#302 }
got=$(curl -fsS "$target" 2>/dev/null | sha256sum | cut -d' ' -f1)
[ -n "$sha" ] && [ "$got" = "$sha" ] && ok "download from the mirror verified: sha256 $got equals the manifest's" \
  || fail "download from $target: sha256 ${got:-none} != manifest ${sha:-?}"
head=$(curl -s -D - -o /dev/null -H "X-Forwarded-For: $london" "http://127.0.0.1:9081/$file")
code=$(printf '%s' "$head" | head -1 | awk '{print $2}')
[ "$code" = 302 ] && printf '%s' "$head" | grep -qi '^location: http://127.0.0.1:900[123]/' \
  && ok "redirector-b (second instance) redirects too" || fail "redirector-b answered $code"

# Production log defaults as deployed: nothing per request (redirector-a, uk-cam); redirector-b has request
# logs switched on through redirector_extra_args (the local inventory), so it logged the request above.
service_logs=$DOWNLOADS_PREFIX/var/log/downloads
size_of() { stat -c %s "$1" 2>/dev/null || echo missing; }
before_r=$(size_of "$service_logs/dl-redirector-a.log"); before_m=$(size_of "$service_logs/dl-mirror-uk-cam.log")
for _ in $(seq 1 20); do
  curl -s -o /dev/null -H "X-Forwarded-For: $london" "http://127.0.0.1:9080/$file"
  curl -s -o /dev/null "http://127.0.0.1:9080/noobs/not-there.zip"
  curl -s -o /dev/null "$target"
done
sleep 1
after_r=$(size_of "$service_logs/dl-redirector-a.log"); after_m=$(size_of "$service_logs/dl-mirror-uk-cam.log")
[ "$before_r" != missing ] && [ "$before_r" = "$after_r" ] && [ "$before_m" = "$after_m" ] \
  && ok "nothing logged per request: 40 redirector-a requests and 20 downloads from uk-cam left their logs at $after_r and $after_m bytes" \
  || fail "per-request logging: redirector-a log $before_r -> $after_r bytes, uk-cam log $before_m -> $after_m bytes"
grep -qF "Request starting HTTP/1.1 GET http://127.0.0.1:9081/$file" "$service_logs/dl-redirector-b.log" 2>/dev/null \
  && ok "redirector_extra_args turns request logs on (redirector-b logged its request)" \
  || fail "redirector-b did not log its request with request logs switched on"

# /-/metrics behind downloads_metrics_token on every service: 401 without it, Prometheus text with it.
metrics_ok=0
for port in 9000 9080 9001; do
  anon=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/-/metrics")
  body=$(curl -fsS -H "Authorization: Bearer $metrics_token" "http://127.0.0.1:$port/-/metrics" 2>/dev/null)
  [ "$anon" = 401 ] && grep -q '^process_cpu_seconds_total ' <<<"$body" && metrics_ok=$((metrics_ok + 1))
done
[ $metrics_ok -eq 3 ] && ok "/-/metrics needs the scrape token (origin, redirector-a, uk-cam: 401 without, metrics with)" \
  || fail "scrape token: $metrics_ok of 3 services refuse /-/metrics without it and serve it with it"

# The admin API and the dashboard listen on each redirector's loopback admin port only (redirector_admin_bind,
# redirector_port + 100); the public port answers 404 for them, token or not. A state change another origin
# asks for is refused even there, and the browser login (Basic) never changes state.
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
bearer=(-H "Authorization: Bearer $admin_token")
public_api=$(status_of "${bearer[@]}" http://127.0.0.1:9080/-/api/mirrors)
public_ops=$(status_of -u "ops:$admin_token" http://127.0.0.1:9081/-/ops)
admin_api=$(status_of "${bearer[@]}" http://127.0.0.1:9180/-/api/mirrors)
admin_ops=$(status_of -u "ops:$admin_token" http://127.0.0.1:9181/-/ops)
cross=$(status_of -X POST "${bearer[@]}" -H 'Origin: http://evil.example' http://127.0.0.1:9180/-/api/mirrors/uk-cam/drain)
basic=$(status_of -X POST -u "ops:$admin_token" http://127.0.0.1:9180/-/api/mirrors/uk-cam/drain)
bound=$( (ss -Hltn 'sport = :9180' 2>/dev/null || true) | awk '{print $4}' | paste -sd' ')
[ "$public_api $public_ops $admin_api $admin_ops $cross $basic" = "404 404 200 200 403 403" ] && [ "${bound:-127.0.0.1:9180}" = 127.0.0.1:9180 ] \
  && ok "admin API and /-/ops on the loopback admin listener only (public port: 404); cross-origin and Basic state changes refused (403)" \
  || fail "admin listener: public api/ops $public_api/$public_ops, admin api/ops $admin_api/$admin_ops, cross-origin $cross, Basic $basic, bound ${bound:-?}"

# Tier 2: us-sea syncs from uk-cam; wait until it holds the origin's serial, then verify a download.
t=$(date +%s)
tier2=
for _ in $(seq 1 120); do
  tier2=$(curl -fsS http://127.0.0.1:9003/-/manifest.json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serial"])' 2>/dev/null)
  [ "$tier2" = "$serial" ] && break
  sleep 0.5
done
got=$(curl -fsS "http://127.0.0.1:9003/$file" 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$tier2" = "$serial" ] && [ "$got" = "$sha" ] \
  && ok "tier-2 mirror us-sea synced serial $serial from uk-cam and serves $file verified ($(elapsed "$t"))" \
  || fail "tier-2 mirror us-sea: serial ${tier2:-none} (want $serial), sha256 ${got:-none}"
grep -q '^Mirror__Upstream=http://127.0.0.1:9001$' "$DOWNLOADS_PREFIX/etc/downloads/dl-mirror-us-sea/dl-mirror-us-sea.env" \
  && ok "us-sea's upstream is the tier-1 mirror uk-cam" || fail "us-sea's upstream is not uk-cam"

# Enrollment gave each mirror its own Redis user, and the network state is in the deployed Redis.
users=0
for id in uk-cam se-sto us-sea; do
  for port in 9379 9389; do
    redis-cli "${T[@]}" --no-auth-warning -p $port --user dl-admin --pass local-admin-pw ACL GETUSER "dl-m-$id" 2>/dev/null | grep -q flags && users=$((users + 1))
  done
done
saved=$(cat "$DOWNLOADS_PREFIX"/etc/downloads/dl-redis-[ab]/users.acl 2>/dev/null | grep -c '^user dl-m-' || true)
[ $users -eq 6 ] && [ "$saved" -eq 6 ] && ok "each mirror enrolled with a token; its own Redis ACL user is on both Redis nodes, saved" \
  || fail "$users of 6 mirror users (3 mirrors x 2 Redis nodes) found, $saved saved"
repl=$(redis-cli "${T[@]}" --no-auth-warning -p 9389 --user dl-admin --pass local-admin-pw INFO replication 2>/dev/null | tr -d '\r' | grep -E '^(role|master_link_status):' | paste -sd' ')
[ "$repl" = "role:slave master_link_status:up" ] && ok "redis-b replicates redis-a" || fail "redis-b replication: $repl"
S=(redis-cli "${T[@]}" --no-auth-warning --user dl-admin --pass local-admin-pw)
sentinel=$("${S[@]}" -p 9489 SENTINEL get-master-addr-by-name downloads 2>/dev/null | paste -sd:)
[ "$sentinel" = "127.0.0.1:9379" ] && ok "Sentinel watches the primary 127.0.0.1:9379" || fail "Sentinel: ${sentinel:-no answer}"

# Sentinel is not open: without a password nothing runs, and a service's user may only find the primary.
anon=$(redis-cli "${T[@]}" -p 9479 SENTINEL REMOVE downloads 2>&1 | head -1)
svc=(redis-cli "${T[@]}" --no-auth-warning -p 9479 --user dl-redirector --pass local-redirector-pw)
remove=$("${svc[@]}" SENTINEL REMOVE downloads 2>&1 | head -1)
failover=$("${svc[@]}" SENTINEL FAILOVER downloads 2>&1 | head -1)
found=$("${svc[@]}" SENTINEL get-master-addr-by-name downloads 2>/dev/null | paste -sd:)
still=$("${S[@]}" -p 9479 SENTINEL get-master-addr-by-name downloads 2>/dev/null | paste -sd:)
case "$anon|$remove|$failover|$found|$still" in
  NOAUTH*"|NOPERM"*"|NOPERM"*"|127.0.0.1:9379|127.0.0.1:9379")
    ok "Sentinel refuses an unauthenticated SENTINEL REMOVE (NOAUTH) and the redirector's user REMOVE/FAILOVER (NOPERM); that user finds the primary; the master stays monitored" ;;
  *) fail "Sentinel auth: anonymous REMOVE '$anon', redirector REMOVE '$remove', FAILOVER '$failover', lookup '$found', admin lookup '$still'" ;;
esac

# TLS only: a plaintext client gets nothing from Redis or Sentinel, a client trusting another CA is refused,
# and the services run with the CA (they could not reach Redis otherwise).
other=$DOWNLOADS_ARTIFACTS/other-ca
rm -rf "$other"; mkdir -p "$other"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$other/ca.key" -out "$other/ca.crt" \
  -days 1 -subj /CN=stranger >/dev/null 2>&1
plain=$(timeout 5 redis-cli --no-auth-warning -p 9379 --user dl-admin --pass local-admin-pw PING 2>&1 | head -1)
plain_s=$(timeout 5 redis-cli --no-auth-warning -p 9479 --user dl-admin --pass local-admin-pw PING 2>&1 | head -1)
stranger=$(timeout 5 redis-cli --tls --cacert "$other/ca.crt" --no-auth-warning -p 9379 --user dl-admin --pass local-admin-pw PING 2>&1 | head -1)
trusted=$(timeout 5 redis-cli "${T[@]}" --no-auth-warning -p 9379 --user dl-admin --pass local-admin-pw PING 2>&1 | head -1)
envs=$(grep -l "^Redis__CaCertificate=$ca\$" "$DOWNLOADS_PREFIX"/etc/downloads/dl-*/dl-*.env 2>/dev/null | wc -l)
[ "$plain" != PONG ] && [ "$plain_s" != PONG ] && [ "$stranger" != PONG ] && [ "$trusted" = PONG ] && [ "$envs" -eq 6 ] \
  && ok "Redis and Sentinel speak only TLS: plaintext PING gets no PONG, a client trusting another CA is refused, the roles' CA works; the 6 services run with Redis__CaCertificate" \
  || fail "TLS: plaintext '$plain' / sentinel '$plain_s', other CA '$stranger', our CA '$trusted', $envs of 6 services with Redis__CaCertificate"

# --- Second run: nothing may change --------------------------------------------------------------
# (Redis has rewritten its ACL files since the first run: the mirror role saved the mirrors' users.)
t=$(date +%s)
if ansible-playbook -i "$inventory" site.yml >"$logs/run2.log" 2>&1; then
  changed=$(recap "$logs/run2.log" | grep -vc 'changed=0 ')
  if [ "$changed" -eq 0 ]; then
    ok "second run of site.yml: changed=0 on all $(recap "$logs/run2.log" | wc -l) hosts ($(elapsed "$t"))"
  else
    fail "second run changed something:"; recap "$logs/run2.log" | grep -v 'changed=0 ' | sed 's/^/  /'
    grep -E '^changed:' -B2 "$logs/run2.log" | grep TASK | sort -u | head -10 | sed 's/^/  /'
  fi
else
  fail "site.yml second run (see $logs/run2.log)"
  grep -E 'fatal:|FAILED!|ERROR' "$logs/run2.log" | head -5 | cut -c1-400 | sed 's/^/  /'
fi
pids_after=$(alive_pids | paste -sd' ')
[ "$(alive_pids | wc -l)" -eq 10 ] && ok "all 10 services still run after the second run" || fail "services running after run 2: $pids_after"

# --- Sentinel failover ---------------------------------------------------------------------------
# Sentinel promotes the replica; the services follow it (they list both nodes), mirrors keep
# reporting as their own users (the role copied them to every node) and redirects keep working.
A=(redis-cli "${T[@]}" --no-auth-warning --user dl-admin --pass local-admin-pw)
t=$(date +%s)
"${S[@]}" -p 9479 SENTINEL FAILOVER downloads >/dev/null 2>&1
switched=
for _ in $(seq 1 60); do
  [ "$("${S[@]}" -p 9489 SENTINEL get-master-addr-by-name downloads 2>/dev/null | paste -sd:)" = 127.0.0.1:9389 ] \
    && "${A[@]}" -p 9379 INFO replication 2>/dev/null | tr -d '\r' | grep -qx 'master_port:9389' && { switched=1; break; }
  sleep 0.5
done
[ -n "$switched" ] && ok "Sentinel failover: redis-b is primary, redis-a its replica ($(elapsed "$t"))" \
  || fail "Sentinel failover did not complete within 30 s"
reported=
for _ in $(seq 1 90); do
  updated=$("${A[@]}" -p 9389 HGET 'dl:m:{uk-cam}:state' updated 2>/dev/null)
  [ -n "$updated" ] && [ "$updated" -gt "$t" ] 2>/dev/null && { reported=1; break; }
  sleep 0.5
done
[ -n "$reported" ] && ok "after the failover uk-cam reports to the new primary as its own user ($(elapsed "$t"))" \
  || fail "uk-cam did not report to the new primary within 45 s"
location=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "X-Forwarded-For: $london" "http://127.0.0.1:9080/$file")
case $location in
  "302 http://127.0.0.1:900"[123]/*) ok "after the failover the redirector still sends London to a mirror: ${location#302 }" ;;
  *) fail "after the failover the redirector answered: $location" ;;
esac

# --- A changed setting restarts exactly that service; Ansible does not undo the failover ---------
# A --limit'ed run (the origin's play does not run: its public key is read from the origin host)
# with a new capacity for se-sto: se-sto restarts with it (from its saved Redis credentials); the
# Redis nodes tidy what CONFIG REWRITE appended but keep running in the topology Sentinel chose.
# se-sto also has five stale releases from "earlier deploys"; the run keeps the newest two of them
# next to the live one (common_release_keep: 3).
releases="$DOWNLOADS_PREFIX/opt/downloads/dl-mirror-se-sto/releases"
live_release=$(basename "$(readlink "$DOWNLOADS_PREFIX/opt/downloads/dl-mirror-se-sto/current")")
for i in 1 2 3 4 5; do mkdir -p "$releases/stale-$i"; touch -d "-$((10 - i)) days" "$releases/stale-$i"; done
before=$(for f in "$run_dir"/*.pid; do echo "$(basename "$f" .pid)=$(cat "$f")"; done | sort)
old=$(cat "$run_dir/dl-mirror-se-sto.pid" 2>/dev/null)
t=$(date +%s)
if ansible-playbook -i "$inventory" site.yml --limit 'redis,se-sto' -e mirror_capacity_mbps=500 >"$logs/run3.log" 2>&1; then
  new=$(cat "$run_dir/dl-mirror-se-sto.pid" 2>/dev/null)
  after=$(for f in "$run_dir"/*.pid; do echo "$(basename "$f" .pid)=$(cat "$f")"; done | sort)
  others=$(diff <(echo "$before") <(echo "$after") | grep -c '^[<>]' || true)
  if [ -n "$new" ] && [ "$new" != "$old" ] && [ "$others" -eq 2 ] \
     && grep -q '^Mirror__CapacityMbps=500$' "$DOWNLOADS_PREFIX/etc/downloads/dl-mirror-se-sto/dl-mirror-se-sto.env" \
     && curl -fsS -o /dev/null http://127.0.0.1:9002/-/health; then
    ok "a changed setting (-e mirror_capacity_mbps=500) restarted se-sto only (pid $old -> $new); the other 9 kept their pids ($(elapsed "$t"))"
  else
    fail "config change: se-sto pid $old -> ${new:-none}, $((others / 2)) services changed pid"
  fi
  kept=$(ls "$releases" | sort | paste -sd' ')
  [ "$kept" = "$(printf '%s\n' "$live_release" stale-4 stale-5 | sort | paste -sd' ')" ] \
    && ok "old releases pruned to the 3 newest (the live one, stale-5, stale-4)" \
    || fail "releases left after the run: $kept (live: $live_release)"
  role_a=$("${A[@]}" -p 9379 INFO replication 2>/dev/null | tr -d '\r' | grep -E '^(role|master_port):' | paste -sd' ')
  tail_a=$(sed -n '/Generated by CONFIG REWRITE/,$p' "$DOWNLOADS_PREFIX/etc/downloads/dl-redis-a/redis.conf" | grep -vc '^#' || true)
  [ "$role_a" = "role:slave master_port:9389" ] && [ "$tail_a" -eq 1 ] \
    && ok "Ansible kept Sentinel's topology (redis-a replica of redis-b; redis.conf keeps only replicaof from CONFIG REWRITE)" \
    || fail "after the run redis-a is '$role_a' with $tail_a rewritten lines left"
else
  fail "site.yml --limit redis,se-sto (see $logs/run3.log)"
  grep -E 'fatal:|FAILED!|ERROR' "$logs/run3.log" | head -5 | cut -c1-400 | sed 's/^/  /'
fi

# --- Stop everything ----------------------------------------------------------------------------
if [ -z "${KEEP_RUNNING:-}" ]; then
  recorded=$(for f in "$run_dir"/*.pid; do cat "$f"; done 2>/dev/null)
  t=$(date +%s)
  stop_all
  left=0
  for pid in $recorded; do kill -0 "$pid" 2>/dev/null && left=$((left + 1)); done
  [ $left -eq 0 ] && ok "stopped every service ($(elapsed "$t")); no process left" || fail "$left processes still running"
fi

echo "local-run: total $(elapsed "$started"); logs in $logs"
echo "ansible: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
