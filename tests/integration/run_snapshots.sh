# vidsift run --snapshots: a thumbnail and a best crop per class for each
# video, recorded in the snapshots table; a rerun with --force replaces the
# rows instead of adding to them. Four frames of real footage keep it short.
source "$(dirname "$0")/common.bash"

hello="$FORENSICS/movie2/movie-hello.mp4"
[ -f "$hello" ] || fail "forensics-samples-files is not installed (setup.sh installs it)"
mkdir -p "$WORK/in/sub"
ffmpeg -nostdin -loglevel error -i "$hello" -frames:v 4 -c copy "$WORK/in/sub/hello4.mp4" ||
    fail "could not cut the clip"

run_vidsift 0 --snapshots --no-annotate --batch 4 --out "$WORK/out" "$WORK/in"
db="$WORK/out/results.db"
dir="$WORK/out/snapshots/in/sub/hello4.mp4" # under the argument's name, in/
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
