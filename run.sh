#!/usr/bin/env bash
# Builds and starts a complete Downloads network on 127.0.0.1: a store, the origin with sample
# files, three mirrors (Cambridge UK, Stockholm, Seattle) and the redirector on :8080 (by default).
# Ctrl-C (or SIGTERM) stops everything. Needs the .NET SDK, and curl (installed when missing).
#
#   DOWNLOADS_REDIS=host:port     use this Redis instead of starting a store
#   DOWNLOADS_STORE=embedded      start the embedded store (Garnet) even when redis-server is installed
#   DOWNLOADS_GEOIP_CITY=path     a real GeoLite2/GeoIP2 City database
#   DOWNLOADS_GEOIP_ASN=path      a real GeoLite2 ASN database
#   DOWNLOADS_SCALE=demo|tiny     sample file sizes (demo: a few hundred MB; tiny: a few MB)
#   DOWNLOADS_PORT_BASE=8000      origin on it, mirrors on +1..+3, redirector on +80, store on +90
#   DOWNLOADS_STATE=dir           keys, sample files, mirror data and logs (default: .run)
#   DOWNLOADS_NO_BUILD=1          use the Release build already there instead of building
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
state=${DOWNLOADS_STATE:-$root/.run}
scale=${DOWNLOADS_SCALE:-demo}
admin_token=${DOWNLOADS_ADMIN_TOKEN:-local-admin-token}
base=${DOWNLOADS_PORT_BASE:-8000}
origin_port=$base
redirector_port=$((base + 80))
store_port=$((base + 90))
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# curl drives the services below; install it when missing (Debian/Ubuntu), as ./test.sh does.
if ! command -v curl >/dev/null; then
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; else SUDO=; fi
  echo "run.sh: installing curl (apt-get)"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq curl; } >/dev/null \
    || { echo "run.sh: curl is missing and could not be installed; install curl and run again" >&2; exit 2; }
fi

pids=()
names=()
shared_user=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "run.sh: stopping ${#pids[@]} processes"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run.sh: stopped"
}
# Ctrl-C or SIGTERM: stop everything and exit (the trap alone would return into the loop below).
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

start() { # name logfile command...
  local name=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  pids+=($!); names+=("$name")
  printf '  %-12s pid %-7s log %s\n' "$name" "$!" "${log#$root/}"
}

wait_http() { # url [seconds]
  local url=$1 limit=${2:-60}
  for _ in $(seq 1 $((limit * 5))); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "run.sh: $url did not answer within ${limit}s; see the logs in .run/logs" >&2
  return 1
}

if [ "${DOWNLOADS_NO_BUILD:-}" != 1 ]; then
  echo "run.sh: building (Release)"
  dotnet build Downloads.sln -c Release -nologo -v q -clp:ErrorsOnly
fi
bin() { echo "$root/$1/bin/Release/net10.0/$2.dll"; }
ORIGIN=$(bin origin Downloads.Origin)
MIRROR=$(bin mirror Downloads.Mirror)
REDIRECTOR=$(bin redirector Downloads.Redirector)
DEVSTORE=$(bin tools/devstore Downloads.DevStore)

mkdir -p "$state/logs"
logs=$state/logs

# --- Store -------------------------------------------------------------------------------------
if [ -n "${DOWNLOADS_REDIS:-}" ]; then
  redis=$DOWNLOADS_REDIS
  echo "run.sh: using Redis at $redis"
else
  redis=127.0.0.1:$store_port
  if [ "${DOWNLOADS_STORE:-}" != embedded ] && command -v redis-server >/dev/null; then
    echo "run.sh: starting redis-server on $redis (per-mirror ACL users)"
    # Bounded memory, as every Redis we ship (docs/keyspace.md, "Memory").
    start redis "$logs/redis.log" redis-server --port "$store_port" --bind 127.0.0.1 --save "" --appendonly no \
      --maxmemory 256mb --maxmemory-policy noeviction
  else
    if [ "${DOWNLOADS_STORE:-}" = embedded ]; then why="DOWNLOADS_STORE=embedded"; else why="redis-server is not installed"; fi
    echo "run.sh: starting the embedded store (Garnet) on $redis ($why)"
    cat <<'WEAKER'
run.sh: weaker than production on the embedded store:
  - every mirror and the redirector share ONE Redis user: Garnet cannot limit a user to its own keys,
    so a mirror could write another mirror's keys (with real Redis each mirror gets its own ACL user);
  - nothing is kept on disk, and there is no Sentinel failover.
  Install redis-server (apt-get install redis-server) for the production set-up.
WEAKER
    start store "$logs/store.log" dotnet "$DEVSTORE" "$store_port"
    shared_user=(--Membership:PerMirrorUsers=false)
    store_note="  (embedded Garnet: ONE Redis user shared by every mirror; install redis-server for per-mirror users)"
  fi
fi

# --- Geo data ----------------------------------------------------------------------------------
if [ -n "${DOWNLOADS_GEOIP_CITY:-}" ]; then
  geo=(--Geo:CityDatabase="$DOWNLOADS_GEOIP_CITY")
  [ -n "${DOWNLOADS_GEOIP_ASN:-}" ] && geo+=(--Geo:AsnDatabase="$DOWNLOADS_GEOIP_ASN")
else
  # Small generated GeoIP2-schema databases covering MaxMind's public test networks only.
  geo=(--Geo:UseSampleDatabases=true)
fi

# --- Origin ------------------------------------------------------------------------------------
mkdir -p "$state/origin"
if [ ! -f "$state/origin/signing.key" ]; then
  dotnet "$ORIGIN" keygen --out "$state/origin/signing.key" >/dev/null
