# The INT8 YOLOv5s (models/prepare.sh, models/quantize_yolov5.py) loads through the C shim and
# finds the FP32 model's detections on real footage: F1 >= 0.97 at IoU 0.5, same class
# (bench/detections_f1.py), the bound issue 18 set.
source "$(dirname "$0")/common.bash"

root=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$VS_MODELS_DIR/yolov5s-int8.pt" ] ||
    fail "no $VS_MODELS_DIR/yolov5s-int8.pt: models/prepare.sh makes it (bash models/prepare.sh $VS_MODELS_DIR)"
forensics_inputs "$WORK/in"

for model in yolov5s yolov5s-int8; do
    run_vidsift 0 --model "$model" --device cpu --no-annotate --out "$WORK/$model" "$WORK/in"
    "$VIDSIFT" export "$WORK/$model" --format jsonl >"$WORK/$model.jsonl" || fail "export of the $model run"
done
used=$(sql "$WORK/yolov5s-int8/results.db" "select distinct json_extract(analysis, '$.model') from videos")
[ "$used" = yolov5s-int8 ] || fail "--model yolov5s-int8 stored the model as '$used'"
pass "--model yolov5s-int8 runs through the shim on the CPU"

[ -s "$WORK/yolov5s.jsonl" ] || fail "FP32 found nothing on the clips: nothing to compare"
f1=$(python3 "$root/bench/detections_f1.py" "$WORK/yolov5s.jsonl" "$WORK/yolov5s-int8.jsonl")
python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["f1"] >= 0.97 else 1)' "$f1" ||
    fail "INT8 against FP32: $f1, F1 under 0.97"
pass "INT8 finds FP32's detections: $f1"
finish
