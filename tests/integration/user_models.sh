# User models: the tiny TorchScript test models of models/make_test_models.py (YOLOv5,
# YOLOv8 and CenterNet heads with known outputs) run end to end through `vidsift run`, and
# the detections in the database must be exactly the ones models/README.md lists, mapped
# from the 64x64 model input to the clip's pixels (stretch: x * W/64, y * H/64). Broken
# models must be refused by `vidsift models verify` with exit 2 and one line naming the file.
#
# The clips are uniform colours in a lossless RGB codec (FFV1, bgr0), so the preprocessed
# input is exactly the colour: every score is the README's score times k = grey/255.
source "$(dirname "$0")/common.bash"
tests=$VS_MODELS_DIR/test
for model in tiny_yolov5 tiny_yolov8 tiny_centernet tiny_badshape tiny_centernet_badclasses; do
    [ -f "$tests/$model.manifest.json" ] && [ -f "$tests/$model.pt" ] ||
        fail "$tests/$model missing: run bash models/prepare.sh $VS_MODELS_DIR"
done

# Every check runs and reports; the test fails at the end if any did.
FAILURES=0
problem() { echo "FAIL [$TEST_NAME]: $*" >&2; FAILURES=$((FAILURES + 1)); }

# why_failed STDERR: a sanitizer's verdict and first frame, else the last line.
why_failed() {
    grep -m1 -E 'ERROR: [A-Za-z]+Sanitizer' "$1" && grep -m1 -E '^ +#0 ' "$1" || tail -n 1 "$1"
}

# uniform_clip NAME COLOUR SIZE: 3 frames of one grey level, lossless RGB.
mkdir -p "$WORK/in"
uniform_clip() {
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "color=c=$2:size=$3:rate=10" -frames:v 3 \
        -c:v ffv1 -pix_fmt bgr0 "$WORK/in/$1.mkv" || fail "could not make $1.mkv"
}
uniform_clip white_160x96 0xffffff 160x96
uniform_clip grey128_96x128 0x808080 96x128
uniform_clip grey100_200x40 0x646464 200x40
uniform_clip black_64x64 0x000000 64x64

# The README's tables: (label, score at k = 1, box x1 y1 x2 y2 in 64x64 input pixels).
expected_rows() { # expected_rows MODEL: one line per (clip, frame, detection), as db_rows
    python3 - "$1" "$WORK/in" <<'PY'
import os, sys
yolo = [("person", 0.72, (12, 12, 20, 20)), ("car", 0.60, (40, 12, 56, 20)),
        ("toothbrush", 0.40, (22, 42, 42, 54)), ("bicycle", 0.30, (22, 42, 42, 54))]
# CenterNet: class-agnostic NMS removes the bicycle (same box as the toothbrush).
centernet = yolo[:3]
rows, conf = (centernet, 0.2) if sys.argv[1] == "tiny_centernet" else (yolo, 0.25)
for clip in sorted(os.listdir(sys.argv[2])):
    name, size = clip[:-4].rsplit("_", 1)
    width, height = map(int, size.split("x"))
    grey = {"white": 255, "grey128": 128, "grey100": 100, "black": 0}[name]
    k = grey / 255
    for frame in range(3):
        for label, score, (x1, y1, x2, y2) in rows:
            if score * k >= conf:
                sx, sy = width / 64, height / 64
                print(f"{clip}|{frame}|{label}|{score * k}|{x1 * sx} {y1 * sy} {x2 * sx} {y2 * sy}")
PY
}

# The same listing from the database (the clip's file name, not its path).
db_rows() { # db_rows DB
    sql "$1" "select replace(v.path, rtrim(v.path, replace(v.path, '/', '')), ''),
                     d.frame_index, d.label, d.score, d.x1 || ' ' || d.y1 || ' ' || d.x2 || ' ' || d.y2
              from detections d join videos v on v.id = d.video_id
              order by 1, 2, d.score desc"
}

# same_rows EXPECTED GOT [SCORE_TOLERANCE]: the same rows in the same order, scores within
# 1e-5 (float32 products) or the tolerance given, boxes within 0.01 px; else both listings,
# side by side, on stdout.
same_rows() {
    python3 - "$1" "$2" "${3:-1e-5}" <<'PY'
import sys
def rows(path):
    out = []
    for line in open(path):
        clip, frame, label, score, box = line.rstrip("\n").split("|")
        out.append((clip, int(frame), label, float(score), [float(v) for v in box.split()]))
    return out
want, got = rows(sys.argv[1]), rows(sys.argv[2])
same = len(want) == len(got) and all(
    w[:3] == g[:3] and abs(w[3] - g[3]) <= float(sys.argv[3]) and
    max(abs(a - b) for a, b in zip(w[4], g[4])) <= 0.01 for w, g in zip(want, got))
if not same:
    show = lambda r: f"{r[0]} frame {r[1]} {r[2]} {r[3]:.5f} [{' '.join(f'{v:.2f}' for v in r[4])}]"
    print(f"expected {len(want)} rows, the DB has {len(got)}")
    for i in range(max(len(want), len(got))):
        w = show(want[i]) if i < len(want) else "-"
        g = show(got[i]) if i < len(got) else "-"
        print(f"  {'  ' if w == g else '! '}{w:58} | {g}")
    sys.exit(1)
PY
}

