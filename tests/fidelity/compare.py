#!/usr/bin/python3
"""compare.py REFDIR MODEL_PT: runs vidsift's TorchScript CenterNet on REFDIR/input.nhwc.f32 and
compares it with the TF.js reference outputs that run_tfjs.js wrote there. Run with Debian's
/usr/bin/python3 (torch 1.13). Writes REFDIR/input.nchw.f32 (what the C side feeds the shim) and
REFDIR/reference.json (the index of the reference files and TF.js's final detections, read by
`vidsift models verify --reference REFDIR`; format: README.md). Exit 1 on any failed check.

Checks, per frame:
  - heatmap max |TorchScript - TF.js| <= 1e-3 (sigmoid scores);
  - boxes map max |d| / max(1, |TF.js|) <= 1e-3 (the map is in input pixels, up to ~500; fp32
    accumulation order alone moves it by a few 1e-4 relative);
  - our reference decode (models/centernet_decode.py) of the TF.js heatmap/boxes reproduces the
    graph's own tower_0/detections rows (checks our reading of the graph's decode);
  - detections after conf 0.2 + class-agnostic NMS 0.4: TorchScript and TF.js give the same list,
    same classes, scores within 0.01, box IoU >= 0.95.
"""

import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "models"))
import centernet_decode as cd  # noqa: E402

SIZE, CLASSES, GRID = 512, 80, 128
HEATMAP_TOL, BOXES_REL_TOL, SCORE_TOL, IOU_MIN = 1e-3, 1e-3, 0.01, 0.95
CONF, IOU, MAX_OUT = 0.2, 0.4, 100


def load(path, shape):
    a = np.fromfile(path, dtype="<f4")
    if a.size != int(np.prod(shape)):
        sys.exit(f"compare: error: {path} has {a.size} floats, expected {shape}")
    return a.reshape(shape)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare.py REFDIR MODEL_PT")
    ref, model_pt = sys.argv[1], sys.argv[2]
    meta = json.load(open(os.path.join(ref, "meta.json")))
    labels = open(os.path.join(HERE, "..", "..", "models", "coco.labels")).read().split("\n")
    n = meta["frames"]
    x_nhwc = load(os.path.join(ref, "input.nhwc.f32"), (n, SIZE, SIZE, 3))
    tj_hm = load(os.path.join(ref, "heatmap.f32"), (n, CLASSES, GRID, GRID))
    tj_bx = load(os.path.join(ref, "boxes.f32"), (n, 4, GRID, GRID))
    tj_det = load(os.path.join(ref, "detections.f32"), (n, 100, 6))
    x_nchw = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))
    x_nchw.astype("<f4").tofile(os.path.join(ref, "input.nchw.f32"))

    torch.set_num_threads(2)
    model = torch.jit.load(model_pt)
    t0 = time.time()
    with torch.no_grad():
        hm, bx = model(torch.from_numpy(x_nchw))  # the whole batch at once: dynamic N
    elapsed = time.time() - t0
    hm, bx = hm.numpy(), bx.numpy()

    failures = []
    worst_hm = worst_bx = worst_bx_rel = worst_dec = 0.0
    expected = []
    for i in range(n):
        d_hm = float(np.abs(hm[i] - tj_hm[i]).max())
        d_bx = float(np.abs(bx[i] - tj_bx[i]).max())
        d_bx_rel = float((np.abs(bx[i] - tj_bx[i]) / np.maximum(1.0, np.abs(tj_bx[i]))).max())
        worst_hm, worst_bx = max(worst_hm, d_hm), max(worst_bx, d_bx)
        worst_bx_rel = max(worst_bx_rel, d_bx_rel)
        if d_hm > HEATMAP_TOL:
            failures.append(f"frame {i}: heatmap max|d| {d_hm:.3g} > {HEATMAP_TOL}")
        if d_bx_rel > BOXES_REL_TOL:
            failures.append(f"frame {i}: boxes relative max|d| {d_bx_rel:.3g} > {BOXES_REL_TOL}")

        # Our decode of TF.js's own maps vs the graph's decode (same inputs: must agree).
        rows = cd.decode_topk(tj_hm[i], tj_bx[i], 100)
        d_dec = float(np.abs(rows - tj_det[i]).max())
        worst_dec = max(worst_dec, d_dec)
        if d_dec > 1e-3:
            failures.append(f"frame {i}: reference decode differs from tower_0/detections by {d_dec:.3g}")

        # Final detections: TorchScript + our decode vs TF.js's graph detections + the same NMS.
        mine = cd.detect(hm[i], bx[i], CONF, IOU, MAX_OUT)
        theirs = tj_det[i][cd.nms(tj_det[i], IOU, CONF, MAX_OUT)]
        desc = ", ".join(f"{labels[int(r[5])]} {r[4]:.2f}" for r in theirs[:5])
        print(f"frame {i} ({os.path.basename(meta['sources'][i]) if meta['sources'] else i}): "
              f"heatmap max|d| {d_hm:.2e}, boxes max|d| {d_bx:.2e}, "
              f"{len(theirs)} detections: {desc}{' ...' if len(theirs) > 5 else ''}")
        if len(mine) != len(theirs):
            failures.append(f"frame {i}: {len(mine)} detections vs TF.js {len(theirs)}")
        for a, b in zip(mine, theirs):
            if int(a[5]) != int(b[5]) or abs(a[4] - b[4]) > SCORE_TOL or cd.iou(a, b) < IOU_MIN:
                failures.append(f"frame {i}: detection {a.tolist()} vs TF.js {b.tolist()}")
        expected.append([{"class": int(r[5]), "label": labels[int(r[5])], "score": float(r[4]),
                          "box": [float(v) for v in r[:4]]} for r in theirs])

    def relative(path):
        """Pictures inside REFDIR are named relative to it, so the directory can be moved."""
        full = os.path.abspath(path)
        inside = os.path.commonpath([full, os.path.abspath(ref)]) == os.path.abspath(ref)
        return os.path.relpath(full, ref) if inside else full

    reference = {
        "format": "vidsift-reference 1",
        "producer": f"TF.js {meta['tfjs']} ({meta['backend']} backend) running {meta['model']}",
        "frames": n,
        "input": {"file": "input.nchw.f32", "shape": [n, 3, SIZE, SIZE]},
        "pictures": [relative(p) for p in meta["sources"]],
        "outputs": [
            {"name": "heatmap", "file": "heatmap.f32", "shape": [n, CLASSES, GRID, GRID]},
            {"name": "boxes", "file": "boxes.f32", "shape": [n, 4, GRID, GRID]},
        ],
        "detections": {"conf": CONF, "iou": IOU, "class_agnostic_nms": True,
                       "max_detections": MAX_OUT, "box_units": "model input pixels",
                       "frames": expected},
    }
    with open(os.path.join(ref, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"fidelity: {n} frames, TF.js {meta['tfjs']} {meta['backend']} vs TorchScript: "
          f"heatmap max|d| {worst_hm:.2e} (tol {HEATMAP_TOL}), boxes max|d| {worst_bx:.2e} px "
          f"(relative {worst_bx_rel:.2e}), "
          f"decode vs graph max|d| {worst_dec:.2e}; TorchScript first call {1000 * elapsed / n:.0f} ms/frame")
    if failures:
        for f in failures[:20]:
            print(f"FAIL: {f}")
        print("0 passed, 1 failed")
        sys.exit(1)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
