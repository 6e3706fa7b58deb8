# Unusual but valid inputs: each is analysed in full, and the boxes stay
# inside the picture. Plus an unwritable output directory (exit 2).
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in"
make_clip "$WORK/in/tiny_16x16.mp4" 16x16 4 10 -c:v libx264 -pix_fmt yuv420p
make_clip "$WORK/in/uhd_3840x2160.mp4" 3840x2160 3 10 -c:v libx264 -preset ultrafast -pix_fmt yuv420p
make_clip "$WORK/in/hevc_10bit.mkv" 320x240 4 10 -c:v libx265 -pix_fmt yuv420p10le -x265-params log-level=error
# Variable frame rate: uneven gaps between timestamps.
make_clip "$WORK/in/vfr.mkv" 160x120 5 10 -vf "setpts='(N*(N+1)/2)/10/TB'" -fps_mode passthrough -c:v libx264 -pix_fmt yuv420p

run_vidsift 0 --out "$WORK/out" --conf 0.05 "$WORK/in"
db="$WORK/out/results.db"
for clip in tiny_16x16.mp4:4:16:16 uhd_3840x2160.mp4:3:3840:2160 hevc_10bit.mkv:4:320:240 \
    vfr.mkv:5:160:120; do
    IFS=: read -r name frames width height <<<"$clip"
    [ "$(sql "$db" "select status || ' ' || frames_analysed from videos where path like '%/$name'")" = "done $frames" ] ||
        fail "$name: $(sql "$db" "select status, frames_analysed, error from videos where path like '%/$name'")"
    outside=$(sql "$db" "select count(*) from detections d join videos v on v.id = d.video_id
        where v.path like '%/$name' and (x1 < 0 or y1 < 0 or x2 > $width or y2 > $height or x1 > x2 or y1 > y2)")
    [ "$outside" = 0 ] || fail "$name: $outside boxes outside the ${width}x${height} picture"
done
pass "16x16, 3840x2160, 10-bit HEVC and VFR clips analysed in full, boxes inside the picture"

stream_ms=$(ffprobe -v error -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$WORK/in/vfr.mkv" |
    awk -F, 'NF { printf "%s%d", sep, $1 * 1000 + 0.5; sep = "," }')
stored_ms=$(sql "$db" "select group_concat(pts_ms) from (select distinct d.frame_index, d.pts_ms from detections d join videos v on v.id = d.video_id where v.path like '%/vfr.mkv' order by d.frame_index)")
[ -n "$stored_ms" ] || fail "vfr.mkv: no detections at --conf 0.05 to check timestamps with"
[ "$stored_ms" = "$stream_ms" ] || fail "vfr.mkv: pts_ms $stored_ms, the stream says $stream_ms"
pass "variable frame rate: pts_ms are the stream's timestamps ($stream_ms)"

[ "$(frames_in "$WORK/out/annotated/in/uhd_3840x2160.mp4")" = 3 ] || fail "4K annotated video incomplete"
pass "4K annotated video written"

# A phone clip stores its picture sideways with a display matrix; the model
# must see it upright. The same frames, losslessly (4:4:4, so the RGB is
# identical pixel for pixel), stored upright and turned by 90, 180 and 270
# degrees with the matrix that turns them back: the boxes, mapped from coded
# to shown pixels, must be those of the upright clip.
# The tiny test model (common.bash) puts its boxes at fixed places of the picture it is
# given (the person top left): a clip analysed sideways gives other shown boxes. A bright
# clip, for its rows in every frame.
make_bright_clip "$WORK/upright.mkv" 320x180 6 10 -c:v ffv1 -pix_fmt yuv444p
mkdir -p "$WORK/turned"
shown_frame() { ffmpeg -nostdin -loglevel error -i "$1" -frames:v 1 -f rawvideo -pix_fmt rgb24 - | md5sum; }
# DEGREES:FILTER: the clockwise turn a player applies, and the filter that
# stores the upright picture turned the other way.
# 4:4:4 before turning: upsampling 4:2:0 chroma is not the same along both axes.
for turn in 0:null 90:transpose=2 180:hflip,vflip 270:transpose=1; do
    IFS=: read -r degrees filter <<<"$turn"
    ffmpeg -nostdin -loglevel error -y -i "$WORK/upright.mkv" -vf "format=yuv444p,$filter" -frames:v 6 -an \
        -c:v libx264 -qp 0 "$WORK/coded.mp4" || fail "could not encode turned$degrees"
    # FFmpeg 5.1's mp4 muxer takes the tag only when stream-copying; the tag
    # counts anticlockwise (tag 90 is shown turned 270 clockwise).
    ffmpeg -nostdin -loglevel error -y -i "$WORK/coded.mp4" -c copy \
        -metadata:s:v:0 rotate=$(((360 - degrees) % 360)) "$WORK/turned/turned$degrees.mp4" ||
        fail "could not tag turned$degrees"
    # The clip is built right only if FFmpeg's own player shows the upright picture.
    [ "$(shown_frame "$WORK/turned/turned$degrees.mp4")" = "$(shown_frame "$WORK/turned/turned0.mp4")" ] ||
        fail "turned$degrees.mp4 is not shown upright by ffmpeg"
done
run_vidsift 0 --out "$WORK/turned-out" --no-annotate "$WORK/turned"
db="$WORK/turned-out/results.db"
for degrees in 0 90 180 270; do
    [ "$(sql "$db" "select rotation || ' ' || frames_analysed from videos where path like '%/turned$degrees.mp4'")" = "$degrees 6" ] ||
        fail "turned$degrees.mp4: $(sql "$db" "select rotation, frames_analysed, error from videos where path like '%/turned$degrees.mp4'")"
    # Coded to shown pixels (W x H coded): 90: (H - y, x); 180: (W - x, H - y); 270: (y, W - x).
    sql "$db" "select d.frame_index, d.label, printf('%.3f', d.score), printf('%.1f %.1f %.1f %.1f',
            case v.rotation when 90 then v.height - d.y2 when 180 then v.width - d.x2 when 270 then d.y1 else d.x1 end,
            case v.rotation when 90 then d.x1 when 180 then v.height - d.y2 when 270 then v.width - d.x2 else d.y1 end,
            case v.rotation when 90 then v.height - d.y1 when 180 then v.width - d.x1 when 270 then d.y2 else d.x2 end,
            case v.rotation when 90 then d.x2 when 180 then v.height - d.y1 when 270 then v.width - d.x1 else d.y2 end)
        from detections d join videos v on v.id = d.video_id where v.path like '%/turned$degrees.mp4'
        order by d.frame_index, d.score desc" | sed 's/^/turned|/' >"$WORK/shown$degrees"
done
[ "$(grep -c '|person|' "$WORK/shown0")" -ge 6 ] || fail "upright clip: the person is not found in every frame"
for degrees in 90 180 270; do
    same_detections "$WORK/shown0" "$WORK/shown$degrees" || fail "turned by $degrees: boxes differ from the upright clip's"
done
pass "clips turned by 90/180/270 with a display matrix: the model sees them upright, boxes map back to coded pixels"

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
