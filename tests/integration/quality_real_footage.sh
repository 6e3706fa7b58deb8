# The default detector (yolov5s, 512 letterboxed) on real footage, through `vidsift run` with no
# --model: what the model says, per class, on Debian's forensics-samples-files clips (always
# there: setup.sh installs them) and on ../shared/videos when present (said, not skipped
# silently, when absent). The figures asserted are the ones measured (models/README.md,
# "What it sees"), with a small margin for float differences between machines; they record
# what the model says, they were not tuned toward the right names.
source "$(dirname "$0")/common.bash"
unset VIDSIFT_DEFAULT_MODEL # this test is about the default itself

forensics_inputs "$WORK/in"

run_vidsift 0 --out "$WORK/out" --no-annotate "$WORK/in"
db=$WORK/out/results.db

# frames_with VIDEO-LIKE LABEL: analysed frames holding at least one LABEL box.
frames_with() {
    sql "$db" "select count(distinct frame_index) from detections d join videos v on v.id = d.video_id
               where v.path like '%$1' and label = '$2' and carried = 0"
}
mean_score() {
    sql "$db" "select printf('%.2f', avg(score)) from detections d join videos v on v.id = d.video_id
               where v.path like '%$1' and label = '$2'"
}
per_class() { # per_class VIDEO-LIKE: "label frames, ..." best first
    sql "$db" "select group_concat(label || ' ' || n, ', ') from (select label, count(distinct frame_index) n
               from detections d join videos v on v.id = d.video_id where v.path like '%$1'
               group by label order by n desc, label)"
}
analysed() { sql "$db" "select frames_analysed from videos where path like '%$1'"; }

what=$(sql "$db" "select json_extract(analysis, '$.model') || ' ' || json_extract(analysis, '$.input')
                  from videos where path like '%dog.mp4'")
[ "$what" = "yolov5s 512x512" ] || fail "without --model the rows came from '$what', expected yolov5s 512x512"
pass "no --model: the rows come from yolov5s at 512x512"

n=$(analysed dog.mp4)
dogs=$(frames_with dog.mp4 dog)
cats=$(frames_with dog.mp4 cat)
echo "dog clip, per class (frames of $n): $(per_class dog.mp4)"
[ "$n" = 41 ] || fail "dog clip: $n frames analysed, expected 41"
[ "$dogs" -ge 39 ] && [ "$cats" -le 2 ] ||
    fail "dog clip: dog in $dogs, cat in $cats of 41 frames (measured: dog 41, cat 0)"
score=$(mean_score dog.mp4 dog)
awk -v s="$score" 'BEGIN { exit !(s >= 0.6) }' || fail "dog clip: mean dog score $score (measured 0.76)"
pass "1080p dog clip: dog in $dogs of 41 frames, mean score $score; cat in $cats"

n=$(analysed hello60.mp4)
people=$(frames_with hello60.mp4 person)
echo "desk clip, per class (frames of $n): $(per_class hello60.mp4)"
[ "$n" = 60 ] && [ "$people" -ge 57 ] || fail "desk clip: person in $people of $n frames (measured 60 of 60)"
score=$(mean_score hello60.mp4 person)
awk -v s="$score" 'BEGIN { exit !(s >= 0.75) }' || fail "desk clip: mean person score $score (measured 0.84)"
pass "720p desk clip: person in $people of 60 frames, mean score $score"

# ../shared/videos: used when present; the lines say which were not.
shared=$VS_SOURCE_DIR/../shared/videos
cars=$shared/car-detection.mp4
walkers=$shared/one-by-one-person-detection.mp4
if [ -f "$cars" ]; then
    run_vidsift 0 --out "$WORK/cars" --no-annotate --every 5 "$cars"
    db=$WORK/cars/results.db
    n=$(analysed car-detection.mp4)
    echo "car-detection.mp4 (top-down street, every 5th frame), per class (frames of $n): $(per_class car-detection.mp4)"
    # Cars seen from above: COCO models mostly call them `cell phone` (measured: cell phone
    # 19, car 5 of 76 frames). Assert what the model says, not what we would like it to say.
    phones=$(frames_with car-detection.mp4 'cell phone')
    vehicles=$(frames_with car-detection.mp4 car)
    [ "$n" = 76 ] && [ "$phones" -ge 12 ] && [ "$vehicles" -ge 2 ] && [ "$phones" -gt "$vehicles" ] ||
        fail "car-detection.mp4: cell phone in $phones, car in $vehicles of $n frames (measured 19 and 5 of 76)"
    pass "car-detection.mp4: cell phone in $phones, car in $vehicles of $n frames (a top-down view)"
else
    echo "car-detection.mp4: not present in $shared, not checked"
fi
if [ -f "$walkers" ]; then
    run_vidsift 0 --out "$WORK/walkers" --no-annotate --every 10 "$walkers"
    db=$WORK/walkers/results.db
    n=$(analysed one-by-one-person-detection.mp4)
    people=$(frames_with one-by-one-person-detection.mp4 person)
    echo "one-by-one-person-detection.mp4 (every 10th frame), per class (frames of $n): $(per_class one-by-one-person-detection.mp4)"
    [ "$n" = 140 ] && [ $((people * 100)) -ge $((n * 70)) ] ||
        fail "one-by-one-person-detection.mp4: person in $people of $n frames (measured 77%)"
    pass "one-by-one-person-detection.mp4: person in $people of $n frames"
else
    echo "one-by-one-person-detection.mp4: not present in $shared, not checked"
fi
finish
