#!/usr/bin/env bash
# Installs a Debian package once, for a test that needs its binary: the shared body of
# ensure-chromium.sh and ensure-nginx.sh. Without apt-get it says which tests will be skipped and
# succeeds, so `make test` still runs everything else.
#   scripts/ensure-debian-package.sh NAME BINARY PACKAGE "WHAT IS SKIPPED WITHOUT IT" [apt-get install flags...]
set -euo pipefail
name=$1 binary=$2 package=$3 skipped=$4
shift 4
if [ -x "$binary" ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$name: $binary is missing and apt-get is not available; $skipped will be skipped." >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "$name: installing $package from Debian (first run only)..." >&2
# Another apt run (the other ensure script, a neighbour's install) may hold the lock: wait for it.
$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" "$package" >&2
