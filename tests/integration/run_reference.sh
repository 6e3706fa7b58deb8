# vidsift's rows on real footage against an independent reference run of the
# same model (models/reference_run.py: ffmpeg CLI frames, numpy resize, Python
# torch, Python decode), frame by frame: the same detections in every frame,
# class equal, score within 0.02, box IoU >= 0.95. (The model itself matches
# TF.js within 1.6e-6: tests/integration/fidelity.sh. What is left here comes
# from YUV-to-RGB conversion in the ffmpeg CLI's filter graph against
# vidsift's own swscale call: a few grey levels, up to ~0.01 in score.)
source "$(dirname "$0")/common.bash"
python=${VS_PYTHON:-/usr/bin/python3}
"$python" -c 'import torch, numpy' || fail "$python cannot import torch (setup.sh installs python3-torch)"

dog="$FORENSICS/movie1/VID_20191220_170832.mp4"
hello="$FORENSICS/movie2/movie-hello.mp4"
[ -f "$dog" ] && [ -f "$hello" ] || fail "forensics-samples-files is not installed (setup.sh installs it)"
mkdir -p "$WORK/in"
ffmpeg -nostdin -loglevel error -i "$hello" -frames:v 20 -c copy "$WORK/in/hello20.mp4"
ffmpeg -nostdin -loglevel error -i "$dog" -frames:v 20 -c copy "$WORK/in/dog20.mp4"

run_vidsift 0 --model centernet --out "$WORK/out" --no-annotate "$WORK/in"
for clip in dog20.mp4 hello20.mp4; do
    "$python" "$VS_SOURCE_DIR/models/reference_run.py" "$VS_MODELS_DIR/centernet.pt" \
        "$WORK/in/$clip" "$WORK/$clip.reference.tsv" || fail "the reference run failed on $clip"
    sql "$WORK/out/results.db" "select frame_index, class_id, score, x1, y1, x2, y2
        from detections d join videos v on v.id = d.video_id where v.path like '%/$clip'" |
        tr '|' '\t' >"$WORK/$clip.vidsift.tsv"
    summary=$(python3 - "$WORK/$clip.reference.tsv" "$WORK/$clip.vidsift.tsv" <<'PY'
import collections, sys
def load(path):
    frames = collections.defaultdict(list)
    for line in open(path):
        f, c, s, *box = line.split("\t")
        frames[int(f)].append((int(c), float(s), [float(v) for v in box]))
    return frames
def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0]); h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0
ref, got = load(sys.argv[1]), load(sys.argv[2])
worst_score, worst_iou, count = 0.0, 1.0, 0
for frame in sorted(set(ref) | set(got)):
    r, g = sorted(ref[frame], key=lambda d: -d[1]), sorted(got[frame], key=lambda d: -d[1])
    # Boxes scoring within 0.02 of the threshold may fall either side of it: compare the rest.
    r = [d for d in r if d[1] > 0.22]; g = [d for d in g if d[1] > 0.22]
    if len(r) != len(g):
        sys.exit(f"frame {frame}: reference {r} against vidsift {g}")
    for a in r:
        match = max(g, key=lambda b: (b[0] == a[0]) * iou(a[2], b[2]))
        if match[0] != a[0] or abs(match[1] - a[1]) > 0.02 or iou(a[2], match[2]) < 0.95:
            sys.exit(f"frame {frame}: reference {a} against vidsift {match}")
        worst_score = max(worst_score, abs(match[1] - a[1])); worst_iou = min(worst_iou, iou(a[2], match[2]))
        count += 1
print(f"{len(ref)} frames with detections, {count} detections, worst score diff {worst_score:.4f}, worst IoU {worst_iou:.4f}")
PY
) || fail "$clip differs from the reference run: $summary"
    pass "$clip matches the reference run frame by frame: $summary"
done
finish
