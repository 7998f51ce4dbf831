#!/usr/bin/env bash
# Builds the default policy bundle (Wasm, entrypoint kernel/violations) from rego/
# with the pinned OPA and a capabilities file without clock/random/network builtins.
# Reproducible: the revision is a content hash of the sources, and unchanged
# sources rebuild to a byte-identical tarball.
#
#   scripts/build-bundle.sh                 build bundle/default.tar.gz
#   scripts/build-bundle.sh --out PATH      build to PATH instead
#   scripts/build-bundle.sh --check         fail if bundle/default.tar.gz (or --out PATH)
#                                           is not what the sources build to
#   scripts/build-bundle.sh --rego DIR --out PATH   build another folder laid out as rego/
#                                           (policy-kernel build); DIR is never written to
#   scripts/build-bundle.sh --revision R    the manifest's revision instead of rego-<hash>
#   scripts/build-bundle.sh --revision-prefix P   P before rego-<hash> (policy-kernel build: git-<commit>-)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caller="$PWD"

out="bundle/default.tar.gz"
out_given=0
check=0
rego_dir=""
revision_given=""
revision_prefix=""
# What a stale or missing bundle tells the user to run: policy-kernel build passes its own command.
rebuild="scripts/build-bundle.sh"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "build-bundle: --out needs a path" >&2; exit 2; }; out="$2"; out_given=1; shift 2 ;;
    --out=*) out="${1#--out=}"; out_given=1; shift ;;
    --rego) [ $# -ge 2 ] || { echo "build-bundle: --rego needs a folder" >&2; exit 2; }; rego_dir="$2"; shift 2 ;;
    --rebuild-hint) [ $# -ge 2 ] || { echo "build-bundle: --rebuild-hint needs a command" >&2; exit 2; }; rebuild="$2"; shift 2 ;;
    --revision) [ $# -ge 2 ] || { echo "build-bundle: --revision needs a value" >&2; exit 2; }; revision_given="$2"; shift 2 ;;
    --revision-prefix) [ $# -ge 2 ] || { echo "build-bundle: --revision-prefix needs a value" >&2; exit 2; }; revision_prefix="$2"; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-bundle: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

# --out is relative to where the script was called from; the default to the repo.
case "$out" in /*|bundle/default.tar.gz) ;; *) out="$caller/$out" ;; esac
if [ -n "$rego_dir" ]; then
  [ "$out_given" = 1 ] || { echo "build-bundle: --rego needs --out (the repository's bundle/default.tar.gz is built from its own rego/)" >&2; exit 2; }
  case "$rego_dir" in /*) ;; *) rego_dir="$caller/$rego_dir" ;; esac
  [ -d "$rego_dir" ] || { echo "build-bundle: $rego_dir is not a folder" >&2; exit 1; }
  src_label="$rego_dir"
else
  src_label="rego"
fi

# opa loads every .json/.yaml/.tar.gz under rego/ as data or bundles: keep it clean.
stray="$(cd "${rego_dir:-$root/rego}" && find . -mindepth 1 \( -type d -o -type f \) ! -name '*.rego' ! -name 'data.json' -print | sed 's#^\./##' | LC_ALL=C sort)"
if [ -n "$stray" ]; then
  echo "build-bundle: only *.rego and data.json may live in $src_label/ (opa would load the rest); found:" >&2
  echo "$stray" | sed 's/^/  /' >&2
  exit 1
fi

opa="$("$root/scripts/ensure-opa.sh")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [ -n "$rego_dir" ]; then
  # Another folder is built from a copy named rego/, as the repository's is: the same sources
  # build the same bytes wherever they live, and the generated kernel.rego goes into the copy.
  mkdir -p "$tmp/user/rego"
  [ -f "$rego_dir/data.json" ] || { echo "build-bundle: $rego_dir/data.json is missing (it lists the policies: {\"policy_kernel\": {\"policies\": [...]}})" >&2; exit 1; }
  find "$rego_dir" -maxdepth 1 -type f \( -name '*.rego' -o -name 'data.json' \) -exec cp {} "$tmp/user/rego/" \;
  cd "$tmp/user"
else
  cd "$root" # opa build records paths relative to the working directory
fi

# The aggregate entrypoint is generated from data.json's policy list and the policies'
# action-type guards: refresh it (or, under --check, fail when it is stale, since the
# bundle would be too). Its per-type entrypoints carry `entrypoint: true` annotations.
if [ -n "$rego_dir" ]; then node "$root/scripts/gen-kernel-rego.mjs" --opa "$opa" >/dev/null
elif [ "$check" = 1 ]; then node scripts/gen-kernel-rego.mjs --opa "$opa" --check; else node scripts/gen-kernel-rego.mjs --opa "$opa"; fi
version="$(tr -d '[:space:]' < "$root/scripts/opa-version.txt")"

caps="$tmp/capabilities.json"
"$opa" capabilities --current | node "$root/scripts/capabilities-filter.mjs" > "$caps"
# Keep a copy for people who compile their own Rego against the same rules (in the repository only).
if [ -z "$rego_dir" ]; then
  mkdir -p .tools && cp "$caps" ".tools/opa-$version-capabilities.json.tmp.$$" \
    && mv -f ".tools/opa-$version-capabilities.json.tmp.$$" ".tools/opa-$version-capabilities.json"
fi

# Revision: sha256 over the shipped sources (sorted names, each name and
# content NUL-terminated), so it changes exactly when the policy changes.
sources="$(find rego -maxdepth 1 -type f \( -name '*.rego' -o -name 'data.json' \) ! -name '*_test.rego' -print | LC_ALL=C sort)"
[ -n "$sources" ] || { echo "build-bundle: no policy sources in rego/" >&2; exit 1; }
revision="rego-$(
  for f in $sources; do printf '%s\0' "$f"; cat "$f"; printf '\0'; done | sha256sum | cut -c1-16
)"
# The repository's own bundle keeps the content revision alone: `make bundle-check` must rebuild the
# same bytes from any checkout, tarball or npm package, and committing the bundle moves HEAD.
revision="$revision_prefix$revision"
[ -z "$revision_given" ] || revision="$revision_given"

# The aggregate (kernel/violations) and its two halves (docs/guides/writing-policies.md: "In Rego").
entrypoints=(kernel/violations kernel/policy_violations kernel/config_violations)
# --prune-unused: without it, every rule that refers (directly or not) to an entrypoint becomes
# an entrypoint too (`opa build --help`), and a function can be none: sql's denied_by reads
# deny, which reads its `prepare` entrypoint (docs/rego-internals.md: "Prepared values"), so the build failed
# with "function ... used as reference, not called" (OPA issues 4411, 5028, 5590).
opa_build() { # opa_build OUT: compile ./rego/ (run from the folder holding it)
  "$opa" build -t wasm --prune-unused "${entrypoints[@]/#/--entrypoint=}" \
    --capabilities "$caps" \
    --revision "$revision" \
    --ignore '*_test.rego' \
    -o "$1" rego/
}

# Two passes: the first build's modules (opa build reformats them) are hashed into the build
# record (scripts/build-record.mjs), which the final build carries in its data.json.
opa_build "$tmp/first.tar.gz"
mkdir -p "$tmp/first" "$tmp/src/rego"
tar -xzf "$tmp/first.tar.gz" -C "$tmp/first" 2>/dev/null
for f in $sources; do [ "$(basename "$f")" = data.json ] || cp "$f" "$tmp/src/rego/"; done
node "$root/scripts/build-record.mjs" --opa "$opa" --src rego "${entrypoints[@]/#/--entrypoint=}" \
  --modules "$tmp/first" --data-in rego/data.json --data-out "$tmp/src/rego/data.json"
built="$tmp/bundle.tar.gz"
(cd "$tmp/src" && opa_build "$built")
mkdir -p "$tmp/final" && tar -xzf "$built" -C "$tmp/final" 2>/dev/null
if ! diff -r -x data.json "$tmp/first" "$tmp/final" >/dev/null; then
  echo "build-bundle: the final build differs from the first beyond data.json; the build record would not match" >&2
  diff -r -x data.json "$tmp/first" "$tmp/final" >&2 || true
  exit 1
fi

# Belt and braces: the bundle must hold the Wasm, the data and no tests.
listing="$(tar -tzPf "$built")" # -P: list names as stored, without a warning per leading "/"
for want in /policy.wasm /data.json /.manifest; do
  grep -qx "$want" <<<"$listing" || { echo "build-bundle: $want missing from the built bundle" >&2; exit 1; }
done
if grep -q '_test\.rego$' <<<"$listing"; then
  echo "build-bundle: test files leaked into the bundle:" >&2; grep '_test\.rego$' <<<"$listing" >&2; exit 1
fi

sum() { sha256sum "$1" | cut -d' ' -f1; }

if [ "$check" = 1 ]; then
  if [ ! -f "$out" ]; then
    echo "build-bundle: $out does not exist; run $rebuild to build it" >&2
    exit 1
  fi
  want="$(sum "$built")"
  have="$(sum "$out")"
  if [ "$want" != "$have" ]; then
    echo "build-bundle: $out is stale (OPA $version, revision $revision)" >&2
    echo "  sha256 of $out: $have" >&2
    echo "  sha256 built from $src_label/: $want" >&2
    echo "  run $rebuild to refresh it" >&2
    exit 1
  fi
  echo "build-bundle: $out is up to date ($revision, sha256 $have)"
  exit 0
fi

mkdir -p "$(dirname "$out")"
cp "$built" "$out.tmp.$$" && mv -f "$out.tmp.$$" "$out"
echo "build-bundle: wrote $out ($revision, sha256 $(sum "$out"), OPA $version)"

# Load it once in the JS SDK when it is installed: proves the Wasm runs and
# needs no host-implemented builtins.
# (Its sample inputs expect the shipped policies, so only for the repository's own rego/.)
if [ -z "$rego_dir" ] && [ -d node_modules/@open-policy-agent/opa-wasm ]; then
  node scripts/bundle-smoke.mjs --quiet "$out"
fi
