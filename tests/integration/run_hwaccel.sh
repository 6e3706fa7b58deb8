#!/usr/bin/env bash
# run_hwaccel.sh: --hwaccel (NVDEC decoding) and --preprocess (torch on the model's device) on a
# machine without a GPU, as CI has: --hwaccel cuda falls back to software decoding, says so once
# on the terminal and in report.json, and finds what the software run finds; --preprocess torch
# runs the shim's torch path on the CPU and finds what swscale's path finds (equal for the
# CenterNet, whose host pictures reach torch as swscale's RGB; within 0.01 in score and 1 px for
# yolov5s, whose letterbox torch resizes itself: see tests/unit/test_preprocess_torch.c).
source "$(dirname "$0")/common.bash"

dog="$FORENSICS/movie1/VID_20191220_170832.mp4"
[ -f "$dog" ] || fail "missing $dog (forensics-samples)"
clip="$WORK/dog12.mp4"
ffmpeg -nostdin -loglevel error -y -i "$dog" -frames:v 12 -c:v libx264 -pix_fmt yuv420p "$clip" ||
    fail "could not cut $clip"

# decoding FIELD OUT: report.json's decoding.FIELD ("" when absent)
decoding() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decoding"].get(sys.argv[2], ""))' \
        "$2/report.json" "$1"
}

# close A B MAX_SCORE MAX_BOX: the same rows, scores and boxes within the limits
close() {
    python3 - "$1" "$2" "$3" "$4" <<'PY'
import sys
def rows(path):
    return [line.rstrip("\n").split("|") for line in open(path)]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
max_score, max_box = float(sys.argv[3]), float(sys.argv[4])
if len(a) != len(b) or not a:
    sys.exit(f"{len(a)} rows against {len(b)}")
for x, y in zip(a, b):
    box = max(abs(float(p) - float(q)) for p, q in zip(x[4].split(), y[4].split()))
    if x[:3] != y[:3] or abs(float(x[3]) - float(y[3])) > max_score or box > max_box:
        sys.exit(f"differ: {x} against {y}")
PY
}

# The software run every other run is compared with. Every run is pinned to the CPU, so that
# the test means the same on a GPU machine (auto would pick CUDA, torch and NVDEC there).
run_vidsift 0 --device cpu --model centernet --no-annotate --out "$WORK/software" "$clip"
[ "$(decoding decoder "$WORK/software")" = software ] || fail "decoder is not software"
[ "$(decoding preprocess "$WORK/software")" = swscale ] || fail "preprocess is not swscale on CPU"
[ -z "$(decoding hwaccel_note "$WORK/software")" ] || fail "a note without --hwaccel"
detections "$WORK/software/results.db" >"$WORK/software.txt"
[ -s "$WORK/software.txt" ] || fail "the software run found nothing to compare"
pass "auto with a CPU model: software decoding, swscale preprocessing, no note"

run_vidsift 0 --device cpu --model centernet --no-annotate --hwaccel cuda --out "$WORK/cuda" "$clip"
detections "$WORK/cuda/results.db" >"$WORK/cuda.txt"
notes=$(cat "$WORK/stdout" "$WORK/stderr" | grep -c -- "--hwaccel cuda: " || true)
if [ "$(decoding decoder "$WORK/cuda")" = nvdec ]; then
    # A GPU machine whose FFmpeg decodes with NVDEC (bench/gpu.sh): H.264 decoding is exact,
    # only the copy from NV12 differs from the software run's pictures.
    [ "$notes" -eq 0 ] || fail "NVDEC decoded, yet the terminal says it did not"
    close "$WORK/software.txt" "$WORK/cuda.txt" 0.002 0.5 || fail "NVDEC found other boxes"
    pass "--hwaccel cuda with a GPU: NVDEC decoded, the software run's detections"
else
    if nvidia-smi -L >/dev/null 2>&1; then
        echo "note: a GPU is present, but: $(decoding hwaccel_note "$WORK/cuda")"
    fi
    [ "$notes" -eq 1 ] || fail "the fallback was said $notes times on the terminal, not once"
    decoding hwaccel_note "$WORK/cuda" | grep -q "software" ||
        fail "report.json has no fallback note: $(decoding hwaccel_note "$WORK/cuda")"
    same_detections "$WORK/software.txt" "$WORK/cuda.txt" || fail "--hwaccel cuda found other boxes"
    pass "--hwaccel cuda without NVDEC: one note, software decoding, the same detections"
fi

run_vidsift 0 --device cpu --model centernet --no-annotate --hwaccel none --out "$WORK/none" "$clip"
[ -z "$(decoding hwaccel_note "$WORK/none")" ] || fail "a note with --hwaccel none"
pass "--hwaccel none: no note"

run_vidsift 0 --device cpu --model centernet --no-annotate --preprocess torch --out "$WORK/torch" "$clip"
[ "$(decoding preprocess "$WORK/torch")" = torch ] || fail "preprocess is not torch"
detections "$WORK/torch/results.db" >"$WORK/torch.txt"
same_detections "$WORK/software.txt" "$WORK/torch.txt" ||
    fail "--preprocess torch found other boxes than swscale (CenterNet)"
pass "--preprocess torch on CPU, CenterNet: the same detections as swscale"

run_vidsift 0 --device cpu --model yolov5s --no-annotate --out "$WORK/yolo_swscale" "$clip"
run_vidsift 0 --device cpu --model yolov5s --no-annotate --preprocess torch --hwaccel cuda \
    --out "$WORK/yolo_torch" "$clip"
detections "$WORK/yolo_swscale/results.db" >"$WORK/yolo_swscale.txt"
detections "$WORK/yolo_torch/results.db" >"$WORK/yolo_torch.txt"
close "$WORK/yolo_swscale.txt" "$WORK/yolo_torch.txt" 0.01 1.0 ||
    fail "--preprocess torch found other boxes than swscale (yolov5s)"
pass "--preprocess torch on CPU, yolov5s letterbox: detections within 0.01 and 1 px"

run_vidsift 2 --hwaccel vdpau --out "$WORK/bad" "$clip"
grep -q "auto, none or cuda" "$WORK/stderr" || fail "no usage line for --hwaccel vdpau"
run_vidsift 2 --preprocess gpu --out "$WORK/bad" "$clip"
grep -q "auto, swscale or torch" "$WORK/stderr" || fail "no usage line for --preprocess gpu"
pass "unknown --hwaccel and --preprocess values refused with the choices"

finish
