# A lean `vidsift run --batch 1` on the CPU - yolov5s, annotated video and SQLite - peaks
# under 500 MiB of RSS on the 1080p forensics clip (issue 18: core/plan.c sizes the decoded
# queue from the batch and encodes with a lean x264 beside CPU inference; measured 434-490
# MiB, bench/RESULTS.md), and records the batch it ran. The default batch on the CPU is 4
# (0.94x batch 8's speed at 822 MiB): batch 1 costs speed, so it is the user's choice. The sanitizer
# build's allocator holds far more: reported as skipped (exit 77) there, measured in the
# Release build.
source "$(dirname "$0")/common.bash"
unset VIDSIFT_DEFAULT_MODEL # the default model is what the limit is about
if ldd "$VIDSIFT" | grep libasan >/dev/null; then # grep reads it all: with -q, pipefail can see ldd's SIGPIPE
    echo "skipped: $VIDSIFT is built with AddressSanitizer, whose allocator keeps freed memory; measured in the Release build"
    exit 77
fi
dog="$FORENSICS/movie1/VID_20191220_170832.mp4"
[ -f "$dog" ] || fail "forensics-samples-files is not installed (setup.sh installs it)"

run_vidsift 0 --device cpu --batch 1 --out "$WORK/out" "$dog"
[ -s "$WORK/out/annotated/VID_20191220_170832.mp4" ] || fail "no annotated video"
peak=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["memory"]["rss_peak_bytes"])' \
    "$WORK/out/report.json")
echo "peak RSS $((peak >> 20)) MiB"
[ "$peak" -le $((500 << 20)) ] || fail "peak RSS $((peak >> 20)) MiB, over 500 MiB"
pass "--batch 1 run on the 1080p clip: peak RSS $((peak >> 20)) MiB <= 500 MiB"

batch=$(sql "$WORK/out/results.db" "select json_extract(options, '$.batch') from runs")
[ "$batch" = 1 ] || fail "the run recorded batch '$batch', expected 1"
pass "runs.options records batch 1, the batch it ran"
finish
