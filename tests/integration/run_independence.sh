# No video depends on the one before it (issue 12, item 5): the detections of
# a clip are the same, byte for byte, whether it runs alone or after clips of
# the same size in other pixel formats, colour ranges and matrices (gray,
# full-range yuvj420p MJPEG and H.264, full-range yuv420p FFV1, yuv444p, BT.709 and
# BT.601 matrices, 10-bit) - in one run, with --batch 8 and --jobs 1 and 2.
# A reused swscale context used to keep the previous video's colour range.
# Every clip is also compared with itself run alone, so the check holds in
# both directions: no clip leaks into the next, none is changed by one before.
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in"
# variant NAME FFMPEG_OUTPUT_OPTIONS...: 4 frames of testsrc2 at 320x180. The tiny test model
# (common.bash) scores each frame by its mean level, to the last stored digit: a colour range
# or matrix carried over from the clip before changes the picture's level, so its scores.
variant() {
    local name=$1; shift
    make_clip "$WORK/in/$name" 320x180 4 10 -an "$@"
}
# Names sort in the order they run: the plain clip comes last, after all others.
variant a_gray.mkv -c:v ffv1 -pix_fmt gray
variant b_mjpeg_full.avi -c:v mjpeg -pix_fmt yuvj420p -q:v 2
variant c_yuv444.mkv -c:v ffv1 -pix_fmt yuv444p
variant d_bt709_full.mp4 -c:v libx264 -pix_fmt yuv420p -color_range pc -colorspace bt709 \
    -x264-params fullrange=on:colormatrix=bt709
variant e_10bit.mkv -c:v ffv1 -pix_fmt yuv420p10le
variant f_bt709.mp4 -c:v libx264 -pix_fmt yuv420p -colorspace bt709 -x264-params colormatrix=bt709
variant g_full_range.mkv -c:v ffv1 -pix_fmt yuv420p -color_range pc -colorspace bt470bg
variant z_plain.mp4 -c:v libx264 -pix_fmt yuv420p -colorspace smpte170m \
    -x264-params colormatrix=smpte170m
describe() { ffprobe -v error -select_streams v:0 -show_entries stream=pix_fmt,color_range,color_space -of csv=p=0 "$1"; }
[ "$(describe "$WORK/in/b_mjpeg_full.avi" | cut -d, -f1)" = yuvj420p ] || fail "b_mjpeg_full.avi: $(describe "$WORK/in/b_mjpeg_full.avi")"
[ "$(describe "$WORK/in/d_bt709_full.mp4")" = "yuvj420p,pc,bt709" ] || fail "d_bt709_full.mp4: $(describe "$WORK/in/d_bt709_full.mp4")"
[ "$(describe "$WORK/in/g_full_range.mkv")" = "yuv420p,pc,bt470bg" ] || fail "g_full_range.mkv: $(describe "$WORK/in/g_full_range.mkv")"
[ "$(describe "$WORK/in/z_plain.mp4")" = "yuv420p,tv,smpte170m" ] || fail "z_plain.mp4: $(describe "$WORK/in/z_plain.mp4")"
pass "test clips: 8 of 320x180: gray, yuvj420p (MJPEG and H.264 full range, BT.709), yuv444p, 10-bit, BT.709, yuv420p full range, plain BT.601"

# rows DB NAME: the clip's detections as stored, every column that comes from the model.
rows() {
    sql "$1" "select d.frame_index, d.class_id, d.label, d.score, d.x1, d.y1, d.x2, d.y2
              from detections d join videos v on v.id = d.video_id
              where v.path like '%/$2' order by d.frame_index, d.score desc, d.x1, d.y1"
}
clips=$(cd "$WORK/in" && ls)
for clip in $clips; do
    run_vidsift 0 --out "$WORK/alone-$clip" --no-annotate --batch 8 --jobs 1 "$WORK/in/$clip"
    rows "$WORK/alone-$clip/results.db" "$clip" >"$WORK/alone-$clip.rows"
done
[ -s "$WORK/alone-z_plain.mp4.rows" ] || fail "z_plain.mp4: no detection alone: the comparison would prove nothing"
pass "each clip alone: $(cat "$WORK"/alone-*.rows | wc -l) detections in all"

for jobs in 1 2; do
    run_vidsift 0 --out "$WORK/mixed-$jobs" --no-annotate --batch 8 --jobs "$jobs" "$WORK/in"
    for clip in $clips; do
        rows "$WORK/mixed-$jobs/results.db" "$clip" >"$WORK/mixed-$jobs-$clip.rows"
        cmp -s "$WORK/alone-$clip.rows" "$WORK/mixed-$jobs-$clip.rows" ||
            fail "$clip: detections after other clips (--jobs $jobs) differ from alone: $(diff "$WORK/alone-$clip.rows" "$WORK/mixed-$jobs-$clip.rows" | head -4 | xargs)"
    done
    pass "--batch 8 --jobs $jobs: every clip's rows after the others are byte-identical to its rows alone"
done
finish
