# The CenterNet (--model centernet, the default before yolov5s) on real footage (Debian's
# forensics-samples-files; quality_real_footage.sh has the default):
# what it sees at the model's own threshold (0.2, as the human package uses
# it), and that batch size and --jobs do not change a single row.
source "$(dirname "$0")/common.bash"

forensics_inputs "$WORK/in"

run_vidsift 0 --model centernet --out "$WORK/b8" --batch 8 "$WORK/in"
db="$WORK/b8/results.db"
frames=$(sql "$db" "select frames_analysed from videos where path like '%hello60.mp4'")
person_frames=$(sql "$db" "select count(distinct frame_index) from detections d join videos v on v.id = d.video_id where v.path like '%hello60.mp4' and label = 'person'")
[ $((person_frames * 10)) -ge $((frames * 8)) ] || fail "person seen in $person_frames of $frames frames of movie-hello"
pass "movie-hello: person in $person_frames of $frames frames"

dog_frames=$(sql "$db" "select frames_analysed from videos where path like '%dog.mp4'")
boxed=$(sql "$db" "select count(distinct frame_index) from detections d join videos v on v.id = d.video_id where v.path like '%dog.mp4' and label in ('cat', 'dog')")
[ "$dog_frames" = 41 ] && [ "$boxed" = 41 ] || fail "white dog boxed in $boxed of $dog_frames frames"
pass "1080p dog clip: the dog is boxed (as cat or dog) in all 41 frames ($(sql "$db" "select group_concat(label || ':' || n) from (select label, count(distinct frame_index) n from detections d join videos v on v.id = d.video_id where v.path like '%dog.mp4' and label in ('cat','dog') group by label)"))"

detections "$db" >"$WORK/b8.txt"
run_vidsift 0 --model centernet --out "$WORK/b1" --batch 1 --no-annotate "$WORK/in"
detections "$WORK/b1/results.db" >"$WORK/b1.txt"
run_vidsift 0 --model centernet --out "$WORK/b16" --batch 16 --no-annotate --jobs 3 "$WORK/in"
detections "$WORK/b16/results.db" >"$WORK/b16.txt"
[ -s "$WORK/b8.txt" ] || fail "no detections to compare"
same_detections "$WORK/b1.txt" "$WORK/b8.txt" || fail "batch 1 and batch 8 differ"
same_detections "$WORK/b8.txt" "$WORK/b16.txt" || fail "batch 8 and batch 16 with --jobs 3 differ"
pass "batch 1, batch 8 and batch 16 with --jobs 3 give the same detections ($(wc -l <"$WORK/b8.txt") rows; scores within 0.001, boxes within 0.5 px)"
finish
