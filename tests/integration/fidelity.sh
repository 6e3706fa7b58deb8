# The default model against its original runtime, through vidsift's own C code:
# tests/fidelity/check.sh runs human 3.3.6's centernet.json under the official TF.js
# (npm, WASM backend) on 4 real frames and writes a reference; then
# `vidsift models verify centernet --reference` feeds the same input tensors to
# centernet.pt through the shim, decodes with core/detect.c and compares (heatmap
# max|d| <= 1e-3; detections: class, score +-0.01, IoU >= 0.95), and checks
# vidsift's preprocess of the frames against TF.js's input tensors.
# Never skips: a missing node, npm, @tensorflow/tfjs or clip is a failure.
source "$(dirname "$0")/common.bash"
: "${VS_SOURCE_DIR:?run through ctest, which sets VS_SOURCE_DIR}"
fidelity_dir=$VS_SOURCE_DIR/tests/fidelity

for tool in node npm ffmpeg; do
    command -v "$tool" >/dev/null || fail "$tool not found: setup.sh installs it (nodejs npm ffmpeg)"
done
/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null ||
    fail "/usr/bin/python3 cannot import torch and numpy (python3-torch python3-numpy)"
[ -f "$VS_MODELS_DIR/centernet.pt" ] ||
    fail "$VS_MODELS_DIR/centernet.pt missing: run bash models/prepare.sh $VS_MODELS_DIR"
for clip in movie1/VID_20191220_170832.mp4 movie2/movie-hello.mp4; do
    [ -f "$FORENSICS/$clip" ] || fail "$FORENSICS/$clip missing (package forensics-samples-files)"
done

# 1. The reference (check.sh installs TF.js from the lock file when node_modules is missing
#    or older than the lock, and compares in Python too: a first, independent opinion).
ref=$WORK/reference
FIDELITY_REQUIRED=1 VIDSIFT_MODEL="$VS_MODELS_DIR/centernet.pt" \
    bash "$fidelity_dir/check.sh" "$ref" >"$WORK/check.log" 2>&1 ||
    { cat "$WORK/check.log" >&2; fail "tests/fidelity/check.sh failed"; }
[ -f "$fidelity_dir/node_modules/@tensorflow/tfjs-core/package.json" ] ||
    fail "@tensorflow/tfjs-core is not installed in $fidelity_dir/node_modules"
grep -q "on wasm (tfjs 4.22.0)" "$WORK/check.log" ||
    fail "the reference was not made by TF.js 4.22.0 on WASM: $(head -n 1 "$WORK/check.log")"
for f in reference.json input.nchw.f32 heatmap.f32 boxes.f32; do
    [ -s "$ref/$f" ] || fail "check.sh wrote no $ref/$f"
done
pass "TF.js reference made on 4 frames ($(grep -o 'ms/frame.*' "$WORK/check.log"))"

# 2. The same tensors through the shim, vidsift's decoder and preprocess.
status=0
"$VIDSIFT" models verify centernet --reference "$ref" >"$WORK/verify.out" 2>"$WORK/verify.err" ||
    status=$?
cat "$WORK/verify.out"
[ "$status" = 0 ] || { cat "$WORK/verify.err" >&2; fail "models verify --reference exited $status"; }
for figure in '^  heatmap +max\|d\| [0-9.e+-]+, relative' '^  boxes +max\|d\|' \
    '^  detections +4 found, 4 in the reference; score max\|d\|' \
    '^  preprocess +max\|d\| [0-9.e+-]+ grey levels' '^ok .*matches the reference'; do
    grep -Eq "$figure" "$WORK/verify.out" || fail "verify printed no line matching /$figure/"
done
# The figures themselves, not only the verdict: what the proof claims.
heatmap=$(sed -nE 's/^  heatmap +max\|d\| ([0-9.e+-]+),.*/\1/p' "$WORK/verify.out")
awk -v d="$heatmap" 'BEGIN { exit !(d <= 1e-3) }' || fail "heatmap max|d| $heatmap > 1e-3"
pass "verify --reference: heatmap max|d| $heatmap, 4 of 4 detections match, preprocess matches"

# 3. A reference the model does not match: exit 1, with the frame named. One frame, to be quick;
#    its detection's score moved by 0.05 (over the 0.01 tolerance).
bad=$WORK/bad-reference
mkdir -p "$bad"
head -c $((3 * 512 * 512 * 4)) "$ref/input.nchw.f32" >"$bad/input.nchw.f32"
head -c $((80 * 128 * 128 * 4)) "$ref/heatmap.f32" >"$bad/heatmap.f32"
head -c $((4 * 128 * 128 * 4)) "$ref/boxes.f32" >"$bad/boxes.f32"
python3 - "$ref/reference.json" "$bad/reference.json" <<'PY' || fail "could not write the bad reference"
import json, sys
r = json.load(open(sys.argv[1]))
r["frames"] = 1
r["input"]["shape"][0] = 1
for o in r["outputs"]:
    o["shape"][0] = 1
r["pictures"] = []
r["detections"]["frames"] = r["detections"]["frames"][:1]
assert r["detections"]["frames"][0], "frame 0 of the reference has no detection"
r["detections"]["frames"][0][0]["score"] += 0.05
json.dump(r, open(sys.argv[2], "w"))
PY
status=0
"$VIDSIFT" models verify centernet --reference "$bad" >"$WORK/bad.out" 2>"$WORK/bad.err" || status=$?
[ "$status" = 1 ] || { cat "$WORK/bad.out" "$WORK/bad.err" >&2; fail "a wrong reference gave $status, expected 1"; }
grep -q '^MISMATCH .*frame 0: .*score |d| 0.05' "$WORK/bad.out" || fail "no MISMATCH line for frame 0"
[ "$(wc -l <"$WORK/bad.err")" = 1 ] && grep -q 'does not match the reference' "$WORK/bad.err" ||
    fail "expected one line on stderr: $(cat "$WORK/bad.err")"
pass "a reference with a wrong score: exit 1, the frame and score named"

# 4. A broken reference is exit 2 before the model is run, naming the file.
rm "$bad/boxes.f32"
status=0
"$VIDSIFT" models verify centernet --reference "$bad" >/dev/null 2>"$WORK/broken.err" || status=$?
[ "$status" = 2 ] || fail "a reference without boxes.f32 gave $status, expected 2"
[ "$(wc -l <"$WORK/broken.err")" = 1 ] && grep -q "boxes.f32" "$WORK/broken.err" ||
    fail "expected one line naming boxes.f32: $(cat "$WORK/broken.err")"
pass "a reference with a missing file: exit 2, the file named"
finish
