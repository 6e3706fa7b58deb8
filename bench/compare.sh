#!/usr/bin/env bash
# compare.sh: vidsift against the Python loop it replaces (bench/peer.py), on the same clips,
# the same TorchScript model and the same number of CPU inference threads.
#
#   bench/compare.sh [--rounds N] [--threads N] [--frames N] [--device cpu|cuda]
#                    [--model yolov5s|centernet] [CLIP...]
#
# Two variants, each measured in --rounds rounds (2), the two programs run one after the other
# (peer first in odd rounds, vidsift first in even ones, so that a drift of the machine's speed
# does not favour either):
#   annotated  `vidsift run` (annotated videos + SQLite)  vs  peer.py (cv2 drawing + VideoWriter)
#   no output  `vidsift run --no-annotate` (SQLite only)   vs  peer.py --no-write
# Frames/s is frames decoded over the time of the frame loop, model loading and warm-up excluded
# in both: vidsift's report.json fps_decoded, the peer's JSON fps.
#
# CLIP defaults to /work/shared/videos/*.mp4 when present, else the forensics-samples-files
# clips. --frames N takes only the first N frames of each clip (stream copy, no re-encode), for a
# quick run. Environment: VIDSIFT (build/vidsift), VIDSIFT_MODELS (build/models), PYTHON
# (/usr/bin/python3: Debian's, which has torch).
# Prints one line per run, then the mean frames/s of each program and the ratio vidsift/peer
# per variant. Exit status: 0 measured, 1 a run failed, 2 usage or setup error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
VIDSIFT=${VIDSIFT:-$root/build/vidsift}
export VIDSIFT_MODELS=${VIDSIFT_MODELS:-$root/build/models}
PYTHON=${PYTHON:-/usr/bin/python3}
rounds=2 threads=$(nproc) frames=0 device=cpu name=yolov5s

die() { echo "compare.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
number() { [[ $2 =~ ^[0-9]+$ ]] || die "$1: '$2' is not a whole number"; }

while [ $# -gt 0 ]; do
    case $1 in
    --rounds) number "$1" "${2-}"; rounds=$2; shift 2 ;;
    --threads) number "$1" "${2-}"; threads=$2; shift 2 ;;
    --frames) number "$1" "${2-}"; frames=$2; shift 2 ;;
    --device) device=${2-}; shift 2 ;;
    --model) name=${2-}; shift 2 ;; # vidsift's default, yolov5s (peer: letterbox 512), or centernet
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (--help)" ;;
    *) break ;;
    esac
done
[ "$rounds" -ge 1 ] || die "--rounds must be at least 1"
[ "$threads" -ge 1 ] || die "--threads must be at least 1"

