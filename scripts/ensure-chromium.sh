#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the report's browser test. Test tools'
# own browser downloads cannot reach the network here, so the browser comes from apt.
set -euo pipefail
exec "$(dirname "$0")/ensure-debian-package.sh" ensure-chromium /usr/bin/chromium chromium "the report browser test"
