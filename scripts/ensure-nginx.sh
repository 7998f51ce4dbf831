#!/usr/bin/env bash
# Makes sure Debian's nginx is installed for the bundle-service tests (test/bundle-service/):
# they serve bundle files with nginx's own ETags, as a bundle server would. The tests start it
# themselves on a loopback port with a generated config, as a child process; no service is enabled.
# Debian 12 ships the binary in the `nginx` package (`nginx-light` only adds modules on top).
set -euo pipefail
exec "$(dirname "$0")/ensure-debian-package.sh" ensure-nginx /usr/sbin/nginx nginx "the bundle-service tests against nginx" --no-install-recommends
