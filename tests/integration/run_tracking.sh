# Tracking through `vidsift run` (issue 15), on generated clips with the tiny test model
# (common.bash: a person, a car and a toothbrush at fixed places in every bright frame): ids
# start at 1 in each of two videos analysed together (--jobs 2, one batch), tracks rows agree
# with the detections, `vidsift export --table tracks` writes them as csv and jsonl, --track
# none stores no ids, a bad zones file is a setup error naming the file, changing the tracker's
# options redoes the video. Counting on real footage: run_tracking_real.sh.
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in"
# 24 bright frames, twice under two names: the same objects in two videos.
make_bright_clip "$WORK/in/a.mp4" 640x360 24 10 -c:v libx264 -pix_fmt yuv420p
cp "$WORK/in/a.mp4" "$WORK/in/b.mp4"

run_vidsift 0 --jobs 2 --batch 8 --no-annotate --out "$WORK/two" "$WORK/in"
db="$WORK/two/results.db"
[ "$(sql "$db" "pragma user_version")" = 4 ] || fail "schema version is not 4"
ids=$(sql "$db" "select group_concat(x, ' ') from (select v.relative_path || ':' || min(d.track_id) x
                 from detections d join videos v on v.id = d.video_id where d.track_id is not null
                 group by v.id order by v.relative_path)")
[ "$ids" = "a.mp4:1 b.mp4:1" ] || fail "ids do not start at 1 in each video: $ids"
same=$(sql "$db" "select count(*) from (select frame_index, track_id, round(x1) from detections d
                  join videos v on v.id = d.video_id where v.relative_path = 'a.mp4'
                  except select frame_index, track_id, round(x1) from detections d
                  join videos v on v.id = d.video_id where v.relative_path = 'b.mp4')")
[ "$same" = 0 ] || fail "the same clip got different ids in the other video ($same rows differ)"
pass "two videos analysed together: ids from 1 in each ($ids), the same ids for the same clip"

tracks=$(sql "$db" "select count(*) from tracks")
distinct=$(sql "$db" "select count(*) from (select distinct video_id, track_id from detections
                      where track_id is not null)")
wrong=$(sql "$db" "select count(*) from tracks t where detections != (select count(*) from
                   detections d where d.video_id = t.video_id and d.track_id = t.track_id)
                   or first_frame > last_frame or label is null")
[ "$tracks" -gt 0 ] && [ "$tracks" = "$distinct" ] && [ "$wrong" = 0 ] ||
    fail "tracks: $tracks rows, $distinct track ids in detections, $wrong inconsistent"
person=$(sql "$db" "select count(*) from tracks where label = 'person' and detections >= 20")
[ "$person" = 2 ] || fail "expected the person as one long track per video, got $person"
pass "tracks: $tracks rows, one per track id, counts and classes consistent; the person is one track per video"

check_export "$db" tracks track_id
person_rows=$("$VIDSIFT" export "$db" --format csv --table tracks --class PERSON | tail -n +2 | wc -l)
[ "$person_rows" = "$(sql "$db" "select count(*) from tracks where label = 'person'")" ] ||
    fail "export --table tracks --class PERSON: $person_rows rows"
for refused in "--format coco --table tracks" "--format mot --table crossings" \
    "--format csv --table visits --min-score 0.5" "--format csv --table zone"; do
    status=0; "$VIDSIFT" export "$db" $refused >"$WORK/out" 2>"$WORK/stderr" || status=$?
    [ "$status" = 2 ] && [ "$(wc -l <"$WORK/stderr")" = 1 ] && [ ! -s "$WORK/out" ] ||
        fail "export $refused: exit $status, expected 2 and one line: $(cat "$WORK/stderr")"
done
pass "export --table tracks: csv and jsonl, a row per track with the table's columns, --class filters; other formats, --min-score and unknown tables refused"

run_vidsift 0 --track none --no-annotate --out "$WORK/none" "$WORK/in/a.mp4"
[ "$(sql "$WORK/none/results.db" "select count(*) from detections where track_id is not null")" = 0 ] &&
    [ "$(sql "$WORK/none/results.db" "select count(*) from tracks")" = 0 ] ||
    fail "--track none stored track ids"
pass "--track none: no ids, no tracks"

run_vidsift 0 --track-buffer 3 --no-annotate --out "$WORK/two" "$WORK/in/a.mp4"
grep -q "track" "$WORK/two/report.json" || fail "report does not say why a.mp4 was redone"
[ "$(sql "$db" "select count(*) from tracks t join videos v on v.id = t.video_id
                where v.path like '%/in/a.mp4'")" -gt 0 ] ||
    fail "redone video lost its tracks"
pass "changing --track-buffer redoes the video, its tracks rewritten"

bad_zones="$WORK/bad"$'\t'"zones.json" # a control character in the name: escaped in the message
printf '{"zones": [{"name": "x", "type": "line", "points": [[0, 0], [1]]}]}' >"$bad_zones"
run_vidsift 2 --no-annotate --out "$WORK/bad" --zones "$bad_zones" "$WORK/in/a.mp4"
grep -q 'bad\\x09zones.json: zone x: point 2 is not \[x, y\]' "$WORK/stderr" ||
    fail "bad zones file: $(cat "$WORK/stderr")"
pass "a bad zones file is a setup error (exit 2) naming the file, escaped, and the point"

finish
