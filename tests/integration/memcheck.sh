# One whole `vidsift run` under valgrind's memcheck: real footage (a clip
# with audio, so the annotator copies it, and one whose picture size changes
# mid-stream), two decoders, annotated videos, snapshots, the database.
# Fails on any memory error (invalid read or write, use of uninitialised
# values, bad free, overlapping copy) and on any block definitely lost.
# Errors that happen inside a library for its own reasons are suppressed in
# tests/valgrind.supp, each with the reason; nothing that passes through
# vidsift's code is.
#
# The model is the tiny test CenterNet (models/make_test_models.py): it runs
# every line of vidsift the default model runs (same decoder, same shim
# calls, a stretch resize). Under valgrind the default 512x512 model is far
# too slow for a test that must take a few minutes: with --batch 1 (a 1-frame
# warm-up) one frame took 4.5 minutes, and with the default batch of 8 the
# warm-up alone had not finished after 18. (That 1-frame run was clean too.)
# This test takes about a minute.
source "$(dirname "$0")/common.bash"
# ASan's runtime and valgrind both replace malloc and cannot run together:
# memcheck runs in the Release build and is reported as skipped (exit 77) in
# the sanitizer build, which has its own leak checker.
if ldd "$VIDSIFT" | grep libasan >/dev/null; then # grep reads it all: with -q, pipefail can see ldd's SIGPIPE
    echo "skipped: $VIDSIFT is built with AddressSanitizer, which valgrind cannot run; memcheck runs in the Release build"
    exit 77
fi
command -v valgrind >/dev/null || fail "valgrind is not installed (setup.sh installs it)"
model="$VS_MODELS_DIR/test/tiny_centernet.manifest.json"
[ -f "$model" ] || fail "$model missing: setup.sh makes it with models/make_test_models.py"
hello="$FORENSICS/movie2/movie-hello.mp4"
[ -f "$hello" ] || fail "$hello missing: setup.sh installs forensics-samples-files"

mkdir -p "$WORK/in"
ffmpeg -nostdin -loglevel error -y -i "$hello" -frames:v 3 -c:v libx264 -preset veryfast -c:a aac \
    "$WORK/in/hello.mp4" || fail "could not cut hello.mp4"
# 2 frames at 1280x720, then the same 2 at 640x360 (see run_resolution_change.sh).
ffmpeg -nostdin -loglevel error -y -i "$hello" -frames:v 2 -an -vf "setpts=N/30/TB" \
    -c:v libx264 -bf 0 -preset veryfast "$WORK/big.ts" || fail "could not encode big.ts"
ffmpeg -nostdin -loglevel error -y -i "$hello" -frames:v 2 -an -vf "scale=640:360,setpts=(N+2)/30/TB" \
    -c:v libx264 -bf 0 -preset veryfast "$WORK/small.ts" || fail "could not encode small.ts"
cat "$WORK/big.ts" "$WORK/small.ts" >"$WORK/in/changing.ts"

log="$WORK/valgrind.log"
started=$(date +%s)
status=0
# OMP_WAIT_POLICY set: vidsift then does not restart itself to set it
# (cli/omp.c), so the process valgrind watches is the one that does the work.
OMP_WAIT_POLICY=PASSIVE valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
    --suppressions="$VS_SOURCE_DIR/tests/valgrind.supp" --num-callers=40 --log-file="$log" \
    "$VIDSIFT" run --progress never --model "$model" --jobs 2 --snapshots --out "$WORK/out" \
    "$WORK/in" >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
echo "# valgrind run took $(($(date +%s) - started)) s"
# The figures, for the record.
grep -E "(definitely|indirectly|possibly) lost:|still reachable:|ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== */# /'

if [ "$status" = 99 ]; then
    # Each error's heading and the first frames of its stack.
    grep -A14 -E "^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination|.*definitely lost in)" "$log" >&2 || true
    fail "valgrind found memory errors or definite leaks (full log: $log)"
fi
[ "$status" = 0 ] || { cat "$WORK/stderr" >&2; fail "vidsift run under valgrind exited $status"; }
grep -q "ERROR SUMMARY: 0 errors" "$log" || fail "valgrind did not report 0 errors (log: $log)"
pass "no invalid read or write, no uninitialised value used, no bad free"
grep -Eq "definitely lost: 0 bytes in 0 blocks|All heap blocks were freed" "$log" ||
    fail "blocks definitely lost: $(grep 'definitely lost:' "$log")"
pass "0 bytes definitely lost"

# The run did the whole job under valgrind, or the above would prove little.
db="$WORK/out/results.db"
for clip in hello.mp4:3 changing.ts:4; do
    IFS=: read -r name frames <<<"$clip"
    [ "$(sql "$db" "select status || ' ' || frames_analysed from videos where path like '%/$name'")" = "done $frames" ] ||
        fail "$name: $(sql "$db" "select status, frames_analysed, error from videos where path like '%/$name'")"
    [ "$(frames_in "$(sql "$db" "select annotated_path from videos where path like '%/$name'")" | head -1)" = "$frames" ] ||
        fail "$name: annotated video incomplete"
    [ -f "$(sql "$db" "select s.path from snapshots s join videos v on v.id = s.video_id where v.path like '%/$name' and s.kind = 'thumb'")" ] ||
        fail "$name: no thumbnail"
done
pass "under valgrind: every frame analysed, annotated videos and thumbnails written"
finish
