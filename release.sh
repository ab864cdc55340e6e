#!/usr/bin/env bash
# Builds the release archives: what a donor installs, and what the Ansible roles deploy (build.yml runs
# this script; there is no second build recipe). docs/donate.md and docs/release.md explain them.
#
#   ./release.sh [--out DIR] [--rid RID]... [--version V] [--key MINISIGN_SECRET_KEY]
#
# In DIR (default .artifacts/release):
#   downloads-mirror-RID.tar.gz   the mirror, self-contained and single-file for RID (linux-x64, linux-arm64,
#                                 linux-arm; default all three), with the hardened systemd unit rendered from
#                                 the roles' template, an example configuration, install.sh and VERSION
#   downloads-origin.tar.gz, downloads-redirector.tar.gz
#                                 the other two services, framework-dependent (the network's own hosts,
#                                 deployed by Ansible with the .NET runtime)
#   SHA256SUMS                    sha256sum lines of every archive
#   SHA256SUMS.minisig            minisign signature of SHA256SUMS (with --key or DOWNLOADS_RELEASE_KEY)
#   minisign.pub                  the public key of that signature (publish it where donors look)
# Archives are reproducible (sorted, owner 0, mtime 0, gzip -n, deterministic builds): an archive whose bytes
# did not change is left as it was, so a deploy changes nothing. Each archive prints one line, "packed NAME"
# or "unchanged NAME". Exit 1 (after building the others) when a RID cannot be built, e.g. its runtime
# packs are not served by the configured NuGet source.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
out=$root/.artifacts/release
rids=()
version=
key=${DOWNLOADS_RELEASE_KEY:-}
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --rid) rids+=("${2:?--rid needs a runtime identifier}"); shift 2 ;;
    --rid=*) rids+=("${1#--rid=}"); shift ;;
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --key) key=${2:?--key needs a minisign secret key file}; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "release.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 linux-arm64 linux-arm)
for rid in "${rids[@]}"; do
  case $rid in linux-x64|linux-arm64|linux-arm) ;; *) echo "release.sh: unsupported RID $rid (linux-x64, linux-arm64, linux-arm)" >&2; exit 2 ;; esac
done
if [ -z "$version" ]; then
  version=$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/.work
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The unit is rendered with Jinja2 (tools/release/render-unit.py); Debian's python3 has it with python3-jinja2.
python=
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import jinja2' 2>/dev/null; then python=$candidate; break; fi
done
[ -n "$python" ] || { echo "release.sh: needs Python 3 with Jinja2 to render the systemd unit (apt-get install python3-jinja2)" >&2; exit 2; }
if [ -n "$key" ]; then
  command -v minisign >/dev/null || { echo "release.sh: --key needs minisign (apt-get install minisign)" >&2; exit 2; }
  [ -r "$key" ] || { echo "release.sh: cannot read the signing key $key" >&2; exit 2; }
fi

# Packs folder $1 (its contents under the top folder $3) into $2, unless the bytes are what $2 already holds.
pack() { # dir archive [top]
  local dir=$1 archive=$2 top=${3:-} transform=()
  [ -n "$top" ] && transform=(--transform "s,^\\.,$top,")
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner "${transform[@]}" -C "$dir" -cf - . | gzip -n -9 >"$archive.new"
  archives+=("$(basename "$archive")")
  if cmp -s "$archive.new" "$archive"; then rm "$archive.new"; echo "unchanged $(basename "$archive")"
  else mv "$archive.new" "$archive"; echo "packed $(basename "$archive")"; fi
}

# Release builds keep their own bin/obj (--artifacts-path) so they never touch the work tree's build.
publish() { # project output extra-args...
  local project=$1 output=$2; shift 2
  rm -rf "$output"
  dotnet publish "$root/$project" -c Release -o "$output" --artifacts-path "$work/build" -nologo -v q -clp:ErrorsOnly "$@"
}

