#!/usr/bin/env bash
# Prints the path of an `opa` binary of the pinned version (scripts/opa-version.txt).
# Uses `opa` from PATH when it is that version; otherwise installs it once with
# `go install` (Go module proxy only, no prebuilt download): into the git-ignored .tools/ of a
# clone, or, for an installed package (no .git), into the user's cache, never into node_modules.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(tr -d '[:space:]' < "$root/scripts/opa-version.txt")"

# True when binary $1 reports the pinned version. Its output is read whole first: with pipefail,
# `opa version | grep -q` fails whenever grep exits before opa has written its last line (SIGPIPE).
is_pinned() {
  local out
  out="$("$1" version 2>/dev/null)" || return 1
  grep -qx "Version: ${version#v}" <<<"$out"
}

if command -v opa >/dev/null 2>&1 && is_pinned opa; then
  command -v opa
  exit 0
fi

if [ -e "$root/.git" ]; then
  dest="$root/.tools/opa-$version/bin"
else
  dest="${XDG_CACHE_HOME:-$HOME/.cache}/policy-kernel/opa-$version/bin"
fi
if [ -x "$dest/opa" ]; then
  echo "$dest/opa"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "ensure-opa: OPA $version is needed to compile Rego, and neither it nor Go is on PATH." >&2
  echo "ensure-opa: either put opa $version on PATH (https://github.com/open-policy-agent/opa/releases/tag/$version)," >&2
  echo "ensure-opa: or install Go >= 1.24 (https://go.dev/dl/) and run this again: it installs OPA once into $dest." >&2
  echo "ensure-opa: the shipped default bundle works without either." >&2
  exit 1
fi

echo "ensure-opa: installing OPA $version with go install (first run only, takes a few minutes)..." >&2
tmp="$dest.partial"
rm -rf "$tmp" && mkdir -p "$tmp"
GOBIN="$tmp" CGO_ENABLED=0 go install "github.com/open-policy-agent/opa@$version" >&2
mv "$tmp/opa" "$dest.opa" 2>/dev/null || true
mkdir -p "$dest" && mv "$dest.opa" "$dest/opa" && rm -rf "$tmp"
is_pinned "$dest/opa" || { echo "ensure-opa: installed binary is not OPA $version ($("$dest/opa" version 2>&1 | head -1))" >&2; exit 1; }
echo "$dest/opa"