fi
pubkey=$(cat "$state/origin/signing.key.pub")
echo "run.sh: sample files ($scale, deterministic; kept between runs)"
dotnet "$ORIGIN" sample --root "$state/origin/files-$scale" --scale "$scale" >/dev/null
echo "run.sh: starting services"
start origin "$logs/origin.log" dotnet "$ORIGIN" --urls http://127.0.0.1:$origin_port \
  --Origin:Root="$state/origin/files-$scale" --Origin:StateDir="$state/origin/state-$scale" \
  --Origin:PrivateKeyFile="$state/origin/signing.key" --Redis:Configuration="$redis"
wait_http http://127.0.0.1:$origin_port/-/manifest.json 300

# --- Redirector --------------------------------------------------------------------------------
# A 4 MiB gen-0 budget: less memory and shorter GC pauses for the redirector (bench/README.md).
# The mirrors here are on loopback, which health probes refuse unless allowed (Health:AllowedNetworks).
start redirector "$logs/redirector.log" env DOTNET_GCgen0size=0x400000 dotnet "$REDIRECTOR" --urls http://127.0.0.1:$redirector_port \
  --Redis:Configuration="$redis" --Redirector:Origin=http://127.0.0.1:$origin_port --Redirector:PublicKey="$pubkey" \
  "${geo[@]}" --Admin:Token="$admin_token" "${shared_user[@]}" --Health:AllowedNetworks=127.0.0.0/8,::1 \
  --Redirector:StateDir="$state/redirector"
wait_http http://127.0.0.1:$redirector_port/-/health

# --- Mirrors -----------------------------------------------------------------------------------
# id port name lat lon country continent sets
mirrors=(
  "uk-cam $((base + 1)) Cambridge 52.2053 0.1218 GB EU noobs,os,rachel"
  "se-sto $((base + 2)) Stockholm 59.3293 18.0686 SE EU noobs,os,rachel"
  "us-sea $((base + 3)) Seattle 47.6062 -122.3321 US NA noobs,os"
)
api() { curl -fsS -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' "$@"; }
for m in "${mirrors[@]}"; do
  read -r id port name lat lon cc cont sets <<<"$m"
  token=$(api -X POST http://127.0.0.1:$redirector_port/-/api/tokens -d "{}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  start "$id" "$logs/$id.log" dotnet "$MIRROR" --urls "http://127.0.0.1:$port" \
    --Mirror:Id="$id" --Mirror:Name="$name" --Mirror:DataDir="$state/mirrors-$scale/$id" \
    --Mirror:Upstream=http://127.0.0.1:$origin_port --Mirror:PublicKey="$pubkey" \
    --Mirror:HttpUrl="http://127.0.0.1:$port" --Mirror:Sets="$sets" \
    --Mirror:Latitude="$lat" --Mirror:Longitude="$lon" --Mirror:Country="$cc" --Mirror:Continent="$cont" \
    --Mirror:CapacityMbps=1000 --Mirror:QuotaTB=5 \
    --Enrollment:Token="$token" --Enrollment:Redirector=http://127.0.0.1:$redirector_port \
    --Redis:Configuration="$redis"
done
for m in "${mirrors[@]}"; do
  read -r id port _ <<<"$m"
  wait_http "http://127.0.0.1:$port/-/health"
  # Ops approve each new mirror on the ops path, as in production (after a look): the CLI with an admin
  # Redis user creates the mirror's own user from the password hash it sent (here the store's default user).
  for _ in $(seq 1 20); do
    DOWNLOADS_ADMIN_REDIS=$redis dotnet "$REDIRECTOR" mirrors approve "$id" >/dev/null 2>&1 && break
    sleep 0.5
  done
done

sample=$(curl -fsS http://127.0.0.1:$origin_port/-/manifest.json | grep -o '"path":"noobs/[^"]*"' | head -1 | cut -d'"' -f4)
cat <<MSG

Downloads is running on 127.0.0.1:
  redirector   http://127.0.0.1:$redirector_port/          (ops: http://127.0.0.1:$redirector_port/-/ops, token: $admin_token)
  origin       http://127.0.0.1:$origin_port/-/manifest.json
  mirrors      uk-cam http://127.0.0.1:$((base + 1))  se-sto http://127.0.0.1:$((base + 2))  us-sea http://127.0.0.1:$((base + 3))
  store        $redis${store_note:-}
Mirrors sync in the background; until one has the file, the redirect goes to the origin.

Try (a client in London, then Linköping, then Milton WA):
  curl -sIL -H 'X-Forwarded-For: 81.2.69.142' http://127.0.0.1:$redirector_port/$sample
  curl -sL  -H 'X-Forwarded-For: 89.160.20.112' http://127.0.0.1:$redirector_port/$sample | sha256sum
  curl -s   'http://127.0.0.1:$redirector_port/$sample?mirrorlist&fromip=216.160.83.56'
Verify a download as a user would (the redirector itself answers checksums and their signature):
  cd \$(mktemp -d) && for f in ${sample#noobs/} SHA256SUMS SHA256SUMS.minisig; do curl -sLO http://127.0.0.1:$redirector_port/noobs/\$f; done
  curl -s http://127.0.0.1:$redirector_port/-/minisign.pub >minisign.pub && minisign -Vm SHA256SUMS && sha256sum --ignore-missing -c SHA256SUMS
Stop one mirror (kill <pid> from the list above) and watch the redirects move.
Ctrl-C stops everything.
MSG
# Keep running until Ctrl-C; report processes that exit (e.g. a mirror you stopped) but carry on.
reported=()
while sleep 2; do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null && [ -z "${reported[$i]:-}" ]; then
      reported[$i]=1
      echo "run.sh: ${names[$i]} (pid ${pids[$i]}) has stopped; the network routes around it"
    fi
  done
done
