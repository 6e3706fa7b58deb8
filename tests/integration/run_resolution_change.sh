# A video stream whose picture size changes mid-way (a broadcast switching
# resolution, recordings concatenated): the same 8 frames of real footage at
# 1280x720 and at 640x360, H.264 in MPEG-TS, one after the other, in both
# orders (shrinking: every buffer sized for the first picture is big enough;
# growing: every one must grow), beside an ordinary clip. --jobs 2 interleaves
# the videos, so consecutive frames in a batch alternate sizes.
# Checks, for every frame: decoded and analysed, the person found, the boxes
# in that frame's own pixels; the annotated video has every frame with the
# boxes where they belong; the snapshots crop the right pixels.
source "$(dirname "$0")/common.bash"
# The real model, on real footage: the person's box is checked in each frame's own pixels.
export VIDSIFT_DEFAULT_MODEL=$REAL_MODEL

hello="$FORENSICS/movie2/movie-hello.mp4" # 1280x720, a person in every frame
[ -f "$hello" ] || fail "$hello missing: setup.sh installs forensics-samples-files"
half=8 # frames per size

# segment SIZE FIRST OUT: the first $half frames of movie-hello at SIZE,
# timestamps starting at frame FIRST, so that the concatenation's timestamps
# go on increasing. No B-frames: the muxer would shift the first segment's
# timestamps by the reorder delay and the two segments would overlap.
segment() {
    ffmpeg -nostdin -loglevel error -y -i "$hello" -frames:v "$half" -an \
        -vf "scale=$1,setpts=($2+N)/30/TB" -c:v libx264 -bf 0 -preset veryfast -pix_fmt yuv420p \
        "$3" || fail "could not encode $3"
}
mkdir -p "$WORK/in"
segment 1280:720 0 "$WORK/big_first.ts"
segment 640:360 "$half" "$WORK/small_second.ts"
segment 640:360 0 "$WORK/small_first.ts"
segment 1280:720 "$half" "$WORK/big_second.ts"
cat "$WORK/big_first.ts" "$WORK/small_second.ts" >"$WORK/in/shrinking.ts"
cat "$WORK/small_first.ts" "$WORK/big_second.ts" >"$WORK/in/growing.ts"
ffmpeg -nostdin -loglevel error -y -i "$hello" -frames:v "$half" -c:v libx264 -c:a aac \
    "$WORK/in/plain.mp4" || fail "could not make plain.mp4"

# sizes_of FILE: one "WxH" line per decoded frame, as FFmpeg decodes them.
# (Frames with side data get a third field and a blank line: both dropped.)
sizes_of() { ffprobe -v error -select_streams v:0 -show_entries frame=width,height -of csv=p=0:s=x "$1" | grep . | cut -dx -f1,2; }
expected_sizes() { # FIRST SECOND: $half lines of each
    for _ in $(seq "$half"); do echo "$1"; done
    for _ in $(seq "$half"); do echo "$2"; done
}
[ "$(sizes_of "$WORK/in/shrinking.ts")" = "$(expected_sizes 1280x720 640x360)" ] ||
    fail "shrinking.ts does not change size after $half frames: $(sizes_of "$WORK/in/shrinking.ts" | uniq -c | xargs)"
[ "$(sizes_of "$WORK/in/growing.ts")" = "$(expected_sizes 640x360 1280x720)" ] ||
    fail "growing.ts does not change size after $half frames: $(sizes_of "$WORK/in/growing.ts" | uniq -c | xargs)"
pass "test clips: 1280x720 then 640x360 and the reverse, $half frames each (ffprobe)"

started=$(date +%s)
run_vidsift 0 --out "$WORK/out" --snapshots --jobs 2 "$WORK/in"
db="$WORK/out/results.db"
echo "# vidsift run took $(($(date +%s) - started)) s"

total=$((2 * half))
for clip in shrinking.ts:$total growing.ts:$total plain.mp4:$half; do
    IFS=: read -r name frames <<<"$clip"
    # (frames_in would print an MPEG-TS stream's count twice: once for its program.)
    [ "$(sizes_of "$WORK/in/$name" | wc -l)" = "$frames" ] || fail "$name: ffprobe counts $(sizes_of "$WORK/in/$name" | wc -l) frames"
    got=$(sql "$db" "select status || ' ' || frames || ' ' || frames_analysed from videos where path like '%/$name'")
    [ "$got" = "done $frames $frames" ] ||
        fail "$name: $(sql "$db" "select status, frames, frames_analysed, error from videos where path like '%/$name'"), expected done, $frames frames analysed"
