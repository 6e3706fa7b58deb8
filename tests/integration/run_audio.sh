# Annotated videos keep all of the source's audio (issue 12, item 12): every
# audio packet of the source is in the annotated copy, whether the audio
# outlasts the video (the tail after the last frame used to be dropped) or
# ends before it, for AAC, MP3 and Opus (three codecs the MP4 muxer takes).
# Checked with ffprobe -count_packets on the first audio stream of each file.
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in"
# clip NAME CODEC AUDIO_SECONDS: 1 s of video (10 frames) with a sine of AUDIO_SECONDS.
clip() {
    ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=96x64:rate=10:duration=1 \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$3" \
        -c:v libx264 -pix_fmt yuv420p -c:a "$2" -b:a 64k "$WORK/in/$1.mp4" ||
        fail "could not make $1.mp4"
}
audio_packets() {
    ffprobe -v error -select_streams a:0 -count_packets -show_entries stream=nb_read_packets \
        -of default=nw=1:nk=1 "$1"
}
audio_duration() { # seconds, from the last packet's end
    ffprobe -v error -select_streams a:0 -show_entries packet=pts_time,duration_time \
        -of csv=p=0 "$1" | awk -F, 'END { printf "%.3f", $1 + $2 }'
}
clips=""
for codec in aac libmp3lame libopus; do
    clip "${codec}_long" "$codec" 3
    clip "${codec}_short" "$codec" 0.4
    clips="$clips ${codec}_long ${codec}_short"
done
for name in $clips; do
    packets=$(audio_packets "$WORK/in/$name.mp4")
    [ "${packets:-0}" -gt 5 ] || fail "$name.mp4 has ${packets:-no} audio packets"
done
pass "test clips: 1 s of video with 3 s and 0.4 s of AAC, MP3 and Opus audio"

# Analyse 2 frames of 10: the annotator still writes every frame, and the run stays short.
run_vidsift 0 --out "$WORK/out" --every 5 "$WORK/in"
db="$WORK/out/results.db"
for name in $clips; do
    annotated=$(sql "$db" "select annotated_path from videos where path like '%/$name.mp4'")
    [ -f "$annotated" ] || fail "$name: no annotated video (store says '$annotated')"
    want=$(audio_packets "$WORK/in/$name.mp4")
    got=$(audio_packets "$annotated")
    [ "$got" = "$want" ] || fail "$name: annotated copy has $got audio packets, the source $want"
    want_s=$(audio_duration "$WORK/in/$name.mp4")
    got_s=$(audio_duration "$annotated")
    awk -v a="$got_s" -v b="$want_s" 'BEGIN { exit !(a - b < 0.002 && b - a < 0.002) }' ||
        fail "$name: annotated audio ends at $got_s s, the source's at $want_s s"
    [ "$(frames_in "$annotated")" = 10 ] || fail "$name: annotated copy has $(frames_in "$annotated") frames, not 10"
    pass "$name: $got audio packets, ending at $got_s s, as in the source; 10 frames"
done
finish
