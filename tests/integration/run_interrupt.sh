# Kills: SIGINT, SIGTERM and SIGKILL at seeded random moments of a
# multi-video run. After each: the database passes integrity_check, no
# half-written annotated file looks complete, and a rerun ends with exactly
# the rows of an uninterrupted run.
source "$(dirname "$0")/common.bash"

KILLS=${VS_KILLS:-20}
SEED=${VS_KILL_SEED:-20261123}
RANDOM=$SEED
mkdir -p "$WORK/in"
# The tiny test model (common.bash): kills test vidsift's stopping, not the model's. Its frames
# cost little, so the clips are long (1800 frames): the kill moments then spread over decoding,
# analysis and writing rather than over loading libtorch. Each pass line says where its kill
# landed (phase below).
for i in 1 2 3 4; do
    make_clip "$WORK/in/clip$i.mp4" 160x120 $((200 + 100 * i)) 10 -c:v libx264 -preset ultrafast -pix_fmt yuv420p
done

run_vidsift 0 --out "$WORK/reference" --batch 4 "$WORK/in"
detections "$WORK/reference/results.db" | sed "s|$WORK/in/||" >"$WORK/reference.txt"
[ -s "$WORK/reference.txt" ] || fail "the reference run found no detections to compare"
# How long a whole run takes, to spread the kill moments over it, and when it opens its
# database (the dynamic loader has mapped libtorch by then, which on a loaded machine can be
# half of the run; the weights load just after). One kill in four lands anywhere in the run,
# loading included; the others after the database is opened, where the work is.
start=$(date +%s%N)
"$VIDSIFT" run --progress never --quiet --out "$WORK/timing" --batch 4 --no-annotate "$WORK/in" \
    2>"$WORK/timing.stderr" &
pid=$!
db_ms=""
while kill -0 "$pid" 2>/dev/null; do
    [ -z "$db_ms" ] && [ -e "$WORK/timing/results.db" ] && db_ms=$((($(date +%s%N) - start) / 1000000))
    sleep 0.01
done
wait "$pid" || { cat "$WORK/timing.stderr" >&2; fail "the timing run failed"; }
run_ms=$((($(date +%s%N) - start) / 1000000))
db_ms=${db_ms:-0}

signals=(INT TERM KILL)
for k in $(seq 1 "$KILLS"); do
    signal=${signals[$((k % 3))]}
    if [ $((k % 4)) = 0 ]; then
        delay_ms=$((RANDOM % (run_ms + 1)))
    else
        delay_ms=$((db_ms + RANDOM % (run_ms - db_ms + 1)))
    fi
    out="$WORK/kill$k"
    status=0
    "$VIDSIFT" run --progress never --quiet --batch 4 --out "$out" "$WORK/in" 2>"$out.stderr" &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -s "$signal" "$pid" 2>/dev/null || true
    wait "$pid" || status=$?
    # A signal that lands while the dynamic loader is still mapping libtorch,
    # before main(), kills with the default action (TERM: 143): nothing was
    # written yet then, which is checked.
    if [ "$signal:$status" = TERM:143 ] && [ ! -e "$out/results.db" ]; then status=130; fi
    case "$signal:$status" in
    INT:130 | TERM:130 | KILL:137 | *:0) ;; # 0: the run ended before the signal
    *) cat "$out.stderr" >&2; fail "kill $k: SIG$signal at ${delay_ms} ms gave exit $status" ;;
    esac
    phase="before the database"
    if [ -f "$out/results.db" ]; then
        [ "$(sql "$out/results.db" "pragma integrity_check")" = ok ] ||
            fail "kill $k: SIG$signal at ${delay_ms} ms left a damaged database"
        # Only a label: a SIGKILL can land after the file is made, before its schema.
        phase="a database without its tables yet"
        if [ -n "$(sql "$out/results.db" "select name from sqlite_master where name = 'videos'")" ]; then
            phase="$(sql "$out/results.db" "select count(*) from videos where status = 'done'") videos done, \
$(sql "$out/results.db" "select coalesce(sum(frames_analysed), 0) from videos") frames analysed"
        fi
    fi
    if [ "$signal" != KILL ]; then
        # A clean stop finalizes or removes: nothing half-written remains.
        [ -z "$(find "$out" -name '*.part' 2>/dev/null)" ] || fail "kill $k: .part file after SIG$signal"
    fi
    run_vidsift 0 --out "$out" --batch 4 "$WORK/in"
    detections "$out/results.db" | sed "s|$WORK/in/||" >"$out.txt"
    same_detections "$WORK/reference.txt" "$out.txt" ||
        fail "kill $k: SIG$signal at ${delay_ms} ms, then rerun: rows differ from an uninterrupted run"
    for clip in "$WORK"/in/*.mp4; do
        name=$(basename "$clip")
        [ -f "$out/annotated/in/$name" ] || fail "kill $k: rerun did not finish $name's annotated video"
    done
    pass "kill $k: SIG$signal at ${delay_ms} of ${run_ms} ms (database at ${db_ms} ms; exit $status; $phase): database ok, rerun complete and exact"
done
finish