done
pass "every frame decoded and analysed: $total per changing clip, $half in the plain one"

# The person in every frame of both sizes.
for name in shrinking.ts growing.ts plain.mp4; do
    frames=$(sql "$db" "select frames from videos where path like '%/$name'")
    found=$(sql "$db" "select count(distinct d.frame_index) from detections d join videos v on v.id = d.video_id
        where v.path like '%/$name' and d.label = 'person'")
    [ "$found" = "$frames" ] || fail "$name: a person in $found of $frames frames"
done
pass "the person is detected in every frame, before and after the size change"

# Each frame's boxes lie inside that frame's own picture.
for clip in shrinking.ts:1280:720:640:360 growing.ts:640:360:1280:720; do
    IFS=: read -r name w1 h1 w2 h2 <<<"$clip"
    outside=$(sql "$db" "select count(*) from detections d join videos v on v.id = d.video_id
        where v.path like '%/$name' and (x1 < 0 or y1 < 0 or x1 > x2 or y1 > y2 or
            x2 > case when frame_index < $half then $w1 else $w2 end or
            y2 > case when frame_index < $half then $h1 else $h2 end)")
    [ "$outside" = 0 ] || fail "$name: $outside boxes outside their frame's picture"
done
pass "boxes inside their own frame's picture (${half} frames at one size, ${half} at the other)"

# The same source frame at half the size: its person box, in that frame's
# pixels, is half the big frame's. Not exactly: the model sees two different
# resamplings of the scene (a 1280 or a 640 wide picture stretched to its
# input), so a box may move by about one cell of its output grid (stride
# input pixels), which is stride * 640 / input_width pixels across and
# stride * 360 / input_height down at 640x360; two cells are allowed. Boxes
# left in the wrong frame's pixels would be off by a factor of 2, tens of
# pixels here.
read -r cell_x cell_y < <(python3 - "$VS_MODELS_DIR/centernet.manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
stride = m["stride"]
print(stride * 640 / m["input"]["width"], stride * 360 / m["input"]["height"])
PY
)
# best_person_boxes NAME: frame, x1, y1, x2, y2 of each frame's best person
best_person_boxes() {
    sql "$db" "select d.frame_index, d.x1, d.y1, d.x2, d.y2 from detections d join videos v on v.id = d.video_id
        where v.path like '%/$1' and d.label = 'person' and d.score = (select max(score) from detections
            where video_id = d.video_id and frame_index = d.frame_index and label = 'person')
        group by d.frame_index order by d.frame_index"
}
compare_halves() { # NAME BIG_OFFSET SMALL_OFFSET
    best_person_boxes "$1" | python3 -c '
import sys
half, big, small, cell_x, cell_y = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
boxes = {}
for line in sys.stdin:
    frame, *box = line.split("|")
    boxes[int(frame)] = [float(v) for v in box]
worst = 0.0
for i in range(half):
    b, s = boxes[big + i], boxes[small + i]
    for k, (p, q) in enumerate(zip(b, s)):
        tolerance = 2 * (cell_x if k % 2 == 0 else cell_y)
        off = abs(p / 2 - q)
        worst = max(worst, off / tolerance)
        if off > tolerance:
            sys.exit(f"frame {i}: 1280x720 box {b} halved is {[v / 2 for v in b]}, 640x360 box {s}: coordinate {k} off by {off:.1f} px (allowed {tolerance:.1f})")
print(f"# {sys.argv[6]}: largest difference {worst:.2f} of the allowed")
' "$half" "$2" "$3" "$cell_x" "$cell_y" "$1"
}
compare_halves shrinking.ts 0 "$half" || fail "shrinking.ts: small frames' boxes are not in their own pixels"
compare_halves growing.ts "$half" 0 || fail "growing.ts: big frames' boxes are not in their own pixels"
pass "each half's boxes are in its own pixels: 640x360 boxes are half the 1280x720 ones (within 2 output cells: ${cell_x} x ${cell_y} px)"

# Annotated videos: every frame, at the first picture's size, and the boxes
# of the other size scaled onto it: the person's colour (annotate.c's
# palette[0], red) on the left edge of the scaled box, halfway down.
# frame_rgb FILE INDEX: that frame's packed RGB on stdout
frame_rgb() { ffmpeg -nostdin -loglevel error -i "$1" -vf "select=eq(n\,$2)" -frames:v 1 -f rawvideo -pix_fmt rgb24 -; }
check_annotated() { # the annotated videos of the run whose database is $db
    for clip in shrinking.ts:1280:720 growing.ts:640:360; do
        IFS=: read -r name width height <<<"$clip"
        annotated=$(sql "$db" "select annotated_path from videos where path like '%/$name'")
        [ -f "$annotated" ] || fail "$name: no annotated video ($annotated)"
        [ "$(frames_in "$annotated")" = "$total" ] || fail "$name: annotated video has $(frames_in "$annotated") of $total frames"
        size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$annotated")
        [ "$size" = "${width}x${height}" ] || fail "$name: annotated video is $size, expected the first picture's ${width}x${height}"
        for frame in 2 $((half + 2)); do
            frame_w=$(sizes_of "$WORK/in/$name" | sed -n "$((frame + 1))p" | cut -dx -f1)
            best_person_boxes "$name" | awk -F'|' -v f="$frame" '$1 == f' >"$WORK/box"
            frame_rgb "$annotated" "$frame" | python3 -c '
import sys
width, height, scale = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
frame, x1, y1, x2, y2 = (float(v) for v in open(sys.argv[4]).read().split("|"))
rgb = sys.stdin.buffer.read()
if len(rgb) != width * height * 3:
    sys.exit(f"annotated frame is {len(rgb)} bytes, expected {width}x{height} RGB")
# The box edge starts at the even pixel at or below x1 * scale and is 2 or 3 pixels thick.
x = (round(x1 * scale) & ~1) + 1
reds = 0
for y in range(int(y1 * scale) + 8, int(y2 * scale) - 8):
    r, g, b = rgb[(y * width + x) * 3:(y * width + x) * 3 + 3]
    reds += r > 150 and g < 100
rows = int(y2 * scale) - 8 - (int(y1 * scale) + 8)
if rows <= 0 or reds < rows * 0.9:
    sys.exit(f"box edge at x={x}: {reds} of {rows} pixels in the person colour")
' "$width" "$height" "$(echo "$width / $frame_w" | bc -l)" "$WORK/box" ||
                fail "$name: frame $frame of the annotated video: the box is not drawn where the person is"
        done
    done
}
check_annotated
[ "$(frames_in "$(sql "$db" "select annotated_path from videos where path like '%/plain.mp4'")")" = "$half" ] ||
    fail "plain.mp4: annotated video incomplete"
pass "annotated videos: every frame, one size, boxes of both halves drawn on the person"

# Snapshots: the thumbnail of the first picture, 320 wide; the person crop
# cut from the frame its best detection came from, at that frame's size:
# compared with the same crop made by FFmpeg from the source (JPEG quality
# 90 and a 4:2:0 round trip allow a few levels of difference).
for clip in shrinking.ts:1280:720 growing.ts:640:360 plain.mp4:1280:720; do
    IFS=: read -r name width height <<<"$clip"
    thumb=$(sql "$db" "select s.path from snapshots s join videos v on v.id = s.video_id where v.path like '%/$name' and s.kind = 'thumb'")
    [ -f "$thumb" ] || fail "$name: no thumbnail ($thumb)"
    size=$(ffprobe -v error -show_entries stream=width,height -of csv=p=0:s=x "$thumb")
    [ "$size" = "320x$((320 * height / width))" ] || fail "$name: thumbnail is $size, expected 320 wide with the first picture's ${width}x${height} shape"
    crop=$(sql "$db" "select s.path from snapshots s join videos v on v.id = s.video_id where v.path like '%/$name' and s.kind = 'best'
        and s.class_id = (select class_id from detections where label = 'person' limit 1)")
    [ -f "$crop" ] || fail "$name: no person snapshot ($crop)"
    # The best detection (ties keep the earlier frame) and the crop snapshot.c cuts for it:
    # the box widened outward to whole 4:2:0 chroma samples, clipped to the picture.
    IFS='|' read -r frame x1 y1 x2 y2 < <(sql "$db" "select d.frame_index, d.x1, d.y1, d.x2, d.y2
        from detections d join videos v on v.id = d.video_id where v.path like '%/$name' and d.label = 'person'
        order by d.score desc, d.frame_index limit 1")
    frame_size=$(sizes_of "$WORK/in/$name" | sed -n "$((frame + 1))p")
    read -r cx cy cw ch < <(python3 -c '
import math, sys
fw, fh = (int(v) for v in sys.argv[1].split("x"))
x1, y1, x2, y2 = (float(v) for v in sys.argv[2:])
x0, y0 = math.floor(x1) // 2 * 2, math.floor(y1) // 2 * 2
xe, ye = min(fw, -(-math.ceil(x2) // 2) * 2), min(fh, -(-math.ceil(y2) // 2) * 2)
print(x0, y0, xe - x0, ye - y0)
' "$frame_size" "$x1" "$y1" "$x2" "$y2")
    size=$(ffprobe -v error -show_entries stream=width,height -of csv=p=0:s=x "$crop")
    [ "$size" = "${cw}x${ch}" ] || fail "$name: person snapshot is $size, expected ${cw}x${ch} (frame $frame, $frame_size)"
    ffmpeg -nostdin -loglevel error -i "$crop" -f rawvideo -pix_fmt rgb24 - >"$WORK/crop.rgb"
    # From the segment the frame came from: FFmpeg restarts its filters, and their frame count, when the size changes.
    case "$name:$((frame < half))" in
    shrinking.ts:1) source="$WORK/big_first.ts" ;;
    shrinking.ts:0) source="$WORK/small_second.ts" frame=$((frame - half)) ;;
    growing.ts:1) source="$WORK/small_first.ts" ;;
    growing.ts:0) source="$WORK/big_second.ts" frame=$((frame - half)) ;;
    *) source="$WORK/in/$name" ;;
    esac
    ffmpeg -nostdin -loglevel error -i "$source" -vf "select=eq(n\,$frame),crop=$cw:$ch:$cx:$cy" \
        -frames:v 1 -f rawvideo -pix_fmt rgb24 - >"$WORK/reference.rgb"
    python3 - "$WORK/crop.rgb" "$WORK/reference.rgb" "$name" <<'PY' || fail "$name: the person snapshot is not the detection's pixels"
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
if len(a) != len(b) or not a:
    sys.exit(f"{len(a)} bytes against {len(b)}")
mean = sum(abs(p - q) for p, q in zip(a, b)) / len(a)
print(f"# {sys.argv[3]}: person snapshot differs from FFmpeg's crop by {mean:.2f} levels on average")
if mean > 6:
    sys.exit(f"mean difference {mean:.2f} levels")
PY
done
pass "snapshots: thumbnails of the first picture, person crops cut from their own frame's pixels"

# --skip-similar carries the boxes of the last analysed frame onto frames
# that look the same. The 32x32 thumbnails of a frame and of its half-size
# copy are alike, but boxes cannot be carried across the size change: they
# are in the other size's pixels. Every frame must still get its own pixels'
# boxes, in the database and in the annotated video.
rm "$WORK/in/plain.mp4"
run_vidsift 0 --out "$WORK/similar" --skip-similar 0.02 --jobs 2 "$WORK/in"
db="$WORK/similar/results.db"
for name in shrinking.ts growing.ts; do
    read -r analysed carried_first carried_second < <(sql "$db" "select v.frames_analysed,
        (select count(distinct frame_index) from detections where video_id = v.id and carried = 1 and frame_index < $half),
        (select count(distinct frame_index) from detections where video_id = v.id and carried = 1 and frame_index >= $half)
        from videos v where v.path like '%/$name'" | tr '|' ' ')
    [ "$carried_first" -gt 0 ] && [ "$carried_second" -gt 0 ] ||
        fail "$name: no frame carried in one of the halves ($carried_first, $carried_second; $analysed analysed): nothing tested"
    echo "# $name with --skip-similar 0.02: $analysed frames analysed, $((carried_first + carried_second)) carried"
done
compare_halves shrinking.ts 0 "$half" || fail "--skip-similar: shrinking.ts: boxes carried into the wrong size's pixels"
compare_halves growing.ts "$half" 0 || fail "--skip-similar: growing.ts: boxes carried into the wrong size's pixels"
check_annotated
pass "--skip-similar: carried boxes are in their own frame's pixels, in the database and the annotated videos"
finish
