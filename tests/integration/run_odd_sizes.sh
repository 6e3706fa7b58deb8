# A valid video is never failed by an optional output (issue 12, item 9):
# 1x64 and 64x1 videos (and a 1x1 one) are decoded, analysed and stored, and
# their annotated copy - which H.264 4:2:0 cannot hold under 2x2 - is skipped
# with one warning line naming the video, not a failure. Odd sizes that can
# be encoded (3x5, 2x2) get a copy scaled to the even size below (2x4, 2x2).
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in"
# FFV1 in Matroska holds any size; testsrc2 is made at 64x64 and scaled down.
for size in 1x64 64x1 1x1 3x5 2x2; do
    ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=64x64:rate=10 -frames:v 5 \
        -vf "format=yuv444p,scale=${size/x/:}" -c:v ffv1 "$WORK/in/clip_$size.mkv" ||
        fail "could not make clip_$size.mkv"
    got=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$WORK/in/clip_$size.mkv")
    [ "$got" = "$size" ] || fail "clip_$size.mkv is $got"
done
pass "test clips: 5 frames each at 1x64, 64x1, 1x1, 3x5, 2x2 (FFV1)"

run_vidsift 0 --out "$WORK/out" --snapshots --jobs 2 "$WORK/in"
db="$WORK/out/results.db"
for size in 1x64 64x1 1x1 3x5 2x2; do
    name=clip_$size.mkv
    got=$(sql "$db" "select status || ' ' || frames || ' ' || frames_analysed from videos where path like '%/$name'")
    [ "$got" = "done 5 5" ] || fail "$name: $(sql "$db" "select status, frames, frames_analysed, error from videos where path like '%/$name'")"
    [ -n "$(find "$WORK/out/snapshots" -path "*$name*" -name 'thumb.jpg')" ] || fail "$name: no thumbnail"
done
pass "every clip done, 5 of 5 frames analysed and stored, snapshots written; exit status 0"

for size in 1x64 64x1 1x1; do
    name=clip_$size.mkv
    [ "$(grep -c "warning: .*$name: no annotated video: its $size pictures are too small" "$WORK/stderr")" = 1 ] ||
        fail "$name: no single warning line in: $(cat "$WORK/stderr")"
    [ -z "$(sql "$db" "select annotated_path from videos where path like '%/$name'")" ] ||
        fail "$name: the store names an annotated copy"
    [ -z "$(find "$WORK/out/annotated" -path "*$name*")" ] || fail "$name: something was left under annotated/: $(find "$WORK/out/annotated" -path "*$name*")"
    python3 - "$WORK/out/report.json" "$name" <<'PY' || fail "$name: report.json has no warning for it"
import json, sys
videos = [v for v in json.load(open(sys.argv[1]))["video_list"] if v["path"].endswith("/" + sys.argv[2])]
assert len(videos) == 1 and videos[0]["status"] == "done" and "no annotated video" in videos[0]["warning"], videos
PY
done
pass "1x64, 64x1, 1x1: one warning line each, no annotated copy, none recorded, report.json says why"

for pair in 3x5:2x4 2x2:2x2; do
    IFS=: read -r size encoded <<<"$pair"
    name=clip_$size.mkv
    annotated=$(sql "$db" "select annotated_path from videos where path like '%/$name'")
    [ -f "$annotated" ] || fail "$name: no annotated copy ('$annotated')"
    got=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$annotated")
    [ "$got" = "$encoded" ] || fail "$name: annotated copy is $got, expected $encoded"
    [ "$(frames_in "$annotated")" = 5 ] || fail "$name: annotated copy has $(frames_in "$annotated") frames"
    ! grep -q "warning: .*$name" "$WORK/stderr" || fail "$name: warned: $(grep "$name" "$WORK/stderr")"
done
[ -z "$(find "$WORK/out" -name '*.part')" ] || fail "a .part file was left: $(find "$WORK/out" -name '*.part')"
pass "3x5 and 2x2: annotated copies of 2x4 and 2x2 with all 5 frames, no warning; no .part left"
finish
