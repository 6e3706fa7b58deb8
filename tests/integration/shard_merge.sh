# Issue 17: `run --shard K/N` splits the videos by a fixed hash of their path below
# the input root, each in exactly one shard; `vidsift merge` of the three shard
# databases (one shard SIGKILLed in the middle of a video and rerun) equals a
# single-process run, video by video and frame by frame; merge is safe to rerun,
# reports two done copies that differ, and `export` reads its result.
source "$(dirname "$0")/common.bash"

model="$VS_MODELS_DIR/test/tiny_centernet.manifest.json"
opts=(--model "$model" --no-annotate --conf 0.05)
mkdir -p "$WORK/in/sub"
for i in 1 2 3 4 5 6 7 8; do
    make_clip "$WORK/in/clip$i.mp4" 96x64 $((4 + i)) 10 -c:v libx264 -pix_fmt yuv420p
done
make_clip "$WORK/in/sub/deep.mkv" 96x64 6 10 -c:v libx264 -pix_fmt yuv420p
# Long enough (8000 frames, a few seconds for the tiny model) to be killed mid-video.
make_clip "$WORK/in/sub/long.mp4" 64x48 8000 50 -c:v libx264 -preset ultrafast -pix_fmt yuv420p

run_vidsift 0 "${opts[@]}" --out "$WORK/single" "$WORK/in"
detections "$WORK/single/results.db" >"$WORK/single.txt"
[ "$(wc -l <"$WORK/single.txt")" -gt 100 ] || fail "the single run found too few detections to compare"

# The shard of a relative path, computed here independently of vidsift (FNV-1a 64).
shard_of() {
    python3 -c 'import sys
h = 0xcbf29ce484222325
for b in sys.argv[1].encode():
    h = ((h ^ b) * 0x100000001b3) % 2**64
print(h % int(sys.argv[2]))' "$1" "$2"
}
long_shard=$(shard_of sub/long.mp4 3)

