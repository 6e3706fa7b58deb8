# The database under other processes (issue 12, items 6 and 7).
# Two runs on the same --out with different videos at the same time both
# finish with all of their rows: a write transaction never spans an
# inference, so each waits for the other's commits only. And a run whose
# database is deleted, replaced, or whose OUT is removed while it writes ends
# with exit 1 and a line that says so, never "done".
source "$(dirname "$0")/common.bash"

hello="$FORENSICS/movie2/movie-hello.mp4"
[ -f "$hello" ] || fail "forensics-samples-files is not installed (setup.sh installs it)"
mkdir -p "$WORK/in1" "$WORK/in2"
# cut NAME START FRAMES: a piece of the real clip (people in it: rows to write)
cut() {
    ffmpeg -nostdin -loglevel error -ss "$2" -i "$hello" -frames:v "$3" -an -c:v libx264 \
        -preset ultrafast "$WORK/$1" || fail "could not cut $1"
}
cut in1/a.mp4 0 10
cut in1/b.mp4 2 10
cut in1/c.mp4 4 10
cut in2/d.mp4 1 8
cut in2/e.mp4 3 8
common=(--no-annotate --progress never --quiet --batch 4)

# The reference: the same videos, one run after the other.
run_vidsift 0 "${common[@]}" --out "$WORK/ref" "$WORK/in1"
run_vidsift 0 "${common[@]}" --out "$WORK/ref" "$WORK/in2"
detections "$WORK/ref/results.db" >"$WORK/ref.rows"
[ -s "$WORK/ref.rows" ] || fail "the reference runs found nothing: the shared runs would write no rows"

# wait_for_rows DB PID: until DB holds committed detections (or PID ended).
wait_for_rows() {
    for _ in $(seq 1500); do
        [ "$(sql "$1" "select count(*) from detections" 2>/dev/null || echo 0)" -gt 0 ] && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

shared="$WORK/shared/results.db"
"$VIDSIFT" run "${common[@]}" --out "$WORK/shared" "$WORK/in1" >"$WORK/a.out" 2>"$WORK/a.err" &
first=$!
wait_for_rows "$shared" "$first" || fail "the first run wrote no rows: $(cat "$WORK/a.err")"
# The second starts while the first is writing.
"$VIDSIFT" run "${common[@]}" --out "$WORK/shared" "$WORK/in2" >"$WORK/b.out" 2>"$WORK/b.err" &
second=$!
status_first=0 status_second=0
wait "$first" || status_first=$?
wait "$second" || status_second=$?
[ "$status_first" = 0 ] || fail "the first run exited $status_first: $(cat "$WORK/a.err")"
[ "$status_second" = 0 ] || fail "the second run exited $status_second: $(cat "$WORK/b.err")"
[ "$(sql "$shared" "select group_concat(status) from runs")" = "done,done" ] ||
    fail "runs: $(sql "$shared" "select id, status from runs")"
[ "$(sql "$shared" "select count(*) from videos where status = 'done'")" = 5 ] ||
    fail "videos: $(sql "$shared" "select path, status, error from videos")"
detections "$shared" >"$WORK/shared.rows"
same_detections "$WORK/ref.rows" "$WORK/shared.rows" || fail "the shared database's rows differ from the reference"
[ "$(sql "$shared" "pragma integrity_check")" = ok ] || fail "integrity check failed"
overlap=$(sql "$shared" "select count(*) from runs a join runs b on a.id < b.id
                         where b.started_at < a.ended_at")
pass "two runs on one --out at once (overlapping: $overlap): both done, all $(wc -l <"$WORK/ref.rows") rows as when run apart"

# The database or OUT taken away while a run writes.
cut long.mp4 0 90
# vanish CASE: starts a run, waits for its first rows, does CASE to OUT, expects exit 1 and the reason.
vanish() {
    local out="$WORK/vanish-$1" status=0
    "$VIDSIFT" run "${common[@]}" --every 3 --out "$out" "$WORK/long.mp4" >"$WORK/v.out" 2>"$WORK/v.err" &
    local pid=$!
    wait_for_rows "$out/results.db" "$pid" || fail "$1: the run wrote no rows: $(cat "$WORK/v.err")"
    case $1 in
    deleted) rm -f "$out/results.db" ;;
    replaced) cp "$WORK/ref/results.db" "$out/other.db" && mv -f "$out/other.db" "$out/results.db" ;;
    out-removed) rm -rf "$out" ;;
    esac
    wait "$pid" || status=$?
    [ "$status" = 1 ] || fail "$1: exit $status, expected 1: $(cat "$WORK/v.err")"
    grep -q "results.db: the database was $2" "$WORK/v.err" || fail "$1: no line says so: $(cat "$WORK/v.err")"
    grep -q "Assertion\|Sanitizer\|runtime error" "$WORK/v.err" && fail "$1: $(cat "$WORK/v.err")"
    return 0
}
vanish deleted deleted
pass "results.db deleted while the run writes: exit 1, 'the database was deleted'"
vanish replaced replaced
[ "$(sql "$WORK/vanish-replaced/results.db" "pragma integrity_check")" = ok ] ||
    fail "replaced: the file put in its place was damaged"
pass "results.db replaced by another database: exit 1, 'the database was replaced', the other file intact"
vanish out-removed deleted
pass "OUT removed while the run writes: exit 1, 'the database was deleted'"
finish
