# Unusual but valid inputs: each is analysed in full, and the boxes stay
# inside the picture. Plus an unwritable output directory (exit 2).
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in"
make_clip "$WORK/in/tiny_16x16.mp4" 16x16 4 10 -c:v libx264 -pix_fmt yuv420p
make_clip "$WORK/in/uhd_3840x2160.mp4" 3840x2160 3 10 -c:v libx264 -preset ultrafast -pix_fmt yuv420p
make_clip "$WORK/in/hevc_10bit.mkv" 320x240 4 10 -c:v libx265 -pix_fmt yuv420p10le -x265-params log-level=error
make_clip "$WORK/in/rotated.mp4" 320x240 4 10 -c:v libx264 -pix_fmt yuv420p -metadata:s:v rotate=90
# Variable frame rate: uneven gaps between timestamps.
make_clip "$WORK/in/vfr.mkv" 160x120 5 10 -vf "setpts='(N*(N+1)/2)/10/TB'" -fps_mode passthrough -c:v libx264 -pix_fmt yuv420p

run_vidsift 0 --out "$WORK/out" --conf 0.05 "$WORK/in"
db="$WORK/out/results.db"
for clip in tiny_16x16.mp4:4:16:16 uhd_3840x2160.mp4:3:3840:2160 hevc_10bit.mkv:4:320:240 \
    rotated.mp4:4:320:240 vfr.mkv:5:160:120; do
    IFS=: read -r name frames width height <<<"$clip"
    [ "$(sql "$db" "select status || ' ' || frames_analysed from videos where path like '%/$name'")" = "done $frames" ] ||
        fail "$name: $(sql "$db" "select status, frames_analysed, error from videos where path like '%/$name'")"
    outside=$(sql "$db" "select count(*) from detections d join videos v on v.id = d.video_id
        where v.path like '%/$name' and (x1 < 0 or y1 < 0 or x2 > $width or y2 > $height or x1 > x2 or y1 > y2)")
    [ "$outside" = 0 ] || fail "$name: $outside boxes outside the ${width}x${height} picture"
done
pass "16x16, 3840x2160, 10-bit HEVC, rotated and VFR clips analysed in full, boxes inside the picture"

stream_ms=$(ffprobe -v error -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$WORK/in/vfr.mkv" |
    awk -F, 'NF { printf "%s%d", sep, $1 * 1000 + 0.5; sep = "," }')
stored_ms=$(sql "$db" "select group_concat(pts_ms) from (select distinct d.frame_index, d.pts_ms from detections d join videos v on v.id = d.video_id where v.path like '%/vfr.mkv' order by d.frame_index)")
[ -n "$stored_ms" ] || fail "vfr.mkv: no detections at --conf 0.05 to check timestamps with"
[ "$stored_ms" = "$stream_ms" ] || fail "vfr.mkv: pts_ms $stored_ms, the stream says $stream_ms"
pass "variable frame rate: pts_ms are the stream's timestamps ($stream_ms)"

[ "$(frames_in "$WORK/out/annotated/uhd_3840x2160.mp4")" = 3 ] || fail "4K annotated video incomplete"
pass "4K annotated video written"

mkdir -p "$WORK/readonly"
chmod 500 "$WORK/readonly"
if [ "$(id -u)" != 0 ]; then
    run_vidsift 2 --out "$WORK/readonly/out" "$WORK/in/tiny_16x16.mp4"
    grep -q "readonly/out" "$WORK/stderr" || fail "unwritable output directory not named"
    pass "unwritable output directory: exit 2, named"
fi
run_vidsift 2 --out /proc/vidsift-cannot-be-here "$WORK/in/tiny_16x16.mp4"
grep -q "/proc/vidsift-cannot-be-here" "$WORK/stderr" || fail "unusable output directory not named"
pass "an output directory that cannot be created: exit 2, named"
finish