total=0
for k in 0 1 2; do
    if [ "$k" = "$long_shard" ]; then
        # SIGKILL in the middle of the long video: its row is 'running', with rows committed.
        "$VIDSIFT" run --progress never "${opts[@]}" --shard $k/3 --out "$WORK/shard$k" "$WORK/in" \
            >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 1 600); do
            n=$(sql "$WORK/shard$k/results.db" "select count(*) from detections d join videos v
                on v.id = d.video_id where v.path like '%long.mp4' and v.status = 'running'" 2>/dev/null || echo 0)
            [ "${n:-0}" -gt 0 ] && break
            sleep 0.1
        done
        kill -9 $pid
        wait $pid 2>/dev/null || true
        [ "$(sql "$WORK/shard$k/results.db" "select status from videos where path like '%long.mp4'")" = running ] ||
            fail "shard $k was not killed in the middle of long.mp4"
        # A merge of what the killed shard left, before its rerun: replaced later.
        "$VIDSIFT" merge --quiet "$WORK/merged.db" "$WORK/shard$k/results.db" 2>"$WORK/stderr" ||
            fail "merge of a killed shard: $(cat "$WORK/stderr")"
    fi
    run_vidsift 0 "${opts[@]}" --shard $k/3 --out "$WORK/shard$k" "$WORK/in"
    grep -q "shard $k/3: [0-9]* of 10 videos" "$WORK/stderr" || fail "shard $k/3 did not say its share"
    n=$(sql "$WORK/shard$k/results.db" "select count(*) from videos")
    total=$((total + n))
    for path in $(sql "$WORK/shard$k/results.db" "select relative_path from videos"); do
        [ "$(shard_of "$path" 3)" = $k ] || fail "$path is in shard $k, its hash says $(shard_of "$path" 3)"
    done
done
[ "$total" = 10 ] || fail "the three shards hold $total videos, expected each of the 10 once"
pass "--shard 0/3..2/3: each of the 10 videos in exactly one shard, the one FNV-1a says"

"$VIDSIFT" merge "$WORK/merged.db" "$WORK"/shard{0,1,2}/results.db 2>"$WORK/merge.log" ||
    fail "merge: $(cat "$WORK/merge.log")"
detections "$WORK/merged.db" >"$WORK/merged.txt"
same_detections "$WORK/single.txt" "$WORK/merged.txt" || fail "merged shards differ from the single run"
tracks() { sql "$1" "select v.path, t.track_id, t.label, t.first_frame, t.last_frame, t.detections
    from tracks t join videos v on v.id = t.video_id order by v.path, t.track_id"; }
[ "$(tracks "$WORK/single/results.db" | wc -l)" -gt 0 ] && [ "$(tracks "$WORK/single/results.db")" = "$(tracks "$WORK/merged.db")" ] ||
    fail "the merged tracks differ from the single run's"
[ "$(sql "$WORK/merged.db" "select count(*), count(distinct canonical_path), sum(status = 'done') from videos")" = "10|10|10" ] ||
    fail "merged: expected 10 videos, each once and done: $(sql "$WORK/merged.db" "select path, status from videos")"
grep -q "1 replaced by a better copy" "$WORK/merge.log" ||
    fail "the killed shard's 'running' copy should have been replaced: $(cat "$WORK/merge.log")"
[ "$(sql "$WORK/merged.db" "select count(*) from videos where run_id not in (select id from runs)")" = 0 ] ||
    fail "merged videos point at runs that are not there"
[ "$(sql "$WORK/merged.db" "pragma user_version")" = "$(sql "$WORK/single/results.db" "pragma user_version")" ] &&
    [ "$(sql "$WORK/merged.db" "select group_concat(sql, ';') from sqlite_master order by name")" = \
      "$(sql "$WORK/single/results.db" "select group_concat(sql, ';') from sqlite_master order by name")" ] ||
    fail "the merged database's schema is not a single run's"
pass "merged shards (one killed mid-video, merged, rerun, merged again) equal the single run, schema and rows"

before="$(sql "$WORK/merged.db" "select count(*) from runs")|$(md5sum <"$WORK/merged.txt")"
"$VIDSIFT" merge "$WORK/merged.db" "$WORK"/shard{0,1,2}/results.db 2>"$WORK/merge2.log" ||
    fail "second merge: $(cat "$WORK/merge2.log")"
detections "$WORK/merged.db" >"$WORK/merged2.txt"
[ "$(sql "$WORK/merged.db" "select count(*) from runs")|$(md5sum <"$WORK/merged2.txt")" = "$before" ] &&
    grep -q " 0 runs, 0 videos added, 0 replaced" "$WORK/merge2.log" ||
    fail "a second merge of the same shards changed the result: $(cat "$WORK/merge2.log")"
pass "merge is idempotent: the same shards again add and replace nothing"

"$VIDSIFT" export "$WORK/merged.db" --format csv --out "$WORK/merged.csv" ||
    fail "export of the merged database failed"
[ "$(($(wc -l <"$WORK/merged.csv") - 1))" = "$(wc -l <"$WORK/single.txt")" ] ||
    fail "export of the merged database: $(wc -l <"$WORK/merged.csv") lines for $(wc -l <"$WORK/single.txt") detections"
"$VIDSIFT" report "$WORK/merged.db" --html "$WORK/merged.html" 2>"$WORK/stderr" ||
    fail "report of the merged database failed: $(cat "$WORK/stderr")"
grep -q "long.mp4" "$WORK/merged.html" || fail "the report of the merged database lacks its videos"
pass "export and report read the merged database"

# A shard run again with other options: its done copies differ; the newer one is kept.
run_vidsift 0 --model "$model" --no-annotate --conf 0.3 --shard 0/3 --out "$WORK/other" "$WORK/in"
cp "$WORK/merged.db" "$WORK/differ.db"
"$VIDSIFT" merge "$WORK/differ.db" "$WORK/other/results.db" 2>"$WORK/differ.log" ||
    fail "merge of a differing shard: $(cat "$WORK/differ.log")"
grep -q "differ (.*analysis.*); kept the newer" "$WORK/differ.log" ||
    fail "two differing done copies should be reported: $(cat "$WORK/differ.log")"
pass "two done copies that differ are reported, the newer kept"

status=0
"$VIDSIFT" merge "$WORK/bad.db" "$WORK/missing.db" 2>"$WORK/stderr" || status=$?
[ "$status" = 1 ] && grep -q "missing.db" "$WORK/stderr" && [ ! -e "$WORK/missing.db" ] ||
    fail "a missing shard should fail naming it (exit $status)"
"$VIDSIFT" merge "$WORK/merged.db" "$WORK/merged.db" 2>"$WORK/stderr" && fail "merging OUT into itself"
pass "a missing shard or OUT itself as a shard: exit 1, named"

# --shard auto under Slurm and a Kubernetes Indexed Job.
SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=3 \
    run_vidsift 0 "${opts[@]}" --shard auto --out "$WORK/shard1" "$WORK/in"
grep -q "shard 1/3" "$WORK/stderr" || fail "--shard auto under Slurm (task 5 of 4-6) is not shard 1/3"
JOB_COMPLETION_INDEX=2 run_vidsift 0 "${opts[@]}" --shard auto --shards 3 --out "$WORK/shard2" "$WORK/in"
grep -q "shard 2/3" "$WORK/stderr" || fail "--shard auto --shards 3 with JOB_COMPLETION_INDEX=2 is not shard 2/3"
JOB_COMPLETION_INDEX=2 run_vidsift 2 "${opts[@]}" --shard auto --out "$WORK/x" "$WORK/in"
grep -q -- "--shards N" "$WORK/stderr" || fail "JOB_COMPLETION_INDEX without --shards should say so"
run_vidsift 2 "${opts[@]}" --shard 3/3 --out "$WORK/x" "$WORK/in"
pass "--shard auto reads Slurm's and Kubernetes' index; bad shards are usage errors"

# WAL needs memory shared by every process that opens the database: on a network file
# system (simulated: the tests have no NFS server) the store keeps a rollback journal.
[ "$(sql "$WORK/shard0/results.db" "pragma journal_mode")" = wal ] || fail "a local database should be in WAL mode"
VIDSIFT_TEST_NETWORK_FS=nfs run_vidsift 0 "${opts[@]}" --shard 0/3 --out "$WORK/nfs" "$WORK/in"
[ "$(sql "$WORK/nfs/results.db" "pragma journal_mode")" = delete ] && [ ! -e "$WORK/nfs/results.db-wal" ] ||
    fail "a database on a network file system should use a rollback journal, not WAL"
VIDSIFT_TEST_NETWORK_FS=nfs "$VIDSIFT" merge --quiet "$WORK/nfs/merged.db" "$WORK/nfs/results.db" ||
    fail "merge onto a network file system"
[ "$(sql "$WORK/nfs/merged.db" "pragma journal_mode")" = delete ] || fail "merge on a network file system should not use WAL"
pass "on a network file system the database keeps a rollback journal instead of WAL"
finish