for model in tiny_yolov5 tiny_yolov8 tiny_centernet; do
    out=$WORK/out-$model
    status=0
    "$VIDSIFT" run --progress never --model "$tests/$model.manifest.json" --no-annotate \
        --out "$out" "$WORK/in" >"$WORK/$model.stdout" 2>"$WORK/$model.stderr" || status=$?
    if [ "$status" != 0 ]; then
        problem "$model: vidsift run exited $status: $(why_failed "$WORK/$model.stderr")"
        continue
    fi
    db=$out/results.db
    done_videos=$(sql "$db" "select count(*) from videos where status = 'done' and frames_analysed = 3")
    [ "$done_videos" = 4 ] || problem "$model: $done_videos of 4 videos done with 3 frames analysed"
    expected_rows "$model" >"$WORK/$model.expected"
    db_rows "$db" >"$WORK/$model.got"
    if same_rows "$WORK/$model.expected" "$WORK/$model.got" >"$WORK/$model.diff"; then
        pass "$model: $(wc -l <"$WORK/$model.got") detections in the DB, exactly the expected ones"
    else
        problem "$model: detections differ from models/README.md:
$(cat "$WORK/$model.diff")"
    fi
done

# Refused models: `models verify` exits 2 with one line on stderr naming the file (and the
# field). Each case: NAME MANIFEST WHAT-THE-LINE-MUST-NAME...
refused() {
    local name=$1 manifest=$2; shift 2
    local status=0
    "$VIDSIFT" models verify "$manifest" >"$WORK/$name.verify.out" 2>"$WORK/$name.verify.err" ||
        status=$?
    local err
    err=$(cat "$WORK/$name.verify.err")
    if [ "$status" != 2 ]; then
        problem "$name: models verify exited $status, expected 2 ($err)"
        return
    fi
    if [ "$(wc -l <"$WORK/$name.verify.err")" != 1 ]; then
        problem "$name: expected exactly one line on stderr, got: $err"
        return
    fi
    for word in "$@"; do
        case "$err" in *"$word"*) ;; *) problem "$name: the message does not name '$word': $err"; return ;; esac
    done
    pass "$name refused (exit 2): $err"
}

refused tiny_badshape "$tests/tiny_badshape.manifest.json" "tiny_badshape.pt" "[2,7]"
refused tiny_centernet_badclasses "$tests/tiny_centernet_badclasses.manifest.json" \
    "tiny_centernet_badclasses.pt" "[2,10,16,16]"

# Hand-broken copies of tiny_yolov5 in a directory of their own.
broken=$WORK/broken
mkdir -p "$broken"
cp "$tests/coco.labels" "$broken/"
python3 - "$tests/tiny_yolov5.manifest.json" "$broken" <<'PY' || fail "could not write the manifests"
import json, sys
base, out = json.load(open(sys.argv[1])), sys.argv[2]
def write(name, **changes):
    m = dict(base, **changes)
    for key, value in changes.items():
        if value is None:
            del m[key]
    json.dump(m, open(f"{out}/{name}.manifest.json", "w"))
write("no_decoder", decoder=None)
write("truncated", file="truncated.pt")
write("not_torchscript", file="not_torchscript.pt")
write("missing_file", file="missing_file.pt")
PY
head -c 2000 "$tests/tiny_yolov5.pt" >"$broken/truncated.pt"
printf 'this is not a TorchScript archive\n' >"$broken/not_torchscript.pt"
refused no_decoder "$broken/no_decoder.manifest.json" "no_decoder.manifest.json" "decoder"
refused truncated "$broken/truncated.manifest.json" "truncated.pt"
refused not_torchscript "$broken/not_torchscript.manifest.json" "not_torchscript.pt"
refused missing_file "$broken/missing_file.manifest.json" "missing_file" "file"

# `vidsift run` must refuse a model whose outputs do not fit its decoder before it reads a
# video (setup error: exit 2, the file named), never run it and store nothing.
status=0
"$VIDSIFT" run --progress never --model "$tests/tiny_badshape.manifest.json" --no-annotate \
    --out "$WORK/out-badshape" "$WORK/in" >/dev/null 2>"$WORK/badshape.run.err" || status=$?
if [ "$status" = 2 ] && grep -q "tiny_badshape.pt" "$WORK/badshape.run.err"; then
    pass "vidsift run refuses tiny_badshape: $(head -n 1 "$WORK/badshape.run.err")"
else
    problem "vidsift run with tiny_badshape exited $status, expected 2 naming tiny_badshape.pt:" \
        "$(head -n 3 "$WORK/badshape.run.err")"
fi

