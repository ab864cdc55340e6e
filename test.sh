#!/usr/bin/env bash
# Installs what the tests need (when missing), runs every test project, prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
command -v curl >/dev/null || need+=(curl)
command -v aria2c >/dev/null || need+=(aria2)
command -v wget >/dev/null || need+=(wget)
# The ops dashboard test drives Debian's chromium through Playwright (no browser download).
command -v chromium >/dev/null || need+=(chromium)
# The checksum tests verify the redirector's SHA256SUMS signatures with the real minisign, and release.sh signs
# its SHA256SUMS with it; release.sh renders the systemd unit with Jinja2 (docs/release.md).
command -v minisign >/dev/null || need+=(minisign)
{ python3 -c 'import jinja2' 2>/dev/null || /usr/bin/python3 -c 'import jinja2' 2>/dev/null; } || need+=(python3-jinja2)
# promtool (Debian's prometheus package) checks every service's /-/metrics and ops/prometheus/; installed
# without recommends, which would add the node exporter.
command -v promtool >/dev/null || need_promtool=1
if [ ${#need[@]} -gt 0 ] || [ -n "${need_promtool:-}" ]; then
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; else SUDO=; fi
  echo "test.sh: installing ${need[*]}${need_promtool:+ prometheus (for promtool)}"
  $SUDO apt-get update -qq >/dev/null
  if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null \
      || { echo "test.sh: could not install ${need[*]}" >&2; exit 2; }
  fi
  if [ -n "${need_promtool:-}" ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
      || { echo "test.sh: could not install prometheus" >&2; exit 2; }
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results=TestResults
rm -rf "$results"; mkdir -p "$results"
dotnet build Downloads.sln -c Release -nologo -v q || { echo "0 passed, 1 failed"; exit 1; }
status=0
# The release archives, built once: the donor tests install the linux-x64 one and check each archive
# (DOWNLOADS_RELEASE_DIR), and the Ansible run's build.yml finds them up to date and deploys them
# (DOWNLOADS_ARTIFACTS). linux-arm is left out: its runtime packs are not served here (docs/release.md).
# A throwaway minisign key signs SHA256SUMS; an unchanged tree makes the next run a matter of seconds.
export DOWNLOADS_ARTIFACTS=$PWD/.artifacts/release DOWNLOADS_RELEASE_RIDS="linux-x64 linux-arm64"
export DOWNLOADS_RELEASE_DIR=$DOWNLOADS_ARTIFACTS DOWNLOADS_RELEASE_KEY=$PWD/.artifacts/release-key/minisign.key
mkdir -p "$(dirname "$DOWNLOADS_RELEASE_KEY")"
[ -f "$DOWNLOADS_RELEASE_KEY" ] || minisign -G -W -p "${DOWNLOADS_RELEASE_KEY%.key}.pub" -s "$DOWNLOADS_RELEASE_KEY" >/dev/null
release_failed=0
# shellcheck disable=SC2086
./release.sh --out "$DOWNLOADS_ARTIFACTS" $(printf -- '--rid %s ' $DOWNLOADS_RELEASE_RIDS) || release_failed=1
for proj in tests/*/*.Tests.csproj; do
  name=$(basename "$proj" .csproj)
  dotnet test "$proj" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$results" \
    --blame-hang-timeout 5m || status=1
done

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$(get total); executed=$(get executed); p=$(get passed); f=$(get failed)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done
# The Ansible roles: syntax, lint, a real deployment on this machine, idempotence (ansible/tests/local-run.sh).
ansible_log="$results/ansible-local-run.log"
ansible/tests/local-run.sh 2>&1 | tee "$ansible_log"
line=$(grep -E '^ansible: [0-9]+ passed, [0-9]+ failed' "$ansible_log" | tail -1)
if [ -n "$line" ]; then
  passed=$((passed + $(echo "$line" | sed -E 's/^ansible: ([0-9]+) passed.*/\1/')))
  failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
else
  echo "test.sh: ansible/tests/local-run.sh ended without its summary line" >&2
  failed=$((failed + 1))
fi

# A project that crashed or hung writes no result file: count it as a failure.
projects=$(ls tests/*/*.Tests.csproj | wc -l)
if [ "$files" -lt "$projects" ]; then failed=$((failed + projects - files)); fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$release_failed" -ne 0 ]; then echo "test.sh: release.sh failed" >&2; failed=$((failed + 1)); fi
# Name every failed test just above the summary, where a CI log's tail shows it.
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | sed -n 's/.* testName="\([^"]*\)".*/FAILED: \1/p'
done
grep -E '^(FAIL|not ok)' "$ansible_log" 2>/dev/null | sed 's/^/FAILED (ansible): /' | head -20
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
