#!/usr/bin/python3
"""compare_yolov5.py REFDIR MODEL_PT: runs vidsift's TorchScript YOLOv5s on REFDIR/input.nhwc.f32
(TF.js's letterboxed input) and compares it with the graph's output that run_tfjs.js --kind yolov5
wrote there. Run with Debian's /usr/bin/python3 (torch 1.13). Writes REFDIR/input.nchw.f32 and
REFDIR/reference.json (format: README.md) for `vidsift models verify yolov5s --reference REFDIR`;
the reference output is TF.js's with cx, cy, w, h multiplied by 640 (the graph divides by its
input size; yolov5s.pt, like Ultralytics' export, gives input pixels). Exit 1 on any failure.

Checks, per frame:
  - raw output: |TorchScript - TF.js| <= 1e-4 * max(1, |TF.js|) for every value (absolute for
    objectness and class probabilities, relative for pixel coordinates up to ~640);
  - detections after YOLOv5's decode (score = objectness x best class probability > 0.25,
    per-class NMS dropping IoU > 0.45, best first, at most 100): the same list from both
    outputs: same count and order, same classes, scores within 1e-4 and box corners within
    1e-4 * max(1, |corner|) px (identical up to float rounding).
"""

import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE, VALUES = 640, 85
RAW_TOL = SCORE_TOL = BOX_TOL = 1e-4
CONF, IOU, MAX_OUT = 0.25, 0.45, 100


def load(path, shape):
    a = np.fromfile(path, dtype="<f4")
    if a.size != int(np.prod(shape)):
        sys.exit(f"compare_yolov5: error: {path} has {a.size} floats, expected {shape}")
    return a.reshape(shape)


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def detect(rows):
    """YOLOv5's non_max_suppression (v6) in numpy: rows [A,85] -> [[x1,y1,x2,y2,score,class]]."""
    obj = rows[:, 4]
    cand = rows[obj > CONF]
    cls = cand[:, 5:].argmax(axis=1)
    score = cand[:, 4] * cand[np.arange(len(cand)), 5 + cls]
    keep = score > CONF
    cand, cls, score = cand[keep], cls[keep], score[keep]
    half = np.abs(cand[:, 2:4]) / 2
    boxes = np.concatenate([cand[:, 0:2] - half, cand[:, 0:2] + half], axis=1)
    order = np.argsort(-score, kind="stable")
    kept = []
    for i in order:
        if all(cls[j] != cls[i] or iou(boxes[i], boxes[j]) <= IOU for j in kept):
            kept.append(i)
        if len(kept) == MAX_OUT:
            break
    return [list(map(float, boxes[i])) + [float(score[i]), int(cls[i])] for i in kept]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_yolov5.py REFDIR MODEL_PT")
    ref, model_pt = sys.argv[1], sys.argv[2]
    meta = json.load(open(os.path.join(ref, "meta.json")))
    labels = open(os.path.join(HERE, "..", "..", "models", "coco.labels")).read().split("\n")
    n = meta["frames"]
    x_nhwc = load(os.path.join(ref, "input.nhwc.f32"), (n, SIZE, SIZE, 3))
    rows = meta["shapes"]["output"][1]
    tj = load(os.path.join(ref, "output.f32"), (n, rows, VALUES)).copy()
    tj[..., :4] *= SIZE
    tj.astype("<f4").tofile(os.path.join(ref, "output.pixels.f32"))
    x_nchw = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))
    x_nchw.astype("<f4").tofile(os.path.join(ref, "input.nchw.f32"))

    torch.set_num_threads(2)
    model = torch.jit.load(model_pt)
    t0 = time.time()
    with torch.no_grad():
        out = model(torch.from_numpy(x_nchw)).numpy()  # the whole batch at once: dynamic N
    elapsed = time.time() - t0

    failures = []
    worst = 0.0
    expected = []
    if out.shape != tj.shape:
        failures.append(f"output shape {out.shape} vs TF.js {tj.shape}")
    for i in range(n if not failures else 0):
        d = float((np.abs(out[i] - tj[i]) / np.maximum(1.0, np.abs(tj[i]))).max())
        worst = max(worst, d)
        if d > RAW_TOL:
            failures.append(f"frame {i}: output max|d|/max(1,|ref|) {d:.3g} > {RAW_TOL}")
        mine, theirs = detect(out[i]), detect(tj[i])
        desc = ", ".join(f"{labels[r[5]]} {r[4]:.2f}" for r in theirs[:5])
        src = os.path.basename(meta["sources"][i]) if meta["sources"] else i
        print(f"frame {i} ({src}): output max|d| {d:.2e}, {len(theirs)} detections: {desc}"
              f"{' ...' if len(theirs) > 5 else ''}")
        if len(mine) != len(theirs):
            failures.append(f"frame {i}: {len(mine)} detections vs TF.js {len(theirs)}")
        for a, b in zip(mine, theirs):
            if a[5] != b[5] or abs(a[4] - b[4]) > SCORE_TOL or \
                    any(abs(u - v) > BOX_TOL * max(1.0, abs(v)) for u, v in zip(a[:4], b[:4])):
                failures.append(f"frame {i}: detection {a} vs TF.js {b}")
        expected.append([{"class": r[5], "label": labels[r[5]], "score": r[4], "box": r[:4]}
                         for r in theirs])

    reference = {
        "format": "vidsift-reference 1",
        "producer": f"TF.js {meta['tfjs']} ({meta['backend']} backend) running {meta['model']}",
        "frames": n,
        "input": {"file": "input.nchw.f32", "shape": [n, 3, SIZE, SIZE]},
        # No pictures: the TF.js letterbox resizes as cv2.INTER_LINEAR does, vidsift's with
        # swscale's bilinear filter (which averages when shrinking), so the preprocessed
        # tensors differ by design; the model and the decoder are what this proves.
        "pictures": [],
        "outputs": [{"name": "output", "file": "output.pixels.f32", "shape": [n, rows, VALUES]}],
        "detections": {"conf": CONF, "iou": IOU, "class_agnostic_nms": False,
                       "max_detections": MAX_OUT, "box_units": "model input pixels",
                       "frames": expected},
    }
    with open(os.path.join(ref, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"fidelity: {n} frames, TF.js {meta['tfjs']} {meta['backend']} vs TorchScript YOLOv5s: "
          f"output max|d|/max(1,|ref|) {worst:.2e} (tol {RAW_TOL}); "
          f"TorchScript first call {1000 * elapsed / n:.0f} ms/frame")
    if failures:
        for f in failures[:20]:
            print(f"FAIL: {f}")
        print("0 passed, 1 failed")
        sys.exit(1)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
