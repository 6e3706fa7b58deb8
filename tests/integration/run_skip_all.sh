# A rerun with nothing left to do: every video complete in the database under the same
# analysis. It must not load the model (the --json summary says model_loaded false, and its
# peak RSS is far below a run that loaded it), must not record a run, and must keep the last
# report.json and report.html byte for byte; it says "nothing to do" and exits 0. A changed
# option redoes the videos and rewrites the reports. Also: a run in which no frame was
# decoded names no bottleneck.
source "$(dirname "$0")/common.bash"
# The real model: its weights are what the peak RSS of a run that loads it shows.
export VIDSIFT_DEFAULT_MODEL=$REAL_MODEL

json_field() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."): d = d[key]
print(json.dumps(d))' "$@"; }

make_clip "$WORK/a.mp4" 96x64 12 10 -c:v libx264 -pix_fmt yuv420p
make_clip "$WORK/b.mp4" 96x64 8 10 -c:v libx264 -pix_fmt yuv420p
out="$WORK/out"
run_vidsift 0 --out "$out" --json "$WORK/a.mp4" "$WORK/b.mp4"
cp "$WORK/stdout" "$WORK/first.json"
[ -s "$out/report.json" ] && [ -s "$out/report.html" ] || fail "the first run wrote no report"
[ "$(json_field "$WORK/first.json" model_loaded)" = true ] || fail "the first run did not load the model"
before=$(md5sum "$out/report.json" "$out/report.html")
runs_before=$(sql "$out/results.db" "select count(*) from runs")
pass "a first run analyses both videos and writes report.json and report.html"

run_vidsift 0 --out "$out" --json "$WORK/a.mp4" "$WORK/b.mp4"
cp "$WORK/stdout" "$WORK/second.json"
grep -q "nothing to do: 2 videos already analysed" "$WORK/stderr" ||
    fail "the rerun does not say there is nothing to do: $(cat "$WORK/stderr")"
grep -q "the last report stays: $out/report.html" "$WORK/stderr" ||
    fail "the rerun does not say where the last report is: $(cat "$WORK/stderr")"
[ "$(json_field "$WORK/second.json" model_loaded)" = false ] || fail "the rerun loaded the model"
[ "$(json_field "$WORK/second.json" videos.skipped)" = 2 ] || fail "the rerun did not skip both videos"
[ "$(json_field "$WORK/second.json" bottleneck)" = '"none"' ] || fail "the rerun names a bottleneck"
pass "an all-skipped rerun exits 0, says 'nothing to do: 2 videos already analysed', loads no model"

first_rss=$(json_field "$WORK/first.json" memory.rss_peak_bytes)
second_rss=$(json_field "$WORK/second.json" memory.rss_peak_bytes)
# The model's weights, libtorch's state, the warmup batch and the pools are what the first
# run adds (measured: 153 MiB against 361 MiB at batch 1 on the CPU); three quarters leaves
# room for the first run to shrink further. model_loaded above is the exact signal.
[ "$second_rss" -gt 0 ] && [ $((second_rss * 4)) -lt $((first_rss * 3)) ] ||
    fail "the rerun's peak RSS ($second_rss B) is not well below the first run's ($first_rss B)"
pass "the rerun's peak RSS is $((second_rss >> 20)) MiB against $((first_rss >> 20)) MiB with the model"

[ "$(md5sum "$out/report.json" "$out/report.html")" = "$before" ] ||
    fail "the all-skipped rerun changed report.json or report.html"
[ "$(sql "$out/results.db" "select count(*) from runs")" = "$runs_before" ] ||
    fail "the all-skipped rerun recorded a run"
pass "report.json and report.html unchanged, no runs row added (the last run stays the latest)"

# --quiet says nothing at all, still exit 0.
run_vidsift 0 --out "$out" --quiet "$WORK/a.mp4" "$WORK/b.mp4"
[ ! -s "$WORK/stderr" ] || fail "--quiet printed: $(cat "$WORK/stderr")"
pass "an all-skipped rerun with --quiet prints nothing and exits 0"

# A changed option is new work: the model is loaded and the reports rewritten.
run_vidsift 0 --out "$out" --json --conf 0.5 "$WORK/a.mp4" "$WORK/b.mp4"
[ "$(json_field "$WORK/stdout" model_loaded)" = true ] && [ "$(json_field "$WORK/stdout" videos.done)" = 2 ] ||
    fail "a rerun with another --conf did not redo the videos: $(cat "$WORK/stderr")"
[ "$(md5sum "$out/report.json" "$out/report.html")" != "$before" ] ||
    fail "a rerun that did work kept the old reports"
pass "a rerun with another --conf redoes both videos and rewrites the reports"

# One video done, one new: the model is needed for the new one.
make_clip "$WORK/c.mp4" 96x64 6 10 -c:v libx264 -pix_fmt yuv420p
run_vidsift 0 --out "$out" --json --conf 0.5 "$WORK/a.mp4" "$WORK/b.mp4" "$WORK/c.mp4"
[ "$(json_field "$WORK/stdout" videos)" = '{"done": 1, "failed": 0, "skipped": 2, "interrupted": 0}' ] ||
    fail "a rerun with one new video: $(json_field "$WORK/stdout" videos)"
pass "a rerun with one new video analyses it and skips the other two"

# No frame decoded at all (the only input is not a video): no stage recorded time, so
# neither the summary nor report.json names a bottleneck.
head -c 3000 /dev/urandom >"$WORK/broken.mp4"
run_vidsift 1 --out "$WORK/broken-out" --json "$WORK/broken.mp4"
[ "$(json_field "$WORK/stdout" frames_decoded)" = 0 ] || fail "frames were decoded from random bytes"
[ "$(json_field "$WORK/stdout" bottleneck)" = '"none"' ] ||
    fail "a run without frames names bottleneck $(json_field "$WORK/stdout" bottleneck)"
grep -q "bottleneck" "$WORK/stderr" && fail "the summary of a run without frames names a bottleneck: $(cat "$WORK/stderr")"
grep -q "stage " "$WORK/stderr" || fail "the summary lacks its stage table: $(cat "$WORK/stderr")"
pass "a run that decoded no frame names no bottleneck (summary and report.json)"

finish
