# Steady state allocates nothing per frame in vidsift's own stages. Counts
# heap allocations per pipeline thread (tests/tools/malloc_count.c, preloaded)
# for a 24-frame and a 96-frame clip; the difference is what 72 more frames
# cost. batch+preprocess and postprocess are vidsift's code alone and must
# not allocate at all; the other threads call into FFmpeg's demuxer (a packet
# buffer per packet), libtorch (its tensors per batch) and SQLite, and their
# per-frame figures are printed for the record.
source "$(dirname "$0")/common.bash"
: "${VS_MALLOC_COUNT_LIB:?set by ctest}"
# ASan replaces malloc itself: this test counts in the Release build and is
# reported as skipped (exit 77) in the sanitizer build.
case "$VIDSIFT" in *asan*) echo "skipped: the sanitizer build replaces malloc; counted in the Release build"; exit 77 ;; esac

make_clip "$WORK/short.mp4" 96x64 24 10 -c:v libx264 -pix_fmt yuv420p -g 1000
make_clip "$WORK/long.mp4" 96x64 96 10 -c:v libx264 -pix_fmt yuv420p -g 1000

count() { # count CLIP OUT
    VS_MALLOC_COUNT_FILE="$WORK/$2.count" LD_PRELOAD="$VS_MALLOC_COUNT_LIB" \
        "$VIDSIFT" run --progress never --quiet --no-annotate --batch 8 --out "$WORK/$2" "$WORK/$1" ||
        fail "vidsift run failed under the counter"
    [ -s "$WORK/$2.count" ] || fail "the allocation counter wrote nothing"
}
count short.mp4 short
count long.mp4 long
extra_frames=72
while read -r thread short_count; do
    long_count=$(awk -v t="$thread" '$1 == t { print $2 }' "$WORK/long.count")
    delta=$((long_count - short_count))
    printf '%-11s %8d allocations for 24 frames, %8d for 96: %6.2f per extra frame\n' \
        "$thread" "$short_count" "$long_count" "$(echo "$delta / $extra_frames" | bc -l)"
    case "$thread" in
    vs-batch | vs-post)
        [ "$delta" -le 0 ] || fail "$thread allocated $delta times for $extra_frames more frames"
        ;;
    esac
done <"$WORK/short.count"
pass "batch+preprocess and postprocess allocate nothing per frame"
finish