# A bare TorchScript file, as Ultralytics' `yolo export format=torchscript` leaves it: `run
# --model FILE.pt` says a manifest is needed and the command that writes one; `models init`
# writes it (letterbox, /255, conf 0.25, IoU 0.45, per-class NMS, COCO labels copied beside);
# then the model runs. A square white clip: no letterbox padding, so k is about 1 and the
# README's YOLO rows at x2 (64 -> 128 px). The letterbox path converts with swscale's default
# rounding, which turns this white into 254 (k = 0.996), so scores are compared within one
# grey level (0.72/255 < 0.003), the boxes exactly.
uniform_clip white_128x128 0xffffff 128x128
mkdir -p "$WORK/square" && mv "$WORK/in/white_128x128.mkv" "$WORK/square/"
for head in yolov5 yolov8; do
    mine=$WORK/mine-$head
    mkdir -p "$mine"
    cp "$tests/tiny_$head.pt" "$mine/exported.pt"
    status=0
    "$VIDSIFT" run --progress never --model "$mine/exported.pt" --no-annotate \
        --out "$mine/out0" "$WORK/square" >/dev/null 2>"$mine/no-manifest.err" || status=$?
    err=$(cat "$mine/no-manifest.err")
    if [ "$status" = 2 ] && [ "$(wc -l <"$mine/no-manifest.err")" = 1 ] &&
        [[ "$err" == *"exported.manifest.json"* && "$err" == *"vidsift models init $mine/exported.pt --decoder"* ]]; then
        pass "$head: --model FILE.pt without a manifest: exit 2, names the manifest and models init"
    else
        problem "$head: --model FILE.pt without a manifest exited $status: $err"
    fi
    status=0
    "$VIDSIFT" models init "$mine/exported.pt" >/dev/null 2>"$mine/init-nodecoder.err" || status=$?
    [ "$status" = 2 ] && grep -q -- "--decoder" "$mine/init-nodecoder.err" ||
        problem "$head: models init without --decoder exited $status: $(cat "$mine/init-nodecoder.err")"
    status=0
    "$VIDSIFT" models init "$mine/exported.pt" --decoder "$head" --imgsz 64 \
        >"$mine/init.out" 2>"$mine/init.err" || status=$?
    if [ "$status" != 0 ] || [ ! -f "$mine/exported.manifest.json" ] || [ ! -f "$mine/coco.labels" ]; then
        problem "$head: models init exited $status: $(cat "$mine/init.err")"
        continue
    fi
    python3 - "$mine/exported.manifest.json" "$head" <<'PY' || problem "$head: models init wrote an unexpected manifest"
import json, sys
m = json.load(open(sys.argv[1]))
want = {"file": "exported.pt", "decoder": sys.argv[2], "labels": "coco.labels", "classes": 80,
        "conf": 0.25, "iou": 0.45, "class_agnostic_nms": False}
bad = {k: m.get(k) for k, v in want.items() if m.get(k) != v}
i = m["input"]
if (i["width"], i["height"], i["resize"], i["colour"]) != (64, 64, "letterbox", "rgb") or abs(i["scale"] - 1 / 255) > 1e-12:
    bad["input"] = i
if bad:
    sys.exit(f"unexpected fields: {bad}")
PY
    status=0
    "$VIDSIFT" models init "$mine/exported.pt" --decoder "$head" >/dev/null 2>"$mine/init-again.err" || status=$?
    [ "$status" = 2 ] && grep -q -- "--force" "$mine/init-again.err" ||
        problem "$head: a second models init without --force exited $status"
    "$VIDSIFT" models verify "$mine/exported.pt" >"$mine/verify.out" 2>&1 ||
        problem "$head: models verify of the init manifest failed: $(tail -n 1 "$mine/verify.out")"
    status=0
    "$VIDSIFT" run --progress never --model "$mine/exported.pt" --no-annotate \
        --out "$mine/out" "$WORK/square" >/dev/null 2>"$mine/run.err" || status=$?
    if [ "$status" != 0 ]; then
        problem "$head: run with the init manifest exited $status: $(why_failed "$mine/run.err")"
        continue
    fi
    for frame in 0 1 2; do
        printf 'white_128x128.mkv|%s|person|0.72|24 24 40 40\nwhite_128x128.mkv|%s|car|0.6|80 24 112 40\n' "$frame" "$frame"
        printf 'white_128x128.mkv|%s|toothbrush|0.4|44 84 84 108\nwhite_128x128.mkv|%s|bicycle|0.3|44 84 84 108\n' "$frame" "$frame"
    done >"$mine/expected"
    db_rows "$mine/out/results.db" >"$mine/got"
    if same_rows "$mine/expected" "$mine/got" 0.003 >"$mine/diff"; then
        pass "$head: models init + run --model FILE.pt: the README's 4 detections in each of 3 frames"
    else
        problem "$head: detections with the init manifest differ:
$(cat "$mine/diff")"
    fi
done

[ "$FAILURES" = 0 ] || fail "$FAILURES checks failed (see above)"
finish