clips=("$@")
if [ ${#clips[@]} -eq 0 ]; then
    shopt -s nullglob
    clips=(/work/shared/videos/*.mp4)
    [ ${#clips[@]} -gt 0 ] || clips=(/usr/share/forensics-samples/original-files/movie*/*.mp4)
    shopt -u nullglob
    [ ${#clips[@]} -gt 0 ] ||
        die "no clip given, none in /work/shared/videos, and forensics-samples-files is not installed (apt-get install forensics-samples-files)"
fi
for clip in "${clips[@]}"; do [ -r "$clip" ] || die "$clip: not readable"; done

[ -x "$VIDSIFT" ] || die "$VIDSIFT: not built (cmake --build build), or set VIDSIFT"
case $name in yolov5s | centernet) ;; *) die "--model: yolov5s or centernet (the peer decodes those two)" ;; esac
model=$VIDSIFT_MODELS/$name.pt
[ -r "$model" ] || die "$model: missing (./setup.sh prepares it), or set VIDSIFT_MODELS"
"$PYTHON" -c 'import cv2' 2>/dev/null ||
    die "OpenCV for Python is missing for $PYTHON: apt-get install -y python3-opencv"
"$PYTHON" -c 'import torch' 2>/dev/null ||
    die "$PYTHON has no torch: apt-get install -y python3-torch, or set PYTHON"

work=$(mktemp -d "${TMPDIR:-/tmp}/vidsift-compare-XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ "$frames" -gt 0 ]; then
    mkdir "$work/clips"
    cut=()
    for i in "${!clips[@]}"; do
        out=$work/clips/$i-$(basename "${clips[$i]%.*}").mkv
        ffmpeg -nostdin -loglevel error -i "${clips[$i]}" -map 0:v:0 -c copy -frames:v "$frames" \
            "$out" || die "${clips[$i]}: ffmpeg could not copy its first $frames frames"
        cut+=("$out")
    done
    clips=("${cut[@]}")
fi

# field FILE KEY...: a value from a JSON file (nested keys), printed as is
field() {
    "$PYTHON" - "$@" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2:]:
    value = value[key]
print(value)
PY
}

# run_peer VARIANT ROUND: prints "FRAMES FPS RSS_BYTES"
run_peer() {
    local dir=$work/peer-$1-$2 extra=()
    [ "$1" = annotated ] || extra=(--no-write)
    if ! "$PYTHON" "$here/peer.py" --model "$model" --threads "$threads" --device "$device" \
        --out "$dir" "${extra[@]}" "${clips[@]}" >"$work/peer.out" 2>"$work/peer.err"; then
        cat "$work/peer.err" >&2
        echo "compare.sh: peer.py failed" >&2
        exit 1
    fi
    tail -n 1 "$work/peer.out" >"$work/peer.json"
    echo "$(field "$work/peer.json" frames) $(field "$work/peer.json" fps) $(field "$work/peer.json" max_rss_bytes)"
}

# run_vidsift VARIANT ROUND: prints "FRAMES FPS RSS_BYTES"
run_vidsift() {
    local dir=$work/vidsift-$1-$2 extra=()
    [ "$1" = annotated ] || extra=(--no-annotate)
    if ! "$VIDSIFT" run --progress never --quiet --force --out "$dir" --threads "$threads" --model "$name" \
        --device "$device" "${extra[@]}" "${clips[@]}" 2>"$work/vidsift.err"; then
        cat "$work/vidsift.err" >&2
        echo "compare.sh: vidsift run failed" >&2
        exit 1
    fi
    local report=$dir/report.json
    echo "$(field "$report" frames_decoded) $(field "$report" fps_decoded) $(field "$report" memory rss_peak_bytes)"
    rm -rf "$dir" # annotated videos add up over rounds
}

mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }

echo "compare: ${#clips[@]} clip(s), model $model, device $device, $threads CPU inference threads, $rounds round(s)"
for clip in "${clips[@]}"; do echo "  $clip"; done
printf '\n%-10s %5s  %-8s %7s %9s %9s\n' variant round program frames "frames/s" "RSS MiB"
declare -A total
for variant in annotated no-output; do
    total[$variant-peer]=0 total[$variant-vidsift]=0
    for round in $(seq "$rounds"); do
        order=(peer vidsift)
        [ $((round % 2)) -eq 1 ] || order=(vidsift peer)
        for program in "${order[@]}"; do
            read -r n fps rss < <("run_$program" "$variant" "$round")
            [ -n "${fps-}" ] || exit 1 # the run failed; it said why
            printf '%-10s %5s  %-8s %7s %9.2f %9s\n' "$variant" "$round" "$program" "$n" "$fps" "$(mib "$rss")"
            total[$variant-$program]=$(awk -v a="${total[$variant-$program]}" -v b="$fps" 'BEGIN { print a + b }')
        done
    done
done

echo
for variant in annotated no-output; do
    awk -v v="$variant" -v r="$rounds" -v p="${total[$variant-peer]}" -v s="${total[$variant-vidsift]}" \
        'BEGIN { p /= r; s /= r; ratio = p > 0 ? s / p : 0
                 printf "%-10s peer %.2f frames/s, vidsift %.2f frames/s, vidsift/peer %.2fx\n",
                        v, p, s, ratio }'
done