# Nothing changed since the last run into this folder (same sources, RIDs, version and key): nothing to do.
# The digest covers every file git would see (tracked and untracked, not ignored) but the documentation, so
# it is a few seconds, where even an up-to-date publish of each project costs the better part of a minute.
digest=$( {
  echo "$version ${rids[*]} ${key:+$(sha256sum <"$key")}"
  git -C "$root" ls-files -co --exclude-standard -z -- . ':!*.md' | (cd "$root" && xargs -0 sha256sum 2>/dev/null)
} | sha256sum | cut -d' ' -f1)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$digest" ]; then
  names=$(sed 's/^[0-9a-f]*  //' "$out/SHA256SUMS" 2>/dev/null || true)
  if [ -n "$names" ] && (cd "$out" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
    for name in $names; do echo "unchanged $name"; done
    echo "release.sh: $version in $out (sources unchanged since the last release into it)"
    exit 0
  fi
fi
rm -f "$out/.stamp"

failed=()
archives=()
stage=$work/stage
rm -rf "$stage"; mkdir -p "$stage"

# --- The mirror, one self-contained single-file build per RID -----------------------------------------
# Single file: the runtime, ASP.NET Core and the app in one executable. libsodium.so (NSec's Ed25519, which
# checks the manifest signature) stays beside it rather than being extracted at each start into a folder
# that the hardened unit would have to make writable. InvariantGlobalization (Directory.Build.props): no ICU.
for rid in "${rids[@]}"; do
  if ! publish mirror/Downloads.Mirror.csproj "$work/publish/mirror-$rid" -r "$rid" --self-contained \
       -p:PublishSingleFile=true -p:DebugType=none >"$work/publish-$rid.log" 2>&1; then
    if grep -q 'NU1101' "$work/publish-$rid.log"; then
      echo "release.sh: $rid not built: its runtime packs are not served by the NuGet source ($(grep -o 'Microsoft\.[A-Za-z.]*\.'"$rid" "$work/publish-$rid.log" | sort -u | paste -sd' '))" >&2
    else
      echo "release.sh: $rid not built; see $work/publish-$rid.log" >&2; tail -5 "$work/publish-$rid.log" >&2
    fi
    failed+=("$rid"); continue
  fi
  dir=$stage/mirror-$rid
  mkdir -p "$dir"
  for f in "$work/publish/mirror-$rid"/*; do
    case $f in *.xml|*.pdb) continue ;; esac   # API docs of the shared library, symbols: not needed to run
    cp -p "$f" "$dir/"
  done
  "$python" "$root/tools/release/render-unit.py" "$root/ansible/roles/common/templates/downloads.service.j2" '{
    "common_service_name": "downloads-mirror",
    "common_service_description": "Downloads mirror",
    "common_service_user": "dl-mirror",
    "common_service_workdir": "/var/lib/downloads-mirror",
    "common_service_env_file": "/etc/downloads-mirror/mirror.env",
    "common_service_exec": "/opt/downloads-mirror/Downloads.Mirror",
    "common_service_rw_paths": ["/var/lib/downloads-mirror"],
    "common_service_fingerprint": "'"$version"'",
    "common_service_net_bind": true
  }' >"$dir/downloads-mirror.service"
  cp "$root/tools/release/mirror.env.example" "$root/tools/release/install.sh" "$dir/"
  chmod 0755 "$dir/install.sh" "$dir/Downloads.Mirror"
  echo "$version $rid" >"$dir/VERSION"
  pack "$dir" "$out/downloads-mirror-$rid.tar.gz" "downloads-mirror-$rid"
done

# --- Origin and redirector: framework-dependent, for the network's own hosts --------------------------
for service in origin redirector; do
  name=Downloads.${service^}
  if ! publish "$service/$name.csproj" "$work/publish/$service" -p:UseAppHost=false >"$work/publish-$service.log" 2>&1; then
    echo "release.sh: $service not built; see $work/publish-$service.log" >&2; tail -5 "$work/publish-$service.log" >&2
    failed+=("$service"); continue
  fi
  pack "$work/publish/$service" "$out/downloads-$service.tar.gz"
done

# --- Checksums and signature --------------------------------------------------------------------------
# This run's archives only: one left from an earlier run with other RIDs is not vouched for.
[ ${#archives[@]} -gt 0 ] || { echo "release.sh: nothing was built" >&2; exit 1; }
(cd "$out" && sha256sum -- "${archives[@]}" >SHA256SUMS.new)
if cmp -s "$out/SHA256SUMS.new" "$out/SHA256SUMS" && { [ -z "$key" ] || [ -s "$out/SHA256SUMS.minisig" ]; }; then
  rm "$out/SHA256SUMS.new"
else
  mv "$out/SHA256SUMS.new" "$out/SHA256SUMS"
  rm -f "$out/SHA256SUMS.minisig"
  if [ -n "$key" ]; then
    minisign -S -s "$key" -m "$out/SHA256SUMS" -x "$out/SHA256SUMS.minisig" -t "downloads $version SHA256SUMS" >/dev/null
    minisign -R -s "$key" -p "$out/minisign.pub.new" >/dev/null && mv "$out/minisign.pub.new" "$out/minisign.pub"
  fi
fi
if [ -z "$key" ]; then
  echo "release.sh: SHA256SUMS is not signed (pass --key with a minisign secret key, docs/release.md)" >&2
fi
echo "release.sh: $version in $out"
if [ ${#failed[@]} -gt 0 ]; then
  echo "release.sh: not built: ${failed[*]}" >&2
  exit 1
fi
echo "$digest" >"$out/.stamp"
