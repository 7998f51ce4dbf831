#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the report's browser test. Test tools'
# own browser downloads cannot reach the network here, so the browser comes from apt.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: /usr/bin/chromium is missing and apt-get is not available; the report browser test will be skipped." >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "ensure-chromium: installing chromium from Debian (first run only)..." >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
