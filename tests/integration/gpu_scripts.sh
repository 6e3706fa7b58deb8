# The prepared GPU run's scripts (bench/gpu.sh, bench/gpu-deps.sh) stay runnable without a GPU:
# their syntax (bash -n, and shellcheck where installed), gpu.sh's usage errors, and the clip tool
# gpu.sh makes its clips with. The full rehearsal (bench/gpu.sh --rehearse) takes minutes and is
# run by hand (bench/README.md).
source "$(dirname "$0")/common.bash"
bench=$VS_SOURCE_DIR/bench

for script in gpu.sh gpu-deps.sh compare.sh; do
    bash -n "$bench/$script" || fail "$script: syntax error"
done
pass "bash -n"
if command -v shellcheck >/dev/null; then
    shellcheck -S warning "$bench/gpu.sh" "$bench/gpu-deps.sh" || fail "shellcheck warnings"
    pass "shellcheck"
else
    echo "shellcheck not installed: syntax checked with bash -n only"
fi

bash "$bench/gpu.sh" --help >"$WORK/help" || fail "gpu.sh --help exited $?"
grep -q -- '--rehearse' "$WORK/help" || fail "gpu.sh --help does not describe --rehearse"
status=0
bash "$bench/gpu.sh" --deps "$WORK" "$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" -eq 2 ] || fail "gpu.sh without deps.tar.xz exited $status, expected 2"
grep -q 'gpu-deps.sh' "$WORK/err" || fail "gpu.sh without deps does not say how to make them"
status=0
bash "$bench/gpu.sh" 2>/dev/null || status=$?
[ "$status" -eq 2 ] || fail "gpu.sh without OUT exited $status, expected 2"
pass "gpu.sh usage errors"

mkclip=$(dirname "$VIDSIFT")/vs_mkclip
[ -x "$mkclip" ] || fail "$mkclip not built"
"$mkclip" "$WORK/c.mkv" 64 48 5 || fail "vs_mkclip failed"
[ "$(frames_in "$WORK/c.mkv")" = 5 ] || fail "vs_mkclip wrote $(frames_in "$WORK/c.mkv") frames, not 5"
codec=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height \
    -of csv=p=0 "$WORK/c.mkv")
[ "$codec" = "h264,64,48" ] || fail "vs_mkclip wrote $codec, expected h264,64,48"
status=0
"$mkclip" "$WORK/d.mkv" 63 48 5 2>/dev/null || status=$?
[ "$status" -eq 2 ] || fail "vs_mkclip with an odd width exited $status, expected 2"
pass "vs_mkclip writes H.264 clips"
finish
