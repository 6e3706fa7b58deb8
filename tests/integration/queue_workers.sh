# Issue 17: the Redis Streams work queue with a real redis-server (started here on
# a Unix socket). 30 clips and a poison file pushed (twice: added once), three
# workers, one SIGKILLed in the middle of a video: its video is reclaimed after
# the lease and done by another; the poison file ends in the dead-letter stream
# after --max-deliveries; the workers exit when the queue is drained; merged,
# every video is there exactly once with the rows of a single-process run.
source "$(dirname "$0")/common.bash"

command -v redis-server >/dev/null ||
    fail "redis-server is not installed (./setup.sh installs it: apt-get install redis-server)"
model="$VS_MODELS_DIR/test/tiny_centernet.manifest.json"
opts=(--model "$model" --no-annotate --conf 0.05)

mkdir -p "$WORK/in" "$WORK/redis"
for i in $(seq -w 1 29); do
    make_clip "$WORK/in/clip$i.mp4" 64x48 $((3 + 10#$i % 5)) 10 -c:v libx264 -preset ultrafast -pix_fmt yuv420p
done
# Long enough to be killed in the middle of (a few seconds for the tiny model).
make_clip "$WORK/in/long.mp4" 64x48 8000 50 -c:v libx264 -preset ultrafast -pix_fmt yuv420p
head -c 20000 /dev/urandom >"$WORK/in/poison.mp4" # a video by name, garbage inside

SOCKET="$WORK/redis/redis.sock"
URL="unix://$SOCKET"
redis-server --port 0 --unixsocket "$SOCKET" --dir "$WORK/redis" --save "" --appendonly no \
    --daemonize yes --pidfile "$WORK/redis/redis.pid" --logfile "$WORK/redis/redis.log" ||
    fail "could not start redis-server"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    [ -f "$WORK/redis/redis.pid" ] && kill "$(cat "$WORK/redis/redis.pid")" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 50); do [ -S "$SOCKET" ] && break; sleep 0.1; done
[ -S "$SOCKET" ] || fail "redis-server did not open $SOCKET: $(cat "$WORK/redis/redis.log")"

run_vidsift 1 "${opts[@]}" --out "$WORK/single" "$WORK/in" # 1: the poison file fails
detections "$WORK/single/results.db" >"$WORK/single.txt"

"$VIDSIFT" queue push --redis "$URL" "$WORK/in" 2>"$WORK/push1.log" || fail "push: $(cat "$WORK/push1.log")"
"$VIDSIFT" queue push --redis "$URL" "$WORK/in" 2>"$WORK/push2.log" || fail "push: $(cat "$WORK/push2.log")"
grep -q "31 videos added, 0 already" "$WORK/push1.log" && grep -q "0 videos added, 31 already" "$WORK/push2.log" ||
    fail "pushing twice should add each video once: $(cat "$WORK/push1.log" "$WORK/push2.log")"
"$VIDSIFT" queue status --redis "$URL" >"$WORK/status0" || fail "queue status failed"
grep -q "^pending 31, in progress 0, done 0, dead 0" "$WORK/status0" || fail "status before the workers: $(cat "$WORK/status0")"
pass "queue push adds each of 31 videos once (a second push adds none)"

for n in 1 2 3; do
    "$VIDSIFT" worker --redis "$URL" --consumer "w$n" --lease 3 --max-deliveries 3 \
        --jobs 2 "${opts[@]}" --out "$WORK/w$n" >"$WORK/w$n.log" 2>&1 &
    pids+=($!)
done
# Find the worker in the middle of long.mp4 (rows of it committed, not done), and SIGKILL it.
victim=""
for _ in $(seq 1 3000); do
    for n in 1 2 3; do
        [ "$(sql "$WORK/w$n/results.db" "select count(*) from detections d join videos v on v.id = d.video_id
            where v.path like '%long.mp4' and v.status = 'running'" 2>/dev/null || echo 0)" -gt 0 ] &&
            victim=w$n && break 2
    done
    sleep 0.05
done
[ -n "$victim" ] || fail "no worker was seen in the middle of long.mp4"
kill -9 "${pids[${victim#w} - 1]}"
"$VIDSIFT" queue status --redis "$URL" >"$WORK/status1"
for n in 1 2 3; do
    status=0
    wait "${pids[$n - 1]}" || status=$?
    if [ "w$n" = "$victim" ]; then
        [ "$status" = 137 ] || fail "the killed worker w$n exited $status"
    else
        [ "$status" = 0 ] || fail "worker w$n exited $status, expected 0 when drained: $(tail -5 "$WORK/w$n.log")"
    fi
done
pids=()
[ "$(sql "$WORK/$victim/results.db" "select status from videos where path like '%long.mp4'")" = running ] ||
    fail "$victim was not killed in the middle of long.mp4"
grep -q "in progress: $victim .*delivery 1 .*long.mp4" "$WORK/status1" ||
    fail "queue status should show $victim holding long.mp4: $(cat "$WORK/status1")"
pass "three workers drained the queue and exited 0; $victim was SIGKILLed in the middle of long.mp4"

"$VIDSIFT" queue status --redis "$URL" >"$WORK/status2"
grep -q "^pending 0, in progress 0, done 30, dead 1 (31 pushed)" "$WORK/status2" ||
    fail "status after the workers: $(cat "$WORK/status2")"
grep -q "dead: .*poison.mp4  after 3 deliveries: .*poison.mp4: " "$WORK/status2" ||
    fail "the poison file should be dead after 3 deliveries with its error: $(cat "$WORK/status2")"
[ "$(cat "$WORK"/w*.log | grep -c "failed, will be retried: .*poison.mp4")" -ge 2 ] ||
    fail "the poison file should have failed twice before dying: $(cat "$WORK"/w*.log)"
pass "the poison file is in the dead-letter stream after 3 deliveries, every other video done"

"$VIDSIFT" merge "$WORK/merged.db" "$WORK"/w{1,2,3}/results.db 2>"$WORK/merge.log" ||
    fail "merge: $(cat "$WORK/merge.log")"
detections "$WORK/merged.db" >"$WORK/merged.txt"
same_detections "$WORK/single.txt" "$WORK/merged.txt" || fail "merged workers differ from the single run"
tracks() { sql "$1" "select v.path, t.track_id, t.label, t.first_frame, t.last_frame, t.detections
    from tracks t join videos v on v.id = t.video_id order by v.path, t.track_id"; }
[ "$(tracks "$WORK/single/results.db" | wc -l)" -gt 0 ] && [ "$(tracks "$WORK/single/results.db")" = "$(tracks "$WORK/merged.db")" ] ||
    fail "the merged tracks differ from the single run's"
[ "$(sql "$WORK/merged.db" "select count(*), count(distinct canonical_path), sum(status = 'done'), sum(status = 'failed' and path like '%poison.mp4') from videos")" = "31|31|30|1" ] ||
    fail "merged: expected 31 videos once each, 30 done, the poison failed: $(sql "$WORK/merged.db" "select path, status from videos")"
pass "merged, every video once with the rows of the single run (long.mp4 redone after the kill)"
finish
