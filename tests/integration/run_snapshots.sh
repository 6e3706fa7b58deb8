# vidsift run --snapshots: a thumbnail and a best crop per class for each
# video, recorded in the snapshots table; a rerun with --force replaces the
# rows instead of adding to them. Four bright testsrc2 frames at 1280x720 and the tiny test
# model (common.bash: a person, a car and a toothbrush in every frame) keep it short.
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in/sub"
make_bright_clip "$WORK/in/sub/clip4.mp4" 1280x720 4 10 -c:v libx264 -preset ultrafast -pix_fmt yuv420p

run_vidsift 0 --snapshots --no-annotate --batch 4 --out "$WORK/out" "$WORK/in"
db="$WORK/out/results.db"
dir="$WORK/out/snapshots/in/sub/clip4.mp4" # under the argument's name, in/
[ "$(sql "$db" "select status from videos")" = done ] || fail "video not done: $(sql "$db" "select error from videos")"
[ "$(sql "$db" "select count(*) from snapshots where kind = 'thumb' and class_id is null")" = 1 ] ||
    fail "no thumbnail row: $(sql "$db" "select * from snapshots")"
[ "$(sql "$db" "select count(*) from snapshots s join detections d on d.video_id = s.video_id
               and d.class_id = s.class_id and abs(d.score - s.score) < 1e-6
               where s.kind = 'best' and s.path like '%/person.jpg'")" -ge 1 ] ||
    fail "no best person crop matching a stored detection: $(sql "$db" "select * from snapshots")"
[ "$(sql "$db" "select count(*) from snapshots s where kind = 'best' and score < (select max(score)
               from detections d where d.video_id = s.video_id and d.class_id = s.class_id) - 1e-6")" = 0 ] ||
    fail "a best crop is not the class's highest score"
pass "thumbnail and best person crop recorded ($(sql "$db" "select count(*) from snapshots") rows)"

# Where each image was cut from (schema v4): the thumbnail is the whole first
# frame; a best crop is on the frame of its detection, and its box holds the
# detection's box (rounded outward to whole chroma samples, within the picture).
[ "$(sql "$db" "select count(*) from snapshots s join videos v on v.id = s.video_id
               where s.kind = 'thumb' and s.frame_index = 0 and s.x1 = 0 and s.y1 = 0
               and s.x2 = v.width and s.y2 = v.height")" = 1 ] ||
    fail "the thumbnail row does not say frame 0, whole picture: $(sql "$db" "select * from snapshots")"
best=$(sql "$db" "select count(*) from snapshots where kind = 'best'")
[ "$(sql "$db" "select count(*) from snapshots s join videos v on v.id = s.video_id
               where s.kind = 'best' and exists (select 1 from detections d
               where d.video_id = s.video_id and d.frame_index = s.frame_index
               and d.class_id = s.class_id and abs(d.score - s.score) < 1e-6
               and s.x1 <= max(d.x1, 0) and s.y1 <= max(d.y1, 0) and s.x1 >= d.x1 - 2 and s.y1 >= d.y1 - 2
               and (s.x2 >= d.x2 or s.x2 = v.width) and (s.y2 >= d.y2 or s.y2 = v.height)
               and s.x2 <= d.x2 + 2 and s.y2 <= d.y2 + 2)")" = "$best" ] && [ "$best" -ge 1 ] ||
    fail "best crops do not name their detection's frame and box: $(sql "$db" "select * from snapshots")
$(sql "$db" "select frame_index, class_id, score, x1, y1, x2, y2 from detections")"
pass "snapshot rows name their frame and crop box ($best best crops on their detection's frame)"

rows=$(sql "$db" "select count(*) from snapshots")
sql "$db" "select path from snapshots" >"$WORK/paths"
while read -r path; do
    [ -s "$path" ] || fail "$path is recorded but missing or empty"
    [ "$(dirname "$path")" = "$dir" ] || fail "$path is not in $dir"
done <"$WORK/paths"
[ "$(ffprobe -v error -show_entries stream=width -of default=nw=1:nk=1 "$dir/thumb.jpg")" = 320 ] ||
    fail "thumb.jpg is not 320 px wide"
[ -z "$(find "$WORK/out/snapshots" -name '*.part')" ] || fail "a .part file was left behind"
pass "every recorded file exists in the video's snapshot directory; thumbnail 320 px wide"

# Mark the first run's rows (ids are reused once deleted) and redo the video.
sql "$db" "update snapshots set kind = kind || '-first'"
run_vidsift 0 --snapshots --no-annotate --batch 4 --force --out "$WORK/out" "$WORK/in"
[ "$(sql "$db" "select count(*) from snapshots")" = "$rows" ] ||
    fail "--force left $(sql "$db" "select count(*) from snapshots") snapshot rows, expected $rows"
[ "$(sql "$db" "select count(*) from snapshots where kind like '%-first'")" = 0 ] ||
    fail "the first run's snapshot rows survived the --force rerun"
pass "a --force rerun replaces the snapshot rows ($rows), no duplicates"
finish
