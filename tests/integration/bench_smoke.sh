# vidsift bench on a tiny generated clip: every stage measured (frames/s > 0),
# the pipeline and the sequential baseline ran, the JSON is complete. Nothing
# here skips: a missing stage, model or tool is a failure.
source "$(dirname "$0")/common.bash"

PYTHON=/usr/bin/python3
command -v ffmpeg >/dev/null || fail "ffmpeg is missing (apt-get install ffmpeg)"
[ -x "$PYTHON" ] || fail "$PYTHON is missing (Debian's python3)"
[ -f "$VIDSIFT_DEFAULT_MODEL" ] ||
    fail "no test model $VIDSIFT_DEFAULT_MODEL (bash models/prepare.sh $VS_MODELS_DIR)"

clip="$WORK/testsrc_128x96.mp4"
ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=128x96:rate=10 -frames:v 16 \
    -c:v libx264 -pix_fmt yuv420p "$clip" || fail "could not make $clip"

"$VIDSIFT" bench --help >"$WORK/help" || fail "bench --help exited $?"
grep -q -- "--batches" "$WORK/help" || fail "bench --help does not describe --batches"
status=0
"$VIDSIFT" bench --batches 0,x "$clip" >/dev/null 2>"$WORK/stderr" || status=$?
[ "$status" = 2 ] || fail "bench --batches 0,x exited $status, expected 2"
status=0
"$VIDSIFT" bench --model "$WORK/missing.manifest.json" "$clip" >/dev/null 2>"$WORK/stderr" ||
    status=$?
[ "$status" = 2 ] && grep -q missing.manifest.json "$WORK/stderr" ||
    fail "bench with a missing model exited $status: $(cat "$WORK/stderr")"
pass "--help, a bad --batches and a missing model"

status=0
TMPDIR="$WORK" "$VIDSIFT" bench --frames 8 --batches 1,2 --batch 8 --sequential --json "$clip" \
    >"$WORK/bench.json" 2>"$WORK/stderr" || status=$?
if [ "$status" != 0 ]; then
    cat "$WORK/stderr" >&2
    fail "vidsift bench exited $status"
fi
"$PYTHON" - "$WORK/bench.json" <<'PY' || fail "bench JSON incomplete: $(cat "$WORK/bench.json")"
import json, sys
r = json.load(open(sys.argv[1]))
stages = r["stages"]
def one(stage, **keys):
    found = [s for s in stages if s["stage"] == stage and all(s.get(k) == v for k, v in keys.items())]
    assert len(found) == 1, f"{stage} {keys}: {len(found)} entries in {[s['name'] for s in stages]}"
    assert found[0]["fps"] > 0 and found[0]["frames"] > 0, found[0]
    return found[0]
assert one("decode")["frames"] == 8, "decode: not the first 8 frames"
assert one("preprocess")["frames"] == 8
one("infer", batch=1, precision="fp32")
one("infer", batch=2, precision="fp32")
one("infer", batch=8, precision="fp32")  # the pipeline's batch is always measured alone
one("postprocess")
store = one("store")
assert store["rows_per_s"] > 0, store
one("annotate")
for s in stages:
    assert s["fps"] > 0, s
p = r["pipeline"]
assert p["frames"] == 8 and p["fps"] > 0, p
assert p["efficiency"] > 0 and p["slowest_stage"], p
assert p["rss_peak_bytes"] > 0 and "gpu" in p, p
speedup = r["batch_speedup"]  # batch 8 (the pipeline's, measured too) over batch 1
assert speedup["ratio"] > 0 and speedup["from_batch"] == 1 and speedup["to_batch"] == 8, speedup
q = r["sequential"]
assert q["frames"] == 8 and q["fps"] > 0 and q["pipeline_ratio"] > 0, q
assert r["rss_peak_bytes"] > 0
assert r["clips"][0]["width"] == 128 and r["clips"][0]["height"] == 96, r["clips"]
c = r["ceiling"]  # the pipeline again, inference a no-op: 1 preprocess worker, then N >= 2
assert c["frames"] == 8 and c["fps"] > 0 and c["one_worker_fps"] > 0, c
assert c["preprocess_workers"] >= 2 and c["workers_speedup"] > 0, c
assert c["slowest_cpu_stage"] in ("decode (FFmpeg)", "preprocess (swscale)") or \
    c["slowest_cpu_stage"].startswith("annotate"), c
assert c["ratio_to_slowest_cpu_stage"] > 0, c
PY
pass "every stage measured with frames/s > 0; pipeline, ceiling, batch speed-up and sequential reported"

status=0
"$VIDSIFT" bench --ceiling-only --preprocess-threads 3 --frames 4 --no-annotate --no-store --json \
    "$clip" >"$WORK/ceiling.json" 2>"$WORK/stderr" || status=$?
[ "$status" = 0 ] || { cat "$WORK/stderr" >&2; fail "bench --ceiling-only exited $status"; }
"$PYTHON" - "$WORK/ceiling.json" <<'PY' || fail "ceiling-only JSON: $(cat "$WORK/ceiling.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert sorted(s["stage"] for s in r["stages"]) == ["decode", "preprocess"], r["stages"]
assert "pipeline" not in r, "--ceiling-only ran the pipeline with the model"
c = r["ceiling"]
assert c["preprocess_workers"] == 3 and c["frames"] == 4 and c["fps"] > 0, c
PY
pass "--ceiling-only: decode, preprocess and the ceiling (3 workers) only"

leftover=$(find "$WORK" -maxdepth 1 -name 'vidsift-bench-*' | head -1)
[ -z "$leftover" ] || fail "the temporary directory $leftover was left behind"
pass "temporary directory removed"

status=0
"$VIDSIFT" bench --device cpu --frames 4 --batches 1 --no-annotate --no-store "$clip" \
    >"$WORK/table" 2>"$WORK/stderr" || status=$?
[ "$status" = 0 ] || { cat "$WORK/stderr" >&2; fail "bench (text) exited $status"; }
grep -q "pipeline efficiency" "$WORK/table" || fail "no efficiency line: $(cat "$WORK/table")"
! grep -q "annotate" "$WORK/table" || fail "--no-annotate still measured annotate"
# Without --batch the pipeline runs the device's batch: 4 on the CPU (core/plan.c).
grep -q "pipeline (batch 4," "$WORK/table" || fail "CPU pipeline not at batch 4: $(cat "$WORK/table")"
pass "text table, --no-annotate and --no-store; batch 4 on the CPU without --batch"
finish
