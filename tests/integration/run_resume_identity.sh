# Resume across runs (issue 12, items 1 and 3). A video is one row however it
# is named (a.mp4, ./a.mp4, its absolute path, a symlink, a hard link) and a
# rerun skips it; a rerun with another model or other options that change the
# rows redoes it, in place, and the report says why.
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in"
# A bright clip: the tiny test model (common.bash) finds person ~0.62, car ~0.52 and
# toothbrush ~0.34 in every frame, so --conf 0.3 and --conf 0.6 --classes person keep
# different rows.
make_bright_clip "$WORK/in/a.mp4" 320x180 4 10 -c:v libx264 -pix_fmt yuv420p
db="$WORK/out/results.db"
common=(--no-annotate --batch 4 --out "$WORK/out")

# skipped_run ARGS...: a run that must skip its one video and leave the rows as they were.
skipped_run() {
    local before after
    before=$(detections "$db")
    run_vidsift 0 "${common[@]}" "$@"
    grep -q "nothing to do: 1 video already analysed" "$WORK/stderr" ||
        fail "run $* did not skip the video: $(cat "$WORK/stderr")"
    grep -q "redone:" "$WORK/stderr" && fail "run $* says redone: $(grep redone: "$WORK/stderr")"
    after=$(detections "$db")
    [ "$after" = "$before" ] || fail "run $* changed the rows"
    [ "$(sql "$db" "select count(*) from videos")" = 1 ] ||
        fail "run $* left $(sql "$db" "select count(*) from videos") video rows, expected 1"
}

cd "$WORK/in"
run_vidsift 0 "${common[@]}" --conf 0.3 a.mp4
[ "$(sql "$db" "select status from videos")" = done ] || fail "first run: video not done"
rows=$(sql "$db" "select count(*) from detections")
[ "$rows" -gt 0 ] || fail "first run: no detections, the option test below would test nothing"
[ "$(sql "$db" "select path || '|' || canonical_path from videos")" = "a.mp4|$WORK/in/a.mp4" ] ||
    fail "first run: path and canonical path: $(sql "$db" "select path, canonical_path from videos")"
first_run=$(sql "$db" "select run_id from videos")
pass "first run: one video row, path as given, canonical path absolute ($rows detections)"

ln -s a.mp4 "$WORK/in/symlink.mp4"
ln "$WORK/in/a.mp4" "$WORK/in/hardlink.mp4"
for spelling in ./a.mp4 "$WORK/in/a.mp4" "$WORK/in/../in/a.mp4" symlink.mp4 hardlink.mp4; do
    skipped_run --conf 0.3 "$spelling"
done
[ "$(sql "$db" "select run_id from videos")" = "$first_run" ] || fail "a skipped video's run_id changed"
pass "./a.mp4, its absolute path, a path with .., a symlink and a hard link: the same video, skipped"

# --force with the same file named three times in one run: still one row, no duplicated detections.
run_vidsift 0 "${common[@]}" --conf 0.3 --force --jobs 2 a.mp4 a.mp4 ./a.mp4
[ "$(sql "$db" "select count(*) from videos")" = 1 ] || fail "--force a.mp4 a.mp4 ./a.mp4: several rows"
[ "$(sql "$db" "select count(*) from detections")" = "$rows" ] ||
    fail "--force a.mp4 a.mp4 ./a.mp4: $(sql "$db" "select count(*) from detections") rows, expected $rows"
pass "one run naming the file three times (--jobs 2, --force): one row, $rows detections"

# Other options: redone in place, the reason in the report, the new rows only.
id=$(sql "$db" "select id from videos")
run_vidsift 0 "${common[@]}" --conf 0.6 --classes person ./a.mp4
grep -q "1 done, 0 failed, 0 skipped" "$WORK/stderr" || fail "--conf 0.6 --classes person: not redone"
# (with tracking on, the tracker's thresholds follow --conf and are named too)
grep -qF "redone: ./a.mp4: options changed (conf 0.3 -> 0.6, classes all -> person" "$WORK/stderr" ||
    fail "the terminal report does not say why: $(grep -i redone "$WORK/stderr")"
