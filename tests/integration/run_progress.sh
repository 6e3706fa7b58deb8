# Progress that tells the truth: plain lines (no carriage return) when stderr is not a
# terminal, `--progress jsonl` objects on stdout with the container's frame count, and
# videos.frames_analysed advancing in the database while a video is analysed.
source "$(dirname "$0")/common.bash"
# The real model: its cost per frame gives these short clips the seconds that progress lines
# (one a second) and a watcher polling the database need.
export VIDSIFT_DEFAULT_MODEL=$REAL_MODEL

make_clip "$WORK/long.mp4" 96x64 120 10 -c:v libx264 -pix_fmt yuv420p
make_clip "$WORK/short.mp4" 96x64 30 10 -c:v libx264 -pix_fmt yuv420p

run_vidsift 0 --out "$WORK/lines" --no-annotate --progress always --every 4 --batch 2 "$WORK/long.mp4"
grep -q $'\r' "$WORK/stderr" && fail "--progress always on a file wrote carriage returns"
grep -q $'\e' "$WORK/stderr" && fail "--progress always on a file wrote terminal escapes"
grep -qE '^vidsift: \[[0-9]+/1 videos\] [0-9]+%, [0-9]+ frames' "$WORK/stderr" ||
    fail "no plain progress line: $(head -3 "$WORK/stderr")"
pass "--progress always on a non-terminal writes plain lines with a percentage"

# jsonl: one object per line on stdout; counts only grow; the total is the containers'
# (150 frames) whatever --every samples; never above 100 %.
"$VIDSIFT" run --out "$WORK/jsonl" --no-annotate --progress jsonl --every 3 --batch 2 \
    "$WORK/long.mp4" "$WORK/short.mp4" >"$WORK/progress.jsonl" 2>"$WORK/stderr" ||
    { cat "$WORK/stderr" >&2; fail "the jsonl run failed"; }
python3 - "$WORK/progress.jsonl" <<'PY' || fail "--progress jsonl is not what it should be"
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
if not lines:
    sys.exit("no progress object")
keys = {"elapsed_s", "videos", "videos_finished", "videos_skipped", "frames_done", "frames_expected",
        "frames_expected_estimated", "percent", "fps", "eta_s", "working_on"}
last = None
for p in lines:
    if set(p) != keys:
        sys.exit(f"keys {sorted(p)}")
    if p["videos"] != 2 or not 0 <= p["videos_finished"] <= 2:
        sys.exit(f"videos: {p}")
    if p["percent"] is not None and not 0 <= p["percent"] <= 100:
        sys.exit(f"percent: {p}")
    if p["frames_expected"] is not None and not p["frames_expected_estimated"] and p["frames_expected"] != 150:
        sys.exit(f"expected 150 frames (120 + 30): {p}")
    if p["frames_done"] > 150:
        sys.exit(f"more frames done than the videos have: {p}")
    if last and (p["frames_done"] < last["frames_done"] or p["videos_finished"] < last["videos_finished"]
                 or p["elapsed_s"] < last["elapsed_s"]):
        sys.exit(f"went back: {last} then {p}")
    last = p
print(f"{len(lines)} progress objects, last {last['frames_done']} frames, {last['percent']} %")
PY
pass "--progress jsonl: one object a second, growing counts, the containers' 150 frames, <= 100 %"

# Another process watching the database sees frames_analysed grow during the video.
"$VIDSIFT" run --out "$WORK/watch" --no-annotate --progress never --batch 1 "$WORK/long.mp4" \
    >/dev/null 2>"$WORK/stderr" &
pid=$!
seen=""
while kill -0 "$pid" 2>/dev/null; do
    value=$(sql "$WORK/watch/results.db" "select frames_analysed from videos where status = 'running'" 2>/dev/null || true)
    [ -n "$value" ] && [ "$value" -gt 0 ] && [ "$value" -lt 120 ] && seen="$seen $value"
    sleep 0.1
done
wait "$pid" || { cat "$WORK/stderr" >&2; fail "the watched run failed"; }
[ "$(sql "$WORK/watch/results.db" "select frames_analysed || ' ' || status from videos")" = "120 done" ] ||
    fail "after the run: $(sql "$WORK/watch/results.db" "select frames_analysed, status from videos")"
[ -n "$seen" ] || fail "frames_analysed never seen between 0 and 120 while the video ran"
pass "frames_analysed advances during the video (seen:$(echo $seen | cut -c1-40)...), 120 at the end"

finish
