#!/bin/sh
# Installs (or upgrades) the Downloads mirror from this unpacked release (docs/donate.md).
#
#   sudo ./install.sh                 the binary in /opt/downloads-mirror, the systemd unit, the example
#                                     configuration as /etc/downloads-mirror/mirror.env (never overwritten),
#                                     the data folder /var/lib/downloads-mirror and the system user dl-mirror
#   ./install.sh --prefix DIR         the same tree under DIR (paths in the unit and configuration follow);
#                                     no user is created, nothing outside DIR is touched
#
# An upgrade replaces the binary and the unit, keeps mirror.env and the data, and says to restart.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$prefix" ]; then
  mkdir -p "$prefix"
  prefix=$(cd "$prefix" && pwd)
fi

user=dl-mirror
app=/opt/downloads-mirror
etc=/etc/downloads-mirror
data=/var/lib/downloads-mirror
unit=/etc/systemd/system/downloads-mirror.service

if [ -z "$prefix" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (or pass --prefix DIR for a private tree)" >&2; exit 1; }
  if ! id -u "$user" >/dev/null 2>&1; then
    useradd --system --home-dir "$data" --no-create-home --shell /usr/sbin/nologin --comment "Downloads mirror" "$user"
    echo "install.sh: created the system user $user"
  fi
fi

# The shipped unit and configuration name the production paths; under a prefix they name the prefixed ones.
rewrite() { # file: prints it with the three paths moved under the prefix
  if [ -z "$prefix" ]; then cat "$1"; else
    sed -e "s#$app#$prefix$app#g" -e "s#$etc#$prefix$etc#g" -e "s#$data#$prefix$data#g" "$1"
  fi
}

mkdir -p "$prefix$app" "$prefix$etc" "$prefix$data" "$(dirname "$prefix$unit")"
# Each file is copied beside its target and renamed over it: a running mirror keeps its old binary open.
for f in Downloads.Mirror libsodium.so Downloads.Mirror.staticwebassets.endpoints.json VERSION; do
  [ -e "$here/$f" ] || continue
  cp "$here/$f" "$prefix$app/.$f.new"
  mv -f "$prefix$app/.$f.new" "$prefix$app/$f"
done
chmod 0755 "$prefix$app/Downloads.Mirror"
rewrite "$here/downloads-mirror.service" >"$prefix$unit.new"
mv -f "$prefix$unit.new" "$prefix$unit"
chmod 0644 "$prefix$unit"
fresh=
if [ ! -e "$prefix$etc/mirror.env" ]; then
  rewrite "$here/mirror.env.example" >"$prefix$etc/mirror.env"
  fresh=1
fi
rewrite "$here/mirror.env.example" >"$prefix$etc/mirror.env.example"
# The configuration holds the enrollment token: readable by root and the service only.
chmod 0640 "$prefix$etc/mirror.env"
chmod 0750 "$prefix$data"
if [ -z "$prefix" ]; then
  chown "root:$user" "$prefix$etc/mirror.env"
  chown "$user:$user" "$prefix$data"
fi

echo "install.sh: installed $(cat "$here/VERSION" 2>/dev/null || echo '?') in ${prefix:-/}"
if [ -n "$fresh" ]; then
  echo "  next: fill in $prefix$etc/mirror.env with what ops sent you, then"
else
  echo "  kept your $prefix$etc/mirror.env (the new example is beside it); to run the new version:"
fi
echo "        systemctl daemon-reload && systemctl enable --now downloads-mirror && systemctl restart downloads-mirror"
echo "  status: sudo -u $user $prefix$app/Downloads.Mirror status --env-file $prefix$etc/mirror.env"
