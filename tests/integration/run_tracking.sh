# Tracking, counting lines and zones through `vidsift run` (issue 15):
# - always: ids start at 1 in each of two videos analysed together (--jobs 2, one batch),
#   tracks rows agree with the detections, `vidsift export --table tracks` writes them as csv
#   and jsonl, --track none stores no ids, a bad zones file is a setup error naming the file,
#   changing the tracker's options redoes the video;
# - on ../shared/videos/one-by-one-person-detection.mp4 when present (said, never skipped
#   silently): six people walk in one at a time, stand at a table and leave to the right
#   (checked frame by frame: they leave around frames 190, 445, 697, 866, 1195 and 1359); a
#   line across that exit path counts 6 "out" and 0 "in", and a polygon around the table
#   gets a visit from each; `vidsift export --table crossings|visits` writes those rows.
source "$(dirname "$0")/common.bash"

hello="$FORENSICS/movie2/movie-hello.mp4"
[ -f "$hello" ] || fail "forensics-samples-files is not installed (setup.sh installs it)"
mkdir -p "$WORK/in"
# 24 frames of a person talking, twice under two names: the same objects in two videos.
ffmpeg -nostdin -loglevel error -i "$hello" -frames:v 24 -vf scale=640:-2 -an "$WORK/in/a.mp4"
cp "$WORK/in/a.mp4" "$WORK/in/b.mp4"

run_vidsift 0 --model yolov5s --imgsz 320 --jobs 2 --batch 8 --no-annotate --out "$WORK/two" "$WORK/in"
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
[ "$person" = 2 ] || fail "expected the talking person as one long track per video, got $person"
pass "tracks: $tracks rows, one per track id, counts and classes consistent; the person is one track per video"

# check_export DB TABLE ID_COLUMN: `vidsift export DB --table TABLE` as csv and jsonl has
# one row per row of the table (sqlite3's count), the table's columns after video and
# video_id, and each JSON line parses and carries the track id, the class and the id column.
check_export() {
    local db=$1 table=$2 id=$3 format
    for format in csv jsonl; do
        "$VIDSIFT" export "$db" --format $format --table "$table" >"$WORK/$table.$format" \
            2>"$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "export --table $table --format $format failed"; }
    done
    python3 - "$WORK/$table.csv" "$WORK/$table.jsonl" "$(sql "$db" "select count(*) from $table")" \
        "video,video_id,$(sql "$db" "select group_concat(name, ',') from pragma_table_info('$table')
                                     where name not in ('id', 'video_id')")" "$id" <<'PY' ||
import csv, json, sys
csv_path, jsonl_path, count, header, id_column = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = list(csv.reader(open(csv_path, newline="")))
assert ",".join(rows[0]) == header, f"csv header {rows[0]}, expected {header}"
assert len(rows) - 1 == count, f"csv: {len(rows) - 1} rows, the table has {count}"
lines = open(jsonl_path).read().splitlines()
assert len(lines) == count, f"jsonl: {len(lines)} lines, the table has {count}"
for line in lines:
    row = json.loads(line)
    assert list(row) == header.split(","), f"jsonl keys {list(row)}"
    assert isinstance(row["track_id"], int) and isinstance(row[id_column], (int, str)), row
    assert isinstance(row["class_id"], int) and isinstance(row["label"], str), row
print(f"{count} rows")
PY
        fail "export --table $table does not match the table"
}
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

run_vidsift 0 --model yolov5s --imgsz 320 --track none --no-annotate --out "$WORK/none" "$WORK/in/a.mp4"
[ "$(sql "$WORK/none/results.db" "select count(*) from detections where track_id is not null")" = 0 ] &&
    [ "$(sql "$WORK/none/results.db" "select count(*) from tracks")" = 0 ] ||
    fail "--track none stored track ids"
pass "--track none: no ids, no tracks"

run_vidsift 0 --model yolov5s --imgsz 320 --track-buffer 3 --no-annotate --out "$WORK/two" "$WORK/in/a.mp4"
grep -q "track" "$WORK/two/report.json" || fail "report does not say why a.mp4 was redone"
[ "$(sql "$db" "select count(*) from tracks t join videos v on v.id = t.video_id
                where v.path like '%/in/a.mp4'")" -gt 0 ] ||
    fail "redone video lost its tracks"
pass "changing --track-buffer redoes the video, its tracks rewritten"

bad_zones="$WORK/bad"$'\t'"zones.json" # a control character in the name: escaped in the message
printf '{"zones": [{"name": "x", "type": "line", "points": [[0, 0], [1]]}]}' >"$bad_zones"
run_vidsift 2 --model yolov5s --no-annotate --out "$WORK/bad" --zones "$bad_zones" "$WORK/in/a.mp4"
grep -q 'bad\\x09zones.json: zone x: point 2 is not \[x, y\]' "$WORK/stderr" ||
    fail "bad zones file: $(cat "$WORK/stderr")"
pass "a bad zones file is a setup error (exit 2) naming the file, escaped, and the point"

# ---- the real clip ----
clip=$VS_SOURCE_DIR/../shared/videos/one-by-one-person-detection.mp4
if [ ! -f "$clip" ]; then
    pass "../shared/videos/one-by-one-person-detection.mp4 not present: the real-clip count was not run"
    finish
    exit 0
fi
cat >"$WORK/zones.json" <<'EOF'
{"units": "fractions",
 "zones": [
  {"name": "exit", "type": "line", "points": [[0.78, 0.45], [0.78, 1.0]], "classes": ["person"],
   "directions": ["in", "out"]},
  {"name": "table", "type": "polygon", "points": [[0.45, 0.6], [0.75, 0.6], [0.75, 1.0], [0.45, 1.0]],
   "classes": ["person"]}]}
EOF
# yolov5s at 320 on every 2nd frame (5 per second): a minute on two cores.
run_vidsift 0 --model yolov5s --imgsz 320 --every 2 --no-annotate --zones "$WORK/zones.json" \
    --out "$WORK/real" "$clip"
db="$WORK/real/results.db"
counts=$(sql "$db" "select group_concat(direction || '=' || n, ' ') from (select direction, count(*) n
                    from crossings where zone = 'exit' group by direction order by direction)")
[ "$counts" = "out=6" ] || fail "exit line: expected out=6 (six people leave to the right), got '$counts'"
frames=$(sql "$db" "select group_concat(frame_index, ' ') from crossings where zone = 'exit' order by frame_index")
pass "real clip: the exit line counts the six people leaving, once each (frames $frames)"
visits=$(sql "$db" "select count(distinct track_id) from visits where zone = 'table' and dwell_s >= 5")
[ "$visits" -ge 6 ] || fail "table zone: $visits tracks stayed 5 s or more, expected each of the 6 people"
pass "real clip: $visits tracks visited the table for 5 s or more"
check_export "$db" crossings zone
check_export "$db" visits zone
pass "real clip: export --table crossings and visits, a row per crossing and visit with the table's columns"
[ "$(sql "$db" "select count(*) from zones")" = 2 ] &&
    [ "$(sql "$db" "select points from zones where name = 'exit'")" = "[[599.04, 194.40], [599.04, 432.00]]" ] ||
    fail "zones table: $(sql "$db" "select name, points from zones")"
pass "zones recorded in the video's pixels"
finish
