# Counting with tracks on real footage (issue 15): on
# ../shared/videos/one-by-one-person-detection.mp4 when present (said, never skipped
# silently): six people walk in one at a time, stand at a table and leave to the right
# (checked frame by frame: they leave around frames 190, 445, 697, 866, 1195 and 1359); with
# yolov5s, a line across that exit path counts 6 "out" and 0 "in", and a polygon around the
# table gets a visit from each; `vidsift export --table crossings|visits` writes those rows.
# Its point is the real model's tracks: label real_model (CMakeLists.txt). The tracking
# machinery on generated clips: run_tracking.sh.
source "$(dirname "$0")/common.bash"

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
