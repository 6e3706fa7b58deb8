#!/usr/bin/python3
"""convert_centernet.py MODEL_JSON OUT_PT [--check]: converts the CenterNet TF.js graph model of
npm @vladmandic/human (models/centernet.json + .bin) into a TorchScript file for vidsift.

The exported module:
  input   float32 NCHW [N,3,512,512], RGB, values 0..255 (no mean/std; the graph folded the
          /255 into its first conv), N dynamic.
  output  (heatmap, boxes):
          heatmap [N,80,128,128] = sigmoid class scores  (graph node tower_0/keypoints, NCHW)
          boxes   [N,4,128,128]  = box distances in input pixels (graph node tower_0/wh, NCHW):
                  channel 0..3 = left, top, right, bottom of the box, measured from 4*(x,y).
The graph's own batch-1 decode (3x3 max-pool peaks, top-100, gather) is left out; models/README.md
says how to do it. Only FP32 is written; half precision is the loader's business.

--check also runs the converted module against the graph interpreted literally in NHWC
(tfjs_graph.run_nhwc) on a synthetic image and compares our reference decode with the graph's
own tower_0/detections. Run with Debian's /usr/bin/python3 (torch 1.13).
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfjs_graph  # noqa: E402
import centernet_decode  # noqa: E402

OUTPUTS = ["tower_0/keypoints", "tower_0/wh"]
INPUT_SIZE = 512


class CenterNet(torch.nn.Module):
    """NCHW wrapper: the graph's NHWC Placeholder is fed NCHW directly, since the converted
    body works in NCHW throughout."""

    def __init__(self, model_json):
        super().__init__()
        self.body = tfjs_graph.TfGraphNCHW(model_json, OUTPUTS)

    def forward(self, images):
        heatmap, boxes = self.body(images)
        return heatmap, boxes


def synthetic_images(n, seed=0):
    """Smooth, image-like NCHW inputs in 0..255 (random noise gives flat, useless heatmaps)."""
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:INPUT_SIZE, 0:INPUT_SIZE].astype(np.float32) / INPUT_SIZE
    out = np.empty((n, 3, INPUT_SIZE, INPUT_SIZE), np.float32)
    for i in range(n):
        for c in range(3):
            fx, fy, ph = g.uniform(1, 8), g.uniform(1, 8), g.uniform(0, 6.3)
            out[i, c] = 127.5 + 127.5 * np.sin(fx * 6.28 * xx + ph) * np.cos(fy * 6.28 * yy)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_json")
    ap.add_argument("out_pt")
    ap.add_argument("--check", action="store_true",
                    help="compare with the literal NHWC graph and its own detections")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    t0 = time.time()
    try:
        model = CenterNet(args.model_json).eval()
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"convert_centernet: error: cannot read {args.model_json}: {e}")

    example = torch.from_numpy(synthetic_images(1))
    with torch.no_grad():
        traced = torch.jit.trace(model, example, check_trace=False)
        # The batch dimension must stay dynamic: run batch 2 and compare with batch 1 runs.
        pair = torch.from_numpy(synthetic_images(2, seed=1))
        hm2, bx2 = traced(pair)
        hm0, bx0 = model(pair[0:1])
        hm1, bx1 = model(pair[1:2])
    if tuple(hm2.shape) != (2, 80, 128, 128) or tuple(bx2.shape) != (2, 4, 128, 128):
        sys.exit(f"convert_centernet: error: unexpected output shapes {tuple(hm2.shape)} {tuple(bx2.shape)}")
    diff = max((hm2 - torch.cat([hm0, hm1])).abs().max().item(),
               (bx2 - torch.cat([bx0, bx1])).abs().max().item() / 64.0)
    if diff > 1e-4:
        sys.exit(f"convert_centernet: error: traced batch-2 output differs from eager batch-1 by {diff}")

    tmp = f"{args.out_pt}.{os.getpid()}.tmp"
    traced.save(tmp)
    os.replace(tmp, args.out_pt)
    print(f"convert_centernet: wrote {args.out_pt} in {time.time() - t0:.1f} s")

    if args.check:
        check(args.model_json, args.out_pt)


def check(model_json, out_pt):
    """Literal NHWC run of the whole graph vs the saved TorchScript module + our decode."""
    module = torch.jit.load(out_pt)
    img = synthetic_images(1, seed=3)
    with torch.no_grad():
        hm, bx = module(torch.from_numpy(img))
    ref_kp, ref_wh, ref_det = tfjs_graph.run_nhwc(
        model_json, img.transpose(0, 2, 3, 1), ["tower_0/keypoints", "tower_0/wh", "tower_0/detections"])
    hm_diff = np.abs(hm.numpy().transpose(0, 2, 3, 1) - ref_kp).max()
    bx_diff = np.abs(bx.numpy().transpose(0, 2, 3, 1) - ref_wh).max()
    det = centernet_decode.decode_topk(hm.numpy()[0], bx.numpy()[0], k=100)
    ref_det = ref_det[0]
    det_diff = np.abs(det - ref_det).max()
    print(f"check: NHWC graph vs TorchScript: heatmap max|d|={hm_diff:.3g}, boxes max|d|={bx_diff:.3g}; "
          f"reference decode vs graph tower_0/detections (100 rows) max|d|={det_diff:.3g}")
    if hm_diff > 1e-4 or bx_diff > 1e-2 or det_diff > 1e-2:
        sys.exit("check: FAILED")
    print("check: ok")


if __name__ == "__main__":
    main()
