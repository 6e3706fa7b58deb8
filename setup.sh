#!/usr/bin/env bash
# setup.sh: takes a fresh Debian 12 machine to a working vidsift.
#
#   ./setup.sh          install packages, prepare the models, Release build (build/)
#   ./setup.sh test     the above, plus the sanitizer build (build-asan/), then every test in both
#   ./setup.sh demo     the above build, then `vidsift run` on the forensics sample clips
#
# Idempotent: each step checks whether its work is already done, so a second
# run takes seconds. Any failing step stops the script with a one-line reason.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake pkg-config git ca-certificates
    libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg
    libtorch-dev python3-torch python3-numpy
    libturbojpeg0-dev libsqlite3-dev sqlite3 libcjson-dev libcmocka-dev
    nodejs npm forensics-samples-files bc valgrind libhiredis-dev redis-server
    chromium fonts-liberation python3-pil)
JOBS=$(nproc 2>/dev/null || echo 2)

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        # nodejs from another repository also provides npm: accept it.
        if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo=sudo
    fi
    say "installing ${missing[*]}"
    $sudo apt-get update -q >/tmp/vidsift-apt.log 2>&1 ||
        die "apt-get update failed (is Debian's package registry reachable?): see /tmp/vidsift-apt.log"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >>/tmp/vidsift-apt.log 2>&1 ||
        die "apt-get install failed (registry unreachable or disk full?): see /tmp/vidsift-apt.log"
}

build() { # build DIR [cmake options...]
    local dir=$1; shift
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        cmake -S . -B "$dir" "$@" >"$dir.configure.log" 2>&1 ||
            { tail -20 "$dir.configure.log" >&2; die "cmake configure of $dir failed"; }
    fi
    cmake --build "$dir" -j "$JOBS" >"$dir.build.log" 2>&1 ||
        { grep -E 'error|Error' "$dir.build.log" | head -20 >&2; die "build of $dir failed: see $dir.build.log"; }
}

prepare_models() { # prepare_models DIR
    bash models/prepare.sh "$1" || die "could not prepare the models (yolov5s, centernet) into $1"
}

install_packages
build build -DCMAKE_BUILD_TYPE=Release
prepare_models build/models

case "${1:-build}" in
build) say "ready: build/vidsift" ;;
test)
    build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVS_SANITIZE=ON
    prepare_models build-asan/models
    status=0
    (cd build && ctest --output-on-failure -j "$JOBS") || status=1
    # -LE real_model: the tests of a real model's numbers run in the Release build only
    # (CMakeLists.txt, README "Tests").
    (cd build-asan && ctest --output-on-failure -j "$JOBS" -LE real_model) || status=1
    exit $status
    ;;
demo)
    clips=/usr/share/forensics-samples/original-files
    # Tracking (on by default) and counting: a line down the middle of the picture counts
    # the tracks that cross it, each way; snapshots give the report its thumbnails.
    mkdir -p vidsift-demo
    printf '%s\n' '{"units": "fractions", "zones": [{"name": "middle", "type": "line",' \
        ' "points": [[0.5, 0.0], [0.5, 1.0]], "directions": ["to the left", "to the right"]}]}' \
        >vidsift-demo/zones.json
    status=0
    build/vidsift run --out vidsift-demo --snapshots --zones vidsift-demo/zones.json \
        "$clips/movie1/VID_20191220_170832.mp4" "$clips/movie2/movie-hello.mp4" || status=$?
    [ -f vidsift-demo/report.html ] && say "open $(pwd)/vidsift-demo/report.html in a browser"
    exit $status
    ;;
*) die "usage: ./setup.sh [build|test|demo]" ;;
esac