python3 - "$WORK/out/report.json" <<'PY' || fail "report.json does not say why the video was redone"
import json, sys
video = json.load(open(sys.argv[1]))["video_list"][0]
assert video["redone"].startswith("options changed (conf 0.3 -> 0.6, classes all -> person"), video
PY
[ "$(sql "$db" "select id || ' ' || status from videos")" = "$id done" ] || fail "the row was not redone in place"
# Below --conf, only boxes a track claimed are stored (tracking's second pass).
[ "$(sql "$db" "select count(*) from detections where label != 'person' or
               (score < 0.6 and track_id is null)")" = 0 ] ||
    fail "rows of the old options remain: $(sql "$db" "select label, score from detections limit 5")"
sql "$db" "select analysis from videos" | grep -q '"conf":0.6,.*"classes":"person"' ||
    fail "the analysis stored with the video: $(sql "$db" "select analysis from videos")"
pass "--conf 0.6 --classes person after --conf 0.3: redone in place, the reason in both reports"

# The same options spelled differently are the same analysis; a sampling change is not.
skipped_run --conf 0.6 --classes ' PERSON ' a.mp4
run_vidsift 0 "${common[@]}" --conf 0.6 --classes person --every 2 a.mp4
grep -qF "redone: a.mp4: options changed (every 1 -> 2)" "$WORK/stderr" ||
    fail "--every 2: $(grep -i "redone\|videos:" "$WORK/stderr")"
skipped_run --conf 0.6 --classes person --every 2 "$WORK/in/a.mp4"
pass "--classes ' PERSON ' is the same analysis (skipped); --every 2 redoes (every 1 -> 2), then skips"

# A changed file is redone, and says so.
make_bright_clip "$WORK/in/b.mp4" 320x180 3 10 -c:v libx264 -pix_fmt yuv420p &&
    mv "$WORK/in/b.mp4" "$WORK/in/a.mp4" || fail "could not replace the clip"
run_vidsift 0 "${common[@]}" --conf 0.6 --classes person --every 2 a.mp4
grep -qF "redone: a.mp4: the file changed" "$WORK/stderr" || fail "changed file: $(grep -i "redone\|videos:" "$WORK/stderr")"
[ "$(sql "$db" "select count(*) || ' ' || max(frames) from videos")" = "1 3" ] || fail "changed file: not one row of 3 frames"
pass "a changed file at the same place: the same row, redone, 'the file changed'"

# Outputs: asking for one the video was done without redoes it; not asking
# for one it has does not.
again=(--batch 4 --out "$WORK/out" --conf 0.6 --classes person --every 2 a.mp4)
run_vidsift 0 --no-annotate --snapshots "${again[@]}"
grep -qF "redone: a.mp4: options changed (snapshots off -> on)" "$WORK/stderr" ||
    fail "--snapshots: $(grep -i "redone\|videos:" "$WORK/stderr")"
[ "$(sql "$db" "select count(*) from snapshots")" -gt 0 ] || fail "--snapshots: no snapshot rows"
skipped_run --conf 0.6 --classes person --every 2 a.mp4
[ "$(sql "$db" "select count(*) from snapshots")" -gt 0 ] || fail "a run without --snapshots lost the snapshot rows"
run_vidsift 0 "${again[@]}"
grep -qF "redone: a.mp4: options changed (annotate off -> on)" "$WORK/stderr" ||
    fail "annotate: $(grep -i "redone\|videos:" "$WORK/stderr")"
[ -f "$(sql "$db" "select annotated_path from videos")" ] || fail "annotate: no annotated file"
pass "--snapshots, then annotation, asked for after a run without: redone; a run asking for less skips"
finish
