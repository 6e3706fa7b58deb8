# Memory is bounded whatever the frame size (issue 12, item 8). An 8192x8192
# H.264 clip (a few hundred KB; 96 MiB a decoded picture) beside an ordinary
# one: under a small --memory-budget the big one fails alone, with one line
# that says why, and the ordinary one is done; under the default budget both
# are done, and the big one adds no more than the budget to the peak RSS.
# (Frame slots used to be sized for small pictures only: 50 such pictures took
# 13 GB.) --jobs 2 and --every 2 with annotation on: frames that ride along
# unanalysed and two videos in flight must not deadlock a small budget.
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in"
# H.264 level 6.2 is the highest; 8192x8192 is beyond its frame size, which
# libx264 encodes anyway and FFmpeg decodes.
ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=gray:size=8192x8192:rate=10 -frames:v 4 \
    -c:v libx264 -preset ultrafast -level 6.2 -pix_fmt yuv420p "$WORK/in/big.mp4" ||
    fail "could not make big.mp4"
make_clip "$WORK/in/good.mp4" 160x120 10 10 -c:v libx264 -pix_fmt yuv420p
[ "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0:s=x "$WORK/in/big.mp4")" = 8192x8192 ] ||
    fail "big.mp4 is not 8192x8192"
pass "test clips: big.mp4 8192x8192 ($(($(stat -c %s "$WORK/in/big.mp4") / 1024)) KB, 4 frames), good.mp4 160x120"

rss_peak() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["memory"]["rss_peak_bytes"])' "$1"; }

# A budget too small for one 8192x8192 video: it fails, alone.
run_vidsift 1 --out "$WORK/small" --memory-budget 512M --jobs 2 --every 2 "$WORK/in"
db="$WORK/small/results.db"
[ "$(sql "$db" "select status || ' ' || frames from videos where path like '%/good.mp4'")" = "done 10" ] ||
    fail "good.mp4 beside a refused video: $(sql "$db" "select status, frames, error from videos where path like '%/good.mp4'")"
[ "$(sql "$db" "select status from videos where path like '%/big.mp4'")" = failed ] || fail "big.mp4 not failed"
error=$(sql "$db" "select error from videos where path like '%/big.mp4'")
case "$error" in
*big.mp4:*8192x8192*"memory budget of 512 MiB (--memory-budget)") ;;
*) fail "big.mp4: unclear error: $error" ;;
esac
[ "$(grep -c "big.mp4" "$WORK/stderr")" = 1 ] || fail "not one line about big.mp4: $(cat "$WORK/stderr")"
grep -q "failed: .*big.mp4: its 8192x8192 pictures take 96 MiB each" "$WORK/stderr" || fail "stderr: $(cat "$WORK/stderr")"
[ -z "$(find "$WORK/small/annotated" -name '*big*')" ] || fail "an annotated file of big.mp4 was left"
baseline=$(rss_peak "$WORK/small/report.json")
pass "--memory-budget 512M: big.mp4 failed with one line ($error); good.mp4 done; exit 1"

# The default budget (2 GiB here, or a quarter of the memory) takes the big video.
run_vidsift 0 --out "$WORK/default" --jobs 2 --every 2 "$WORK/in"
db="$WORK/default/results.db"
got=$(sql "$db" "select group_concat(status || ' ' || frames || ' ' || frames_analysed, ', ') from (select * from videos order by path)")
[ "$got" = "done 4 2, done 10 5" ] || fail "default budget: $got"
annotated=$(sql "$db" "select annotated_path from videos where path like '%/big.mp4'")
[ "$(frames_in "$annotated")" = 4 ] || fail "big.mp4: annotated copy has $(frames_in "$annotated") frames"
read -r limit used < <(python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["memory"]; print(m["budget_bytes"], m["budget_max_used_bytes"])' "$WORK/default/report.json")
[ "$used" -le "$limit" ] && [ "$used" -gt $((1 << 30)) ] || fail "budget $limit, taken at most $used"
peak=$(rss_peak "$WORK/default/report.json")
[ $((peak - baseline)) -le $((limit + (256 << 20))) ] ||
    fail "big.mp4 raised the peak RSS by $(((peak - baseline) >> 20)) MiB, over the budget of $((limit >> 20)) MiB"
pass "default budget ($((limit >> 20)) MiB, at most $((used >> 20)) MiB taken): both done, all 4 frames annotated; peak RSS $((peak >> 20)) MiB, $(((peak - baseline) >> 20)) MiB over the run without it"
finish
