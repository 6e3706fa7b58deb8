# Sampling and filtering options each change exactly what they should;
# bad option values are usage errors (exit 2) with a message naming the option.
source "$(dirname "$0")/common.bash"

make_clip "$WORK/moving.mp4" 128x96 20 10 -c:v libx264 -pix_fmt yuv420p
# A still picture for 12 frames: every frame after the first is "similar";
# a flicker between dark and bright frames: no frame is.
ffmpeg -nostdin -loglevel error -f lavfi -i "color=c=gray:size=128x96:rate=10" -frames:v 12 \
    -c:v libx264 -pix_fmt yuv420p "$WORK/still.mp4"
ffmpeg -nostdin -loglevel error -f lavfi -i "color=c=gray:size=128x96:rate=10,format=yuv420p,geq=lum='if(mod(N,2),220,30)':cb=128:cr=128" \
    -frames:v 10 -c:v libx264 -pix_fmt yuv420p "$WORK/flicker.mp4"

analysed() { sql "$1/results.db" "select frames_analysed from videos where path like '%/$2'"; }

run_vidsift 0 --out "$WORK/every" --no-annotate --every 3 "$WORK/moving.mp4"
[ "$(analysed "$WORK/every" moving.mp4)" = 7 ] || fail "--every 3 on 20 frames: expected 7 analysed"
[ "$(sql "$WORK/every/results.db" "select group_concat(distinct frame_index) from (select frame_index from detections order by frame_index)")" = "" ] ||
    [ -z "$(sql "$WORK/every/results.db" "select frame_index from detections where frame_index % 3 != 0")" ] ||
    fail "--every 3 stored detections of frames not analysed"
pass "--every 3 analyses frames 0, 3, ... 18"

run_vidsift 0 --out "$WORK/fps" --no-annotate --sample-fps 2 "$WORK/moving.mp4"
[ "$(analysed "$WORK/fps" moving.mp4)" = 4 ] || fail "--sample-fps 2 on 2 s: expected 4 analysed, got $(analysed "$WORK/fps" moving.mp4)"
pass "--sample-fps 2 analyses 2 frames per second of video"

run_vidsift 0 --out "$WORK/similar" --no-annotate --skip-similar 0.02 --conf 0.05 "$WORK/still.mp4" "$WORK/flicker.mp4"
[ "$(analysed "$WORK/similar" still.mp4)" = 1 ] || fail "--skip-similar: a still clip should be analysed once"
[ "$(analysed "$WORK/similar" flicker.mp4)" = 10 ] || fail "--skip-similar: a flickering clip should be analysed fully"
[ "$(sql "$WORK/similar/results.db" "select count(distinct frame_index) from detections d join videos v on v.id = d.video_id where v.path like '%still.mp4' and carried = 1")" = \
  "$(sql "$WORK/similar/results.db" "select case when count(*) > 0 then 11 else 0 end from detections d join videos v on v.id = d.video_id where v.path like '%still.mp4' and carried = 0")" ] ||
    fail "--skip-similar: carried rows should repeat frame 0's detections on the 11 other frames"
pass "--skip-similar analyses a still clip once (the rest carried) and a flickering clip fully"

run_vidsift 0 --out "$WORK/all" --no-annotate --conf 0.05 "$WORK/moving.mp4"
run_vidsift 0 --out "$WORK/person" --no-annotate --conf 0.05 --classes person "$WORK/moving.mp4"
all=$(sql "$WORK/all/results.db" "select count(*) from detections")
persons=$(sql "$WORK/all/results.db" "select count(*) from detections where label = 'person'")
[ "$(sql "$WORK/person/results.db" "select count(*) from detections where label != 'person'")" = 0 ] ||
    fail "--classes person kept other labels"
[ "$all" -gt 0 ] || fail "no detections at all at --conf 0.05: cannot check --classes"
pass "--classes person keeps only persons ($all detections in all, $persons persons unfiltered)"

# Preprocess workers fill positions of the same batches and batches leave in order: three
# workers store what one stores (two clips interleaved in batches of 4).
for workers in 1 3; do
    run_vidsift 0 --out "$WORK/workers$workers" --no-annotate --conf 0.05 --batch 4 \
        --preprocess-threads "$workers" "$WORK/moving.mp4" "$WORK/flicker.mp4"
    detections "$WORK/workers$workers/results.db" >"$WORK/workers$workers.txt"
done
[ -s "$WORK/workers1.txt" ] || fail "no detections at --conf 0.05: cannot compare workers"
same_detections "$WORK/workers1.txt" "$WORK/workers3.txt" ||
    fail "3 preprocess workers stored other detections than 1"
pass "--preprocess-threads 3 stores what 1 worker stores ($(wc -l <"$WORK/workers1.txt") rows)"

for bad in "--batch 0" "--batch -1" "--batch 65" "--batch abc" "--conf 2" "--every 0" \
    "--jobs 0" "--preprocess-threads 65" "--progress sometimes" "--device tpu" "--classes unicorn" "--model /nonexistent.json"; do
    status=0
    # shellcheck disable=SC2086
    "$VIDSIFT" run --out "$WORK/bad" $bad "$WORK/moving.mp4" 2>"$WORK/stderr" >/dev/null || status=$?
    [ "$status" = 2 ] || fail "$bad: exit $status, expected 2"
    [ "$(wc -l <"$WORK/stderr")" -ge 1 ] || fail "$bad: no message"
done
pass "bad option values exit 2 with a message"

status=0
# A missing input fails that input (issue 12): exit 1, named, never a usage error.
"$VIDSIFT" run --progress never --out "$WORK/missing-out" "$WORK/missing.mp4" 2>"$WORK/stderr" || status=$?
[ "$status" = 1 ] && grep -q "missing.mp4: No such file" "$WORK/stderr" ||
    fail "a missing input should exit 1 naming it (exit $status)"
pass "missing input named, exit 1"

# libtorch's OpenMP threads must sleep, not spin, between operators: spinning
# took the cores the other stages need (bench/RESULTS.md). vidsift restarts
# itself with OMP_WAIT_POLICY=PASSIVE (cli/omp.c) unless one is set; the
# value shows in the running process's environment only after that restart.
wait_policy_of() { # wait_policy_of [VAR=VALUE...]: OMP_WAIT_POLICY of a running `vidsift run`
    env "$@" "$VIDSIFT" run --progress never --quiet --no-annotate --force --out "$WORK/omp" \
        "$WORK/moving.mp4" >/dev/null 2>&1 &
    local pid=$! policy="" tries
    for tries in $(seq 200); do
        policy=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^OMP_WAIT_POLICY=//p')
        [ -z "$policy" ] && kill -0 "$pid" 2>/dev/null && sleep 0.02 && continue
        break
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" || true
    echo "$policy"
}
[ "$(wait_policy_of -u OMP_WAIT_POLICY)" = PASSIVE ] || fail "vidsift run does not set OMP_WAIT_POLICY=PASSIVE"
[ "$(wait_policy_of OMP_WAIT_POLICY=ACTIVE)" = ACTIVE ] || fail "vidsift run overrides a user's OMP_WAIT_POLICY"
pass "libtorch's threads sleep when idle (OMP_WAIT_POLICY=PASSIVE), unless the user says otherwise"
finish
