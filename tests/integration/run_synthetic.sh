# vidsift run on generated clips of various sizes, rates, pixel formats and
# codecs: every frame analysed, rows and outputs where they belong.
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in/sub dir"
make_clip "$WORK/in/a_h264_yuv420p.mp4" 160x120 12 10 -c:v libx264 -pix_fmt yuv420p
make_clip "$WORK/in/b_odd_641x359.mkv" 641x359 7 25 -c:v mpeg4
make_clip "$WORK/in/sub dir/c_yuv444p.mp4" 96x64 5 30 -c:v libx264 -pix_fmt yuv444p
make_clip "$WORK/in/sub dir/d_vp9.webm" 128x72 6 15 -c:v libvpx-vp9 -pix_fmt yuv420p
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=128x96:rate=10 \
    -f lavfi -i sine=frequency=440:duration=2 -frames:v 10 -c:v libx264 -pix_fmt yuv420p \
    -c:a aac "$WORK/in/e_with_audio.mp4" || fail "could not make a clip with audio"
echo "not a video" >"$WORK/in/notes.txt"

run_vidsift 0 --out "$WORK/out" --batch 4 "$WORK/in"
db="$WORK/out/results.db"
[ "$(sql "$db" "select count(*) from videos where status = 'done'")" = 5 ] ||
    fail "expected 5 videos done: $(sql "$db" "select path, status, error from videos")"
pass "five videos of five codecs/formats done, the text file ignored"

for clip in a_h264_yuv420p.mp4:12 b_odd_641x359.mkv:7 "sub dir/c_yuv444p.mp4:5" \
    "sub dir/d_vp9.webm:6" e_with_audio.mp4:10; do
    name=${clip%:*} frames=${clip##*:}
    got=$(sql "$db" "select frames_analysed from videos where path like '%/$name'")
    [ "$got" = "$frames" ] || fail "$name: $got frames analysed, expected $frames"
    annotated="$WORK/out/annotated/in/$name" # under the argument's name, in/
    case "$name" in *.mp4) ;; *) annotated="$annotated.mp4" ;; esac
    [ -f "$annotated" ] || fail "no annotated video $annotated"
    [ "$(frames_in "$annotated")" = "$frames" ] || fail "$annotated: frame count differs"
done
pass "every frame analysed, annotated videos have the source's frame count"

ffprobe -v error -show_entries stream=codec_type -of csv "$WORK/out/annotated/in/e_with_audio.mp4" |
    grep -q audio || fail "audio not kept in the annotated video"
pass "audio stream kept"

python3 - "$WORK/out/report.json" <<'PY' || fail "report.json incomplete"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["frames_analysed"] == 40, r["frames_analysed"]
names = [s["name"] for s in r["stages"]]
assert names == ["decode", "preprocess", "inference", "postprocess", "track", "sinks"], names
assert r["bottleneck"] in names
assert all(s["count"] > 0 for s in r["stages"]), r["stages"]
assert r["memory"]["rss_peak_bytes"] > 0
assert all(isinstance(r["memory"][k], int) and r["memory"][k] >= 0
           for k in ("frame_pool_waits", "batch_pool_waits")), r["memory"]
PY
pass "report.json has every stage, the bottleneck and memory"

[ -z "$(find "$WORK/out/annotated" -name '*.part')" ] || fail "a .part file was left behind"
pass "no half-written annotated file left"
finish
