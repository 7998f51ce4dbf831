#!/usr/bin/env bash
# Makes sure Debian's nginx is installed for the bundle-service tests (test/bundle-service/):
# they serve bundle files with nginx's own ETags, as a bundle server would. The tests start it
# themselves on a loopback port with a generated config, as a child process; no service is enabled.
# Debian 12 ships the binary in the `nginx` package (`nginx-light` only adds modules on top).
set -euo pipefail
if [ -x /usr/sbin/nginx ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-nginx: /usr/sbin/nginx is missing and apt-get is not available; the bundle-service tests against nginx will be skipped." >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "ensure-nginx: installing nginx from Debian (first run only)..." >&2
# Another apt run (ensure-chromium.sh, a neighbour's install) may hold the lock: wait for it.
$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends nginx >&2
