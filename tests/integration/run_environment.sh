# The environment fails, not the input (issue #7): an output directory or an
# input the user may not touch, a corrupt database, a database another process
# holds locked, and a disk that fills up under the database or under an
# annotated video. Each is reported as one line that names the file and the
# reason, exits with the documented status (2: setup error, before any video;
# 1: some videos failed), crashes nothing, and leaves every other video's rows
# and outputs whole; after the cause is gone a rerun completes the job.
#
# The disk-full cases mount small tmpfs file systems, which needs root: run
# without that right, every other case runs and the test then exits 77
# (skipped) saying why.

# A run killed during a disk-full case may have left its mounts behind, and
# common.bash empties the test's directory first: unmount them before that.
stale_root="${VS_TEST_TMP:-/tmp/vidsift-test}/run_environment"
if [ -r /proc/self/mounts ]; then
    while read -r _ mount_point _; do
        case "$mount_point" in "$stale_root"/*) umount "$mount_point" 2>/dev/null || true ;; esac
    done </proc/self/mounts
fi
source "$(dirname "$0")/common.bash"
# The real model: the disk-full cases' file system sizes are set by its ~20 rows a frame at
# --conf 0.05 (the tiny test model gives 3).
export VIDSIFT_DEFAULT_MODEL=$REAL_MODEL

CLIP_ARGS=(-c:v libx264 -pix_fmt yuv420p)
chmod 755 "$WORK"

# no_crash: nothing on stderr says a sanitizer or the C library caught a fault
no_crash() {
    ! grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault|Aborted" \
        "$WORK/stderr" || fail "$1: a crash or sanitizer report:$(cat "$WORK/stderr")"
}

# one_line TEXT REASON_REGEX WHAT: exactly one line on stderr names TEXT, and
# it gives the reason
one_line() {
    local lines
    lines=$(grep -cF -- "$1" "$WORK/stderr" || true)
    [ "$lines" = 1 ] || fail "$3: $lines lines name $1, expected one:$(printf '\n')$(cat "$WORK/stderr")"
    grep -F -- "$1" "$WORK/stderr" | grep -qiE -- "$2" ||
        fail "$3: the line naming $1 does not say /$2/: $(grep -F -- "$1" "$WORK/stderr")"
}

# video_field DB NAME COLUMN: one column of a video's row
video_field() { sql "$1" "select $3 from videos where path like '%/$2'"; }

# ---------------------------------------------------------------------------
# Permissions. Root may read and write anything, so as root vidsift runs as
# nobody; the binary, the models and the inputs are readable by all.
as_user() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
    else
        "$@"
    fi
}
# run_as_user EXPECTED_STATUS ARGS...: run_vidsift, as nobody when root
run_as_user() {
    local expected=$1; shift
    local status=0
    as_user "$VIDSIFT" run --progress never "$@" >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
    if [ "$status" -ne "$expected" ]; then
        cat "$WORK/stderr" >&2
        fail "vidsift run $* (uid $(as_user id -u)) exited $status, expected $expected"
    fi
}
for needed in "$VIDSIFT" "$VS_MODELS_DIR/centernet.manifest.json" "$WORK"; do
    as_user test -r "$needed" || fail "$needed: not readable by uid $(as_user id -u); make its directories 755"
done

mkdir -p "$WORK/perm-in" "$WORK/perm-out" "$WORK/locked-dir"
make_clip "$WORK/perm-in/a.mp4" 128x96 6 10 "${CLIP_ARGS[@]}"
make_clip "$WORK/perm-in/b.mp4" 128x96 6 10 "${CLIP_ARGS[@]}"
cp "$WORK/perm-in/a.mp4" "$WORK/perm-in/noread.mp4"
chmod 755 "$WORK/perm-in" && chmod 644 "$WORK/perm-in"/*.mp4 && chmod 000 "$WORK/perm-in/noread.mp4"
if [ "$(id -u)" = 0 ]; then
    chown 65534:65534 "$WORK/perm-out" # nobody's, for the unreadable-input case
    chmod 755 "$WORK/locked-dir"       # root's: nobody cannot write in it
else
    chmod 555 "$WORK/locked-dir"
fi
as_user test ! -r "$WORK/perm-in/noread.mp4" || fail "noread.mp4 is still readable: the case would test nothing"
as_user test ! -w "$WORK/locked-dir" || fail "locked-dir is still writable: the case would test nothing"

run_as_user 2 --no-annotate --out "$WORK/locked-dir" "$WORK/perm-in/a.mp4"
one_line "$WORK/locked-dir" "not writable.*permission denied" "unwritable --out"
[ -z "$(ls -A "$WORK/locked-dir")" ] || fail "unwritable --out: something was written in it"
pass "an output directory that is not writable: exit 2, one line naming it"

run_as_user 2 --no-annotate --out "$WORK/locked-dir/sub" "$WORK/perm-in/a.mp4"
one_line "$WORK/locked-dir/sub" "cannot create.*permission denied" "--out below an unwritable directory"
pass "an output directory that cannot be made: exit 2, one line naming it"

run_as_user 2 --no-annotate --out "$WORK/perm-out" --db "$WORK/locked-dir/results.db" "$WORK/perm-in/a.mp4"
one_line "$WORK/locked-dir/results.db" "not writable" "--db in an unwritable directory"
[ ! -e "$WORK/perm-out/results.db" ] || fail "--db in an unwritable directory: a database was made elsewhere"
pass "a database in a directory that is not writable: exit 2, one line naming it"

run_as_user 1 --out "$WORK/perm-out" "$WORK/perm-in/a.mp4" "$WORK/perm-in/noread.mp4" "$WORK/perm-in/b.mp4"
no_crash "unreadable input"
one_line "noread.mp4" "permission denied" "unreadable input"
db="$WORK/perm-out/results.db"
[ "$(video_field "$db" noread.mp4 status)" = failed ] || fail "unreadable input: not recorded as failed"
video_field "$db" noread.mp4 error | grep -qi "permission denied" || fail "unreadable input: no reason recorded"
for name in a.mp4 b.mp4; do
    [ "$(video_field "$db" $name "status || ' ' || frames_analysed")" = "done 6" ] ||
        fail "unreadable input: $name beside it was not done"
    [ "$(frames_in "$WORK/perm-out/annotated/$name")" = 6 ] || fail "unreadable input: annotated $name incomplete"
done
[ ! -e "$WORK/perm-out/annotated/noread.mp4" ] && [ ! -e "$WORK/perm-out/annotated/noread.mp4.part" ] ||
    fail "unreadable input: an annotated file was left for it"
pass "an unreadable input among readable ones: named with the reason, the others done (as uid $(as_user id -u))"

# ---------------------------------------------------------------------------
# The database: corrupt, and locked by another process.
make_clip "$WORK/small.mp4" 128x96 6 10 "${CLIP_ARGS[@]}"

mkdir -p "$WORK/corrupt"
head -c 16384 /dev/urandom >"$WORK/corrupt/results.db"
before=$(sha256sum <"$WORK/corrupt/results.db")
run_vidsift 2 --quiet --out "$WORK/corrupt" "$WORK/small.mp4"
no_crash "corrupt database"
one_line "$WORK/corrupt/results.db" "not a SQLite database|corrupt" "corrupt database"
[ "$(sha256sum <"$WORK/corrupt/results.db")" = "$before" ] || fail "corrupt database: the file was changed"
[ ! -e "$WORK/corrupt/results.db-wal" ] && [ ! -e "$WORK/corrupt/annotated" ] ||
    fail "corrupt database: vidsift wrote beside it: $(ls "$WORK/corrupt")"
pass "a corrupt database: exit 2, one line naming it, the file untouched"

# A database with a finished run in it, then held by another process.
run_vidsift 0 --quiet --no-annotate --out "$WORK/lock" "$WORK/small.mp4"
lock_db="$WORK/lock/results.db"
rows_before=$(detections "$lock_db")
# locker DB: takes the write lock, writes a row of its own, says so in DB.locked,
# and commits once DB.release exists.
start_locker() {
    rm -f "$lock_db.locked" "$lock_db.release"
    python3 - "$lock_db" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
db.execute("BEGIN EXCLUSIVE")
db.execute("INSERT INTO runs(started_at, status) VALUES('2000-01-01T00:00:00.000Z', 'locker')")
open(sys.argv[1] + ".locked", "w").close()
while not os.path.exists(sys.argv[1] + ".release"):
    time.sleep(0.02)
db.execute("COMMIT")
PY
    locker=$!
    for _ in $(seq 500); do [ -e "$lock_db.locked" ] && return; sleep 0.02; done
    fail "the locking process did not take its lock"
}
release_locker() {
    touch "$lock_db.release"
    wait "$locker" || fail "the locking process could not commit after vidsift let go"
}

start_locker
run_vidsift 2 --quiet --no-annotate --force --out "$WORK/lock" "$WORK/small.mp4"
release_locker
no_crash "locked database"
one_line "$lock_db" "locked" "locked database"
[ "$(sql "$lock_db" "pragma integrity_check")" = ok ] || fail "locked database: integrity check failed"
[ "$(sql "$lock_db" "select count(*) from runs where status = 'locker'")" = 1 ] ||
    fail "locked database: the other process's row is lost"
[ "$(detections "$lock_db")" = "$rows_before" ] || fail "locked database: the earlier rows changed"
pass "a database locked past the busy timeout: exit 2, one line naming it, the other process's data intact"

# Held until vidsift has the file open, then released within the timeout.
start_locker
"$VIDSIFT" run --progress never --quiet --no-annotate --force --out "$WORK/lock" "$WORK/small.mp4" \
    >"$WORK/stdout" 2>"$WORK/stderr" &
vidsift_pid=$!
for _ in $(seq 1500); do
    ls -l "/proc/$vidsift_pid/fd" 2>/dev/null | grep -q "results.db$" && break
    kill -0 "$vidsift_pid" 2>/dev/null || break
    sleep 0.02
done
sleep 1
release_locker
status=0
wait "$vidsift_pid" || status=$?
[ "$status" = 0 ] || fail "a lock released within the timeout: exit $status: $(cat "$WORK/stderr")"
no_crash "lock released within the timeout"
[ "$(sql "$lock_db" "select count(*) from runs where status = 'locker'")" = 2 ] ||
    fail "a lock released within the timeout: the other process's row is lost"
[ "$(sql "$lock_db" "select status from runs order by id desc limit 1")" = done ] ||
    fail "a lock released within the timeout: the run was not recorded done"
[ "$(detections "$lock_db")" = "$rows_before" ] || fail "a lock released within the timeout: rows differ"
pass "a lock released within the busy timeout: the run waits and succeeds"

# ---------------------------------------------------------------------------
# Disk full. A short clip, then two long ones: the small file systems are
# sized so that the short clip's outputs fit and the long ones' do not.
MOUNTS=()
unmount_all() {
    local i # the last mounted first: mounts nest
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" || true
    done
}
trap unmount_all EXIT
# small_fs DIR SIZE: a tmpfs of SIZE at DIR; returns 1 (with the reason in
# $WORK/mount.err) where this user may not mount
small_fs() {
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2" tmpfs "$1" 2>"$WORK/mount.err" || return 1
    MOUNTS+=("$1")
}
if ! small_fs "$WORK/full-db" 320k; then
    echo "SKIP [$TEST_NAME]: disk-full cases not run: cannot mount a small tmpfs as uid $(id -u): $(cat "$WORK/mount.err")"
    finish
    exit 77
fi
# The database's annotated videos go to a roomy file system of their own, so
# that only the database fills its disk; a video open when the database fails
# must still leave no .part file.
small_fs "$WORK/full-db/annotated" 8m || fail "cannot mount a second tmpfs: $(cat "$WORK/mount.err")"
small_fs "$WORK/full-annotated" 128k || fail "cannot mount a third tmpfs: $(cat "$WORK/mount.err")"

mkdir -p "$WORK/clips"
make_clip "$WORK/clips/short.mp4" 160x120 8 10 "${CLIP_ARGS[@]}"
make_clip "$WORK/clips/long1.mp4" 160x120 40 10 "${CLIP_ARGS[@]}"
make_clip "$WORK/clips/long2.mp4" 160x120 40 10 "${CLIP_ARGS[@]}"
clips=("$WORK/clips/short.mp4" "$WORK/clips/long1.mp4" "$WORK/clips/long2.mp4")
# --conf 0.05: testsrc2 then gives ~20 rows a frame, enough to fill the disk
run_vidsift 0 --quiet --conf 0.05 --no-annotate --out "$WORK/reference" "${clips[@]}"
detections "$WORK/reference/results.db" >"$WORK/reference.txt"
[ "$(wc -l <"$WORK/reference.txt")" -gt 1000 ] || fail "the reference run found too few rows to fill a disk"

# kept_rows DB: the rows in DB are the reference's rows of the same videos and
# frames: nothing lost before the last commit, nothing made up
kept_rows() {
    detections "$1" >"$WORK/kept.txt"
    python3 - "$WORK/kept.txt" "$WORK/reference.txt" <<'PY'
import sys
def frames(path):
    out = {}
    for line in open(path):
        video, frame = line.split("|")[:2]
        out.setdefault((video, int(frame)), []).append(line)
    return out
kept, reference = frames(sys.argv[1]), frames(sys.argv[2])
for key, lines in kept.items():
    if key not in reference or len(lines) != len(reference[key]):
        sys.exit(f"{key}: {len(lines)} rows kept, {len(reference.get(key, []))} in the reference")
PY
}

# The database's disk fills up.
run_vidsift 1 --quiet --conf 0.05 --out "$WORK/full-db" "${clips[@]}"
no_crash "disk full under the database"
grep -F "$WORK/full-db/results.db" "$WORK/stderr" | grep -qiE "disk full|no space" ||
    fail "disk full under the database: no line names the database and the full disk: $(cat "$WORK/stderr")"
db="$WORK/full-db/results.db"
[ "$(sql "$db" "pragma integrity_check")" = ok ] || fail "disk full under the database: integrity check failed"
[ "$(video_field "$db" short.mp4 status)" = done ] || fail "disk full under the database: the short clip is not done"
[ "$(video_field "$db" short.mp4 detections)" = "$(grep -c "/short.mp4|" "$WORK/reference.txt")" ] ||
    fail "disk full under the database: the short clip's rows are not all kept"
[ "$(sql "$db" "select count(*) from videos where status = 'done'")" = 1 ] ||
    fail "disk full under the database: a long clip is recorded done"
kept_rows "$db" || fail "disk full under the database: the committed rows are not the reference's"
for name in long1.mp4 long2.mp4; do
    grep -F "$name" "$WORK/stderr" | grep -qiE "disk full|no space" ||
        fail "disk full under the database: $name is not reported as unrecorded"
done
[ -z "$(find "$WORK/full-db/annotated" -name '*.part')" ] ||
    fail "disk full under the database: a .part file was left: $(ls "$WORK/full-db/annotated")"
for name in short.mp4:8 long1.mp4:40 long2.mp4:40; do
    [ ! -e "$WORK/full-db/annotated/${name%:*}" ] ||
        [ "$(frames_in "$WORK/full-db/annotated/${name%:*}")" = "${name#*:}" ] ||
        fail "disk full under the database: annotated ${name%:*} is incomplete"
done
[ ! -e "$WORK/full-db/report.json" ] || python3 -m json.tool "$WORK/full-db/report.json" >/dev/null ||
    fail "disk full under the database: report.json is cut short"
pass "disk full under the database: exit 1, named with the reason, integrity ok, committed rows kept, no .part file"

mount -o remount,size=8m "$WORK/full-db"
run_vidsift 0 --quiet --conf 0.05 --out "$WORK/full-db" "${clips[@]}"
for name in short.mp4:8 long1.mp4:40 long2.mp4:40; do
    [ "$(frames_in "$WORK/full-db/annotated/${name%:*}")" = "${name#*:}" ] ||
        fail "disk full under the database: after the rerun annotated ${name%:*} is incomplete"
done
detections "$db" >"$WORK/rerun.txt"
same_detections "$WORK/rerun.txt" "$WORK/reference.txt" || fail "disk full under the database: the rerun's rows differ"
[ "$(sql "$db" "pragma integrity_check")" = ok ] || fail "disk full under the database: integrity check failed after the rerun"
[ "$(video_field "$db" short.mp4 run_id)" = 1 ] || fail "disk full under the database: the short clip was redone"
pass "disk full under the database: with space again, a rerun ends with exactly the reference's rows"

# An annotated video's disk fills up; the database is elsewhere.
ann_db="$WORK/annotated.db"
run_vidsift 1 --quiet --conf 0.05 --db "$ann_db" --out "$WORK/full-annotated" "${clips[@]}"
no_crash "disk full under an annotated video"
annotated="$WORK/full-annotated/annotated"
one_line "$annotated/long1.mp4" "no space left" "disk full under an annotated video"
[ "$(video_field "$ann_db" short.mp4 status)" = done ] || fail "disk full under an annotated video: short clip not done"
[ "$(frames_in "$annotated/short.mp4")" = 8 ] || fail "disk full under an annotated video: short clip's video incomplete"
for name in long1.mp4 long2.mp4; do
    [ "$(video_field "$ann_db" $name status)" = failed ] ||
        fail "disk full under an annotated video: $name not recorded as failed"
    [ ! -e "$annotated/$name" ] && [ ! -e "$annotated/$name.part" ] ||
        fail "disk full under an annotated video: a half-written $name was left: $(ls "$annotated")"
done
[ "$(sql "$ann_db" "pragma integrity_check")" = ok ] || fail "disk full under an annotated video: integrity check failed"
detections "$ann_db" >"$WORK/annotated-rows.txt"
same_detections "$WORK/annotated-rows.txt" "$WORK/reference.txt" ||
    fail "disk full under an annotated video: detection rows were lost"
pass "disk full under an annotated video: exit 1, named with the reason, no half-written video, rows intact"

mount -o remount,size=8m "$WORK/full-annotated"
run_vidsift 0 --quiet --conf 0.05 --db "$ann_db" --out "$WORK/full-annotated" "${clips[@]}"
for name in short.mp4:8 long1.mp4:40 long2.mp4:40; do
    [ "$(frames_in "$annotated/${name%:*}")" = "${name#*:}" ] ||
        fail "disk full under an annotated video: after the rerun ${name%:*} is incomplete"
done
[ -z "$(find "$annotated" -name '*.part')" ] || fail "disk full under an annotated video: a .part file remains"
detections "$ann_db" >"$WORK/annotated-rows.txt"
same_detections "$WORK/annotated-rows.txt" "$WORK/reference.txt" ||
    fail "disk full under an annotated video: the rerun's rows differ"
pass "disk full under an annotated video: with space again, a rerun completes every video"

# Once the database cannot record, the run stops decoding: a disk that fills
# an hour into a night's run must not cost the rest of the night. One clip of
# 200 frames; the database fills within the first ~50, and the pipeline holds
# at most ~50 frames at --batch 1, so a run that stops has decoded far fewer
# than 200 (one that went on would decode all of them).
small_fs "$WORK/full-early" 160k || fail "cannot mount a fourth tmpfs: $(cat "$WORK/mount.err")"
make_clip "$WORK/clips/long200.mp4" 160x120 200 10 "${CLIP_ARGS[@]}"
run_vidsift 1 --json --conf 0.05 --batch 1 --no-annotate --out "$WORK/full-early" "$WORK/clips/long200.mp4"
no_crash "disk full early in a long clip"
decoded=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["frames_decoded"])' "$WORK/stdout")
[ "$decoded" -lt 150 ] || fail "disk full early in a long clip: the run went on decoding ($decoded of 200 frames)"
grep -F "long200.mp4" "$WORK/stderr" | grep -qiE "not recorded.*disk full" ||
    fail "disk full early in a long clip: the clip is not reported as unrecorded: $(cat "$WORK/stderr")"
pass "disk full early in a long clip: the run stops ($decoded of 200 frames decoded), the clip reported unrecorded"
finish
