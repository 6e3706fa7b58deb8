# Bad inputs fail alone: each is named with its reason, exit status 1, and the
# good video beside them is processed fully.
source "$(dirname "$0")/common.bash"

mkdir -p "$WORK/in"
make_clip "$WORK/in/good.mp4" 128x96 10 10 -c:v libx264 -pix_fmt yuv420p
: >"$WORK/in/empty.mp4"
head -c 20000 /dev/urandom >"$WORK/in/random.mp4"
make_clip "$WORK/big.mp4" 160x120 40 10 -c:v libx264 -pix_fmt yuv420p -movflags +faststart
size=$(stat -c %s "$WORK/big.mp4")
head -c "$((size / 2))" "$WORK/big.mp4" >"$WORK/in/truncated.mp4"
head -c "$((size / 10))" "$WORK/big.mp4" >"$WORK/in/truncated10.mp4"
# big.mp4 is faststart (index first): cut at 90% it keeps its index and loses
# only its last frames, a truncated file that still plays up to the cut.
head -c "$((size * 9 / 10))" "$WORK/big.mp4" >"$WORK/in/truncated90.mp4"
# Without faststart the moov atom is written last: cut at 90%, it is missing.
make_clip "$WORK/moov_last.mp4" 160x120 40 10 -c:v libx264 -pix_fmt yuv420p
head -c "$(($(stat -c %s "$WORK/moov_last.mp4") * 9 / 10))" "$WORK/moov_last.mp4" >"$WORK/in/no_moov.mp4"
ffmpeg -nostdin -loglevel error -f lavfi -i sine=duration=1 -c:a aac "$WORK/in/audio_only.m4a"
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=64x48 -frames:v 1 "$WORK/in/still.png"
make_clip "$WORK/in/noperm.mp4" 64x48 3 10 -c:v libx264 -pix_fmt yuv420p
chmod 000 "$WORK/in/noperm.mp4"
ln -s . "$WORK/in/loop"

inputs=("$WORK/in/empty.mp4" "$WORK/in/random.mp4" "$WORK/in/truncated.mp4" "$WORK/in/truncated10.mp4"
    "$WORK/in/truncated90.mp4"
    "$WORK/in/no_moov.mp4" "$WORK/in/audio_only.m4a"
    "$WORK/in/still.png" "$WORK/in/good.mp4")
# root reads anything: the permission case only means something for other users
[ "$(id -u)" = 0 ] || inputs+=("$WORK/in/noperm.mp4")
run_vidsift 1 --out "$WORK/out" "${inputs[@]}"
db="$WORK/out/results.db"
[ "$(sql "$db" "select status || ' ' || frames_analysed from videos where path like '%/good.mp4'")" = "done 10" ] ||
    fail "the good video was not processed fully"
pass "the good clip is done beside the bad ones"

for name in empty.mp4 random.mp4 truncated.mp4 truncated10.mp4 truncated90.mp4 no_moov.mp4 audio_only.m4a still.png; do
    [ "$(sql "$db" "select status from videos where path like '%/$name'")" = failed ] ||
        fail "$name: not recorded as failed"
    line=$(grep -F "$name" "$WORK/stderr" | head -1)
    [ -n "$line" ] || fail "$name: no message on stderr"
done
grep -q "no video stream" "$WORK/stderr" || fail "audio-only file: reason not given"
grep -q "still image" "$WORK/stderr" || fail "still image: reason not given"
grep -q "truncated" "$WORK/stderr" || fail "truncated clip: reason not given"
pass "each bad input is named with its reason and recorded as failed"

[ "$(sql "$db" "select count(*) from detections d join videos v on v.id = d.video_id where v.path like '%/truncated.mp4'")" -ge 0 ]
pass "rows decoded before the truncation are kept"

# The frames before the 90% cut are analysed, and their rows are kept: the
# same rows as the whole clip's for those frames (--conf 0.05: testsrc2 then
# has detections in every frame, so the comparison is not of two empty lists).
playable=$(frames_in "$WORK/in/truncated90.mp4")
[ "$playable" -gt 0 ] && [ "$playable" -lt 40 ] || fail "truncated90.mp4: $playable frames play; the cut tests nothing"
[ "$(sql "$db" "select frames_analysed from videos where path like '%/truncated90.mp4'")" = "$playable" ] ||
    fail "truncated90.mp4: not every frame before the cut was analysed"
run_vidsift 1 --quiet --conf 0.05 --no-annotate --out "$WORK/cut-out" "$WORK/in/truncated90.mp4" "$WORK/big.mp4"
detections "$WORK/cut-out/results.db" >"$WORK/cut-rows.txt"
grep -F "/truncated90.mp4|" "$WORK/cut-rows.txt" | sed 's/^[^|]*|/clip|/' >"$WORK/cut-kept.txt"
awk -F"|" -v n="$playable" '$1 ~ /\/big\.mp4$/ && $2 < n' "$WORK/cut-rows.txt" | sed 's/^[^|]*|/clip|/' \
    >"$WORK/cut-expected.txt"
[ -s "$WORK/cut-expected.txt" ] || fail "the whole clip has no rows before the cut: the comparison is empty"
same_detections "$WORK/cut-kept.txt" "$WORK/cut-expected.txt" ||
    fail "truncated90.mp4: the rows before the cut differ from the whole clip's"
pass "a clip truncated at 90%: the $playable frames before the cut are analysed and their rows kept"

mkdir -p "$WORK/tree/a"
cp "$WORK/in/good.mp4" "$WORK/tree/a/clip.mp4"
ln -s .. "$WORK/tree/a/loop"
run_vidsift 0 --out "$WORK/tree-out" --no-annotate "$WORK/tree"
grep -q "loop" "$WORK/stderr" || fail "the symlink loop was not reported"
[ "$(sql "$WORK/tree-out/results.db" "select count(*) from videos")" = 1 ] || fail "the loop made a video count twice"
pass "a symlink loop is reported, not followed, and not fatal"
finish
