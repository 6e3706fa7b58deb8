#!/usr/bin/env bash
# bench/optimize.sh [CLIP...]: `vidsift run --optimize` (the model frozen and
# optimized for inference at load) against the plain model, on real clips
# (default: the forensics-samples-files clips): inference alone
# (`vidsift bench --batches 1`, ROUNDS rounds alternating which goes first), the
# whole run's frames/s and peak RSS, and the detections compared at IoU 0.5
# (bench/detections_f1.py, the plain run as reference). Exit 1 when F1 < MIN_F1.
# Environment: VIDSIFT (build/vidsift), VIDSIFT_MODELS (build/models), ROUNDS (2),
# FRAMES (16, frames per inference measurement), MIN_F1 (0.97), PYTHON (python3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VIDSIFT=${VIDSIFT:-build/vidsift}
PYTHON=${PYTHON:-python3}
ROUNDS=${ROUNDS:-2}
FRAMES=${FRAMES:-16}
MIN_F1=${MIN_F1:-0.97}
clips=("$@")
[ ${#clips[@]} -gt 0 ] || clips=(/usr/share/forensics-samples/original-files/movie*/*.mp4)
[ -f "${clips[0]}" ] || { echo "optimize.sh: no clip (apt-get install forensics-samples-files)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

infer_fps() { # infer_fps [--optimize]: inference alone at batch 1, frames/s
    "$VIDSIFT" bench --device cpu "$@" --frames "$FRAMES" --batches 1 --batch 1 --no-annotate \
        --no-store --json "${clips[@]}" 2>/dev/null |
        "$PYTHON" -c 'import json,sys; r=json.load(sys.stdin); print([s["fps"] for s in r["stages"] if s["stage"]=="infer"][0])'
}
echo "inference alone, batch 1, frames/s (plain, optimized, ratio):"
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then plain=$(infer_fps); opt=$(infer_fps --optimize)
    else opt=$(infer_fps --optimize); plain=$(infer_fps); fi
    echo "  round $round: $plain $opt $(echo "$opt / $plain" | bc -l | cut -c1-5)"
done

run() { # run NAME [options]: the whole run on the clips, SQLite only
    local name=$1; shift
    "$VIDSIFT" run --quiet --device cpu --no-annotate "$@" --out "$work/$name" "${clips[@]}"
    "$VIDSIFT" export "$work/$name" --format jsonl >"$work/$name.jsonl"
    "$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  %s: %.2f frames/s, peak RSS %d MiB" % (sys.argv[2], r["fps_decoded"], r["memory"]["rss_peak_bytes"] >> 20))' \
        "$work/$name/report.json" "$name"
}
echo "vidsift run --no-annotate on ${#clips[@]} clips:"
run plain
run optimized --optimize
echo "detections, optimized against plain (IoU 0.5, same class):"
result=$("$PYTHON" "$here/detections_f1.py" "$work/plain.jsonl" "$work/optimized.jsonl")
echo "  $result"
"$PYTHON" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["f1"] >= float(sys.argv[2]) else 1)' \
    "$result" "$MIN_F1" || { echo "optimize.sh: F1 under $MIN_F1" >&2; exit 1; }
