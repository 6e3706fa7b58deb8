# The database under other processes (issue 12, items 6 and 7).
# Two runs on the same --out with different videos at the same time both
# finish with all of their rows: a write transaction never spans an
# inference, so each waits for the other's commits only. And a run whose
# database is deleted, replaced, or whose OUT is removed while it writes ends
# with exit 1 and a line that says so, never "done".
source "$(dirname "$0")/common.bash"
# The real model, on real footage: its time per batch is the window in which the other
# process acts, and the people in the clip give the rows.
export VIDSIFT_DEFAULT_MODEL=$REAL_MODEL

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

# check_shared DB CONTEXT: both runs done, every video done, the rows of the reference.
check_shared() {
    [ "$(sql "$1" "select group_concat(status) from runs")" = "done,done" ] ||
        fail "$2: runs: $(sql "$1" "select id, status from runs")"
    [ "$(sql "$1" "select count(*) from videos where status = 'done'")" = 5 ] ||
        fail "$2: videos: $(sql "$1" "select path, status, error from videos")"
    detections "$1" >"$WORK/shared.rows"
    same_detections "$WORK/ref.rows" "$WORK/shared.rows" || fail "$2: the rows differ from the reference"
    [ "$(sql "$1" "pragma integrity_check")" = ok ] || fail "$2: integrity check failed"
}

# Both started at once: each loads the model, then both write.
shared="$WORK/shared/results.db"
"$VIDSIFT" run "${common[@]}" --out "$WORK/shared" "$WORK/in1" >"$WORK/a.out" 2>"$WORK/a.err" &
first=$!
"$VIDSIFT" run "${common[@]}" --out "$WORK/shared" "$WORK/in2" >"$WORK/b.out" 2>"$WORK/b.err" &
second=$!
status_first=0 status_second=0
wait "$first" || status_first=$?
wait "$second" || status_second=$?
[ "$status_first" = 0 ] || fail "the first run exited $status_first: $(cat "$WORK/a.err")"
[ "$status_second" = 0 ] || fail "the second run exited $status_second: $(cat "$WORK/b.err")"
check_shared "$shared" "two runs at once"
overlap=$(sql "$shared" "select count(*) from runs a join runs b on a.id < b.id
                         where b.started_at < a.ended_at")
pass "two runs on one --out started at once (overlapping: $overlap): both done, all $(wc -l <"$WORK/ref.rows") rows as when run apart"

# The property behind it, whatever the machine's speed: a run stopped
# between two batches holds no lock. Stop the first run once it has written
# rows (at a moment when the database is free: it is inside a transaction
# only while it writes one batch), run the second to its end, continue the
# first.
shared="$WORK/paused/results.db"
"$VIDSIFT" run "${common[@]}" --out "$WORK/paused" "$WORK/in1" >"$WORK/a.out" 2>"$WORK/a.err" &
first=$!
wait_for_rows "$shared" "$first" || fail "the first run wrote no rows: $(cat "$WORK/a.err")"
probes=0
while :; do
    probes=$((probes + 1))
    kill -STOP "$first" 2>/dev/null || fail "the first run ended before it could be paused: give it more frames"
    python3 - "$shared" <<'PY' && break
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("ROLLBACK")
PY
    kill -CONT "$first"
    [ "$probes" -lt 100 ] || fail "the first run held the write lock at 100 moments: a transaction spans more than one batch"
    sleep 0.05
done
status_second=0
"$VIDSIFT" run "${common[@]}" --out "$WORK/paused" "$WORK/in2" >"$WORK/b.out" 2>"$WORK/b.err" || status_second=$?
kill -CONT "$first"
status_first=0
wait "$first" || status_first=$?
[ "$status_second" = 0 ] || fail "the second run, beside a paused one, exited $status_second: $(cat "$WORK/b.err")"
[ "$status_first" = 0 ] || fail "the paused run exited $status_first: $(cat "$WORK/a.err")"
check_shared "$shared" "a run paused between batches"
pass "a run paused between two batches ($probes probe(s)) holds no lock: a second run does all its work meanwhile"

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
