#!/usr/bin/env bash
# bench/int8.sh [CLIP...]: the INT8 YOLOv5s (`--model yolov5s-int8`, made by
# `models/prepare.sh`) against the FP32 default (`yolov5s`) and
# against FP32 with `--optimize`, on real clips (default: the forensics-samples-files
# clips and /work/shared/videos when present): inference alone
# (`vidsift bench --batches 1`, ROUNDS rounds, rotating which goes first), the whole
# run's frames/s and peak RSS, and the detections of each against FP32 at IoU 0.5
# (bench/detections_f1.py). Exit 1 when the INT8 F1 < MIN_F1.
# Environment: VIDSIFT (build/vidsift), VIDSIFT_MODELS (build/models), ROUNDS (2),
# FRAMES (16, frames per inference measurement), EVERY (5, `run --every` for the
# /work/shared clips), MIN_F1 (0.97), PYTHON (python3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VIDSIFT=${VIDSIFT:-build/vidsift}
PYTHON=${PYTHON:-python3}
ROUNDS=${ROUNDS:-2}
FRAMES=${FRAMES:-16}
EVERY=${EVERY:-5}
MIN_F1=${MIN_F1:-0.97}
clips=("$@")
[ ${#clips[@]} -gt 0 ] || clips=(/usr/share/forensics-samples/original-files/movie*/*.mp4)
[ -f "${clips[0]}" ] || { echo "int8.sh: no clip (apt-get install forensics-samples-files)" >&2; exit 2; }
shared=()
[ $# -gt 0 ] || for f in /work/shared/videos/*.mp4; do [ -f "$f" ] && shared+=("$f"); done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

infer_fps() { # infer_fps MODEL [options]: inference alone at batch 1, frames/s
    local model=$1; shift
    "$VIDSIFT" bench --device cpu --model "$model" "$@" --frames "$FRAMES" --batches 1 --batch 1 \
        --no-annotate --no-store --json "${clips[0]}" 2>/dev/null |
        "$PYTHON" -c 'import json,sys; r=json.load(sys.stdin); print([s["fps"] for s in r["stages"] if s["stage"]=="infer"][0])'
}
echo "inference alone, batch 1, frames/s (fp32, fp32 --optimize, int8; int8/fp32):"
for round in $(seq "$ROUNDS"); do
    case $((round % 3)) in
    1) a=$(infer_fps yolov5s); b=$(infer_fps yolov5s --optimize); c=$(infer_fps yolov5s-int8) ;;
    2) c=$(infer_fps yolov5s-int8); a=$(infer_fps yolov5s); b=$(infer_fps yolov5s --optimize) ;;
    0) b=$(infer_fps yolov5s --optimize); c=$(infer_fps yolov5s-int8); a=$(infer_fps yolov5s) ;;
    esac
    echo "  round $round: $a $b $c $(echo "$c / $a" | bc -l | cut -c1-5)"
done

run() { # run NAME [options]: the whole run on the clips, SQLite only
    local name=$1; shift
    "$VIDSIFT" run --quiet --device cpu --no-annotate "$@" --out "$work/$name" "${clips[@]}"
    "$VIDSIFT" export "$work/$name" --format jsonl >"$work/$name.jsonl"
    "$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  %s: %.2f frames/s, peak RSS %d MiB" % (sys.argv[2], r["fps_decoded"], r["memory"]["rss_peak_bytes"] >> 20))' \
        "$work/$name/report.json" "$name"
    if [ ${#shared[@]} -gt 0 ]; then
        "$VIDSIFT" run --quiet --device cpu --no-annotate --every "$EVERY" "$@" --out "$work/$name-shared" "${shared[@]}"
        "$VIDSIFT" export "$work/$name-shared" --format jsonl >"$work/$name-shared.jsonl"
    fi
}
echo "vidsift run --no-annotate on ${#clips[@]} clips (detections also on ${#shared[@]} more, --every $EVERY):"
run fp32 --model yolov5s
run int8 --model yolov5s-int8
echo "detections against fp32 (IoU 0.5, same class):"
result=$("$PYTHON" "$here/detections_f1.py" "$work/fp32.jsonl" "$work/int8.jsonl")
echo "  int8, ${#clips[@]} clips: $result"
if [ ${#shared[@]} -gt 0 ]; then
    cat "$work/fp32.jsonl" "$work/fp32-shared.jsonl" >"$work/fp32-all.jsonl"
    cat "$work/int8.jsonl" "$work/int8-shared.jsonl" >"$work/int8-all.jsonl"
    result=$("$PYTHON" "$here/detections_f1.py" "$work/fp32-all.jsonl" "$work/int8-all.jsonl")
    echo "  int8, all $((${#clips[@]} + ${#shared[@]})) clips: $result"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["f1"] >= float(sys.argv[2]) else 1)' \
    "$result" "$MIN_F1" || { echo "int8.sh: F1 under $MIN_F1" >&2; exit 1; }
