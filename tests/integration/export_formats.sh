# `vidsift export` formats tools load, read through the store's cursors with the filters:
# coco (the results list pycocotools' loadRes takes), coco-dataset (every analysed frame an
# image), yolo (a text file per frame), mot (one video's tracks), --class, --min-score, --run,
# --video, and an output directory given for the database.
source "$(dirname "$0")/common.bash"

make_clip "$WORK/a.mp4" 160x120 10 10 -c:v libx264 -pix_fmt yuv420p
run_vidsift 0 --out "$WORK/out" --no-annotate --conf 0.05 --every 2 "$WORK/a.mp4"
db="$WORK/out/results.db"
total=$(sql "$db" "select count(*) from detections")
[ "$total" -gt 0 ] || fail "no detections at --conf 0.05: nothing to export"

export_to() { # FILE ARGS...: export, failing the test on error
    local file=$1; shift
    "$VIDSIFT" export "$@" >"$file" 2>"$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "export $* failed"; }
}
export_to "$WORK/results.json" "$WORK/out" --format coco
export_to "$WORK/dataset.json" "$db" --format coco-dataset
python3 - "$WORK/results.json" "$WORK/dataset.json" "$total" <<'PY' || fail "the COCO exports do not load together"
import json, sys
results, dataset, total = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
# What pycocotools' COCO.loadRes requires of a results list against its dataset.
assert isinstance(results, list) and len(results) == total, len(results)
images = {i["id"] for i in dataset["images"]}
categories = {c["id"]: c["name"] for c in dataset["categories"]}
for r in results:
    assert set(r) == {"image_id", "category_id", "bbox", "score"}, r
    assert r["image_id"] in images, f"image {r['image_id']} not in the dataset"
    assert r["category_id"] in categories, r
    x, y, w, h = r["bbox"]
    assert w > 0 and h > 0 and 0 <= r["score"] <= 1, r
# --every 2 on 10 frames: frames 0, 2, 4, 6, 8 are the analysed frames, all of them images.
frames = sorted(i["frame_index"] for i in dataset["images"])
assert frames == [0, 2, 4, 6, 8], frames
assert len(dataset["annotations"]) == total and all(a["image_id"] in images for a in dataset["annotations"])
# COCO ids: a person is 1, a traffic light 10, whatever the model's class index.
coco = {"person": 1, "car": 3, "traffic light": 10, "stop sign": 13, "clock": 85, "tv": 72}
for cid, name in categories.items():
    assert name not in coco or coco[name] == cid, (name, cid)
print(f"{len(results)} results on {len(images)} images, {len(categories)} categories")
PY
pass "coco: a results list every record of which is on an image and a category of coco-dataset; images are the analysed frames 0,2,4,6,8"

label=$(sql "$db" "select label from detections group by label order by count(*) desc limit 1")
export_to "$WORK/one.csv" "$db" --format csv --class "$(echo "$label" | tr a-z A-Z)"
[ "$(($(wc -l <"$WORK/one.csv") - 1))" = "$(sql "$db" "select count(*) from detections where label = '$label'")" ] &&
    [ -z "$(tail -n +2 "$WORK/one.csv" | grep -v ",$label,")" ] || fail "--class $label kept other rows"
export_to "$WORK/high.jsonl" "$db" --format jsonl --min-score 0.1
[ "$(wc -l <"$WORK/high.jsonl")" = "$(sql "$db" "select count(*) from detections where score >= 0.1")" ] ||
    fail "--min-score 0.1 kept the wrong rows"
export_to "$WORK/none.csv" "$db" --format csv --run 99
[ "$(wc -l <"$WORK/none.csv")" = 1 ] || fail "--run 99 (no such run) exported rows"
export_to "$WORK/nomatch.csv" "$db" --format csv --video '*/nothing*'
[ "$(wc -l <"$WORK/nomatch.csv")" = 1 ] || fail "--video matching nothing exported rows"
pass "--class (any case), --min-score, --run and --video filter the rows"

"$VIDSIFT" export "$db" --format yolo --out "$WORK/yolo" 2>"$WORK/stderr" || { cat "$WORK/stderr" >&2; fail "yolo export failed"; }
video_id=$(sql "$db" "select id from videos")
[ "$(ls "$WORK/yolo/$video_id" | wc -l)" = "$(sql "$db" "select count(distinct frame_index) from detections")" ] ||
    fail "yolo: expected one file per frame with detections"
[ "$(cat "$WORK/yolo/$video_id"/*.txt | wc -l)" = "$total" ] || fail "yolo: expected one line per detection"
class_id=$(sql "$db" "select class_id from detections where label = '$label' limit 1")
[ "$(sed -n "$((class_id + 1))p" "$WORK/yolo/classes.txt")" = "$label" ] || fail "yolo: classes.txt line $((class_id + 1)) is not $label"
awk 'NF != 6 || $2 < 0 || $2 > 1 || $3 < 0 || $3 > 1 || $4 <= 0 || $4 > 1 || $5 <= 0 || $5 > 1 { exit 1 }' \
    "$WORK/yolo/$video_id"/*.txt || fail "yolo: a line is not 'class x y w h score' normalised to 0-1"
status=0; "$VIDSIFT" export "$db" --format yolo 2>"$WORK/stderr" || status=$?
[ "$status" = 2 ] || fail "yolo without --out DIR: exit $status, expected 2"
pass "yolo: classes.txt and one normalised text file per frame; it needs --out DIR"

# mot: the tracked detections of one video, carried copies left out; two tracked videos need --video.
tracked=$(sql "$db" "select count(*) from detections where track_id is not null and carried = 0")
[ "$tracked" -gt 0 ] || fail "no tracked detections to export as mot"
export_to "$WORK/a.mot" "$db" --format mot
[ "$(wc -l <"$WORK/a.mot")" = "$tracked" ] || fail "mot: $(wc -l <"$WORK/a.mot") lines, expected $tracked"
first=$(sql "$db" "select frame_index + 1, track_id from detections where track_id is not null
                   and carried = 0 order by video_id, frame_index, id limit 1" | tr '|' ,)
awk -F, -v first="$first" 'NR == 1 && $1 "," $2 != first { exit 1 }
    NF != 10 || $1 < 1 || $5 <= 0 || $6 <= 0 || $7 < 0 || $7 > 1 || $8 != -1 { exit 1 }' "$WORK/a.mot" ||
    fail "mot: a line is not 'frame,id,left,top,width,height,score,-1,-1,-1' from the table: $(head -2 "$WORK/a.mot")"
make_clip "$WORK/b.mp4" 160x120 10 10 -c:v libx264 -pix_fmt yuv420p
run_vidsift 0 --out "$WORK/out" --no-annotate --conf 0.05 --every 2 "$WORK/a.mp4" "$WORK/b.mp4"
status=0; "$VIDSIFT" export "$db" --format mot >"$WORK/both.mot" 2>"$WORK/stderr" || status=$?
[ "$status" = 2 ] && [ ! -s "$WORK/both.mot" ] && grep -q -- "--video" "$WORK/stderr" ||
    fail "mot of two tracked videos: exit $status, expected 2, nothing written and --video named: $(cat "$WORK/stderr")"
export_to "$WORK/a-again.mot" "$db" --format mot --video '*/a.mp4'
cmp -s "$WORK/a.mot" "$WORK/a-again.mot" || fail "mot --video '*/a.mp4' differs from the one-video export"
pass "mot: a line per tracked detection of the one video; two tracked videos need --video"

finish
