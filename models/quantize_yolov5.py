#!/usr/bin/python3
"""quantize_yolov5.py MODEL_JSON OUT.pt [options]: an INT8 YOLOv5s for vidsift, calibrated on real
frames, and the measurements that decide whether it pays (issue 18, item 2).

The FP32 module is the one convert_yolov5.py builds (same graph, same head), with one change that
does not alter its arithmetic: each of the graph's seven explicit, symmetric Pad nodes is folded
into the padding of the convolution it feeds (a Pad between two quantized ops would dequantize and
requantize its tensor). It is traced, then quantized by TorchScript graph-mode post-training
quantization (torch.ao.quantization.quantize_jit): INT8 convolutions with per-channel symmetric
weights (onednn) or per-tensor (qnnpack), activations uint8 with histogram observers, SiLU as
quantized sigmoid x quantized mul. Left in float: the three detection convolutions and the head
(their logits mix box, objectness and class ranges) and the first seven convolutions (FLOAT_CONVS). Input and output are those of yolov5s.pt: NCHW RGB 0..1, [N,A,85].

Calibration frames are real: sampled from the clips given (default: the forensics-samples-files
clips, which every machine has), letterboxed to 512 as vidsift does (bilinear, grey
114 centred; ffmpeg's scale+pad filters, close to but not bit-identical with core/preprocess.c).
Evaluation frames are a disjoint sample of the same clips.

  --bench         ms/frame at batch 1 and 4 (2 threads, rounds interleaved) of FP32, FP32 frozen +
                  optimize_for_inference (what `vidsift run --optimize` does) and the INT8 model
  --f1            detections of INT8 vs FP32 on the evaluation frames: vidsift's yolov5 decoder
                  (conf 0.25, per-class NMS 0.45) on both, matched at IoU 0.5 and same class as
                  bench/detections_f1.py does
Run with Debian's /usr/bin/python3 (torch 1.13: quantized engines onednn and qnnpack, no fbgemm).
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_yolov5  # noqa: E402
import tfjs_graph  # noqa: E402

# The detections are compared as bench/detections_f1.py compares two vidsift runs.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import detections_f1  # noqa: E402

SIZE = 512
# The stem and the first C3 block (convolutions 0-6, at 256x256 and 128x128) stay float: fake-
# quantizing one layer at a time on 7 frames, each of them moved the scores by up to 0.013-0.070,
# every later one by at most 0.023 (most under 0.013); with them quantized F1 against FP32 was
# 0.956 (0.961 with the stem alone float, 0.971 with all seven); they are ~16% of the
# multiply-adds.
FLOAT_CONVS = (0, 1, 2, 3, 4, 5, 6)
# Only Debian's forensics-samples-files: every machine that prepares the models has them (setup.sh
# installs them), so every machine calibrates on the same frames and gets the same model.
DEFAULT_CLIPS = tuple(sorted(glob.glob("/usr/share/forensics-samples/original-files/movie*/*.mp4")))


def fold_pads(model):
    """Folds every symmetric Pad that feeds exactly one VALID convolution into that convolution's
    padding (zero padding either way: the same arithmetic), so no float op sits between two
    quantized ones. Returns how many were folded."""
    steps = model.body.steps
    users = {}
    for name, _, inputs, _ in steps:
        for i in inputs:
            users.setdefault(i, []).append(name)
    by_name = {s[0]: s for s in steps}
    folded = 0
    for k, (name, op, inputs, p) in enumerate(steps):
        if op != "Pad" or len(users.get(name, [])) != 1:
            continue
        conv = by_name[users[name][0]][3]
        left, right, top, bottom = p["pad"]
        if "weight" not in conv or conv["pad"] is not None or left != right or top != bottom:
            continue
        conv["pad"] = p["pad"]
        steps[k] = (name, "Identity", inputs, {})
        folded += 1
    return folded


class FloatHead(torch.nn.Module):
    """The three 1x1 detection convolutions and the rebuilt head of convert_yolov5.YoloV5, kept in
    float: their outputs are the logits of every score, with ranges too different across the 255
    channels (box, objectness, 80 classes) for one uint8 scale per tensor."""

    def __init__(self, full):
        super().__init__()
        by_name = {s[0]: s[3] for s in full.body.steps}
        for i, name in enumerate(convert_yolov5.DETECT_CONVS):
            p = by_name[name]
            if p["pad"] is not None or p["act"] is not None or p["groups"] != 1:
                raise ValueError(f"{name}: not a plain 1x1 convolution")
            self.register_buffer(f"weight{i}", getattr(full.body, p["weight"]).clone())
            self.register_buffer(f"bias{i}", getattr(full.body, p["bias"]).clone())
            self.register_buffer(f"anchor{i}", getattr(full, f"anchor{i}").clone())

    def level(self, x, stride: int, anchor):
        return convert_yolov5.YoloV5.level(self, x, stride, anchor)

    def forward(self, p3, p4, p5):
        conv = torch.nn.functional.conv2d
        return torch.cat((self.level(conv(p3, self.weight0, self.bias0), 8, self.anchor0),
                          self.level(conv(p4, self.weight1, self.bias1), 16, self.anchor1),
                          self.level(conv(p5, self.weight2, self.bias2), 32, self.anchor2)), dim=1)


class ConvStep(torch.nn.Module):
    """One convolution of the graph (with its fused activation) as a submodule of its own, so that
    a qconfig can name it: quantize_jit chooses per submodule, not per op."""

    def __init__(self, weight, bias, p):
        super().__init__()
        self.register_buffer("weight", weight.clone())
        self.register_buffer("bias", bias.clone() if bias is not None else None)
        self.stride, self.dilation, self.groups, self.act = p["stride"], p["dilation"], p["groups"], p["act"]
        self.pad = p["pad"]

    def forward(self, t):
        pad = 0
        if self.pad is not None:
            left, right, top, bottom = self.pad
            if left == right and top == bottom:
                pad = (top, left)
            else:
                t = torch.nn.functional.pad(t, self.pad)
        t = torch.nn.functional.conv2d(t, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)
        return tfjs_graph.ACTIVATIONS[self.act](t) if self.act is not None else t


class LayeredGraph(tfjs_graph.TfGraphNCHW):
    """TfGraphNCHW whose convolutions (and, with silu_modules, each convolution's SiLU, the graph's
    Sigmoid + Mul that follow it) run as submodules `convs.<k>` named by their order in the graph."""

    def layer_modules(self):
        """Call after fold_pads: moves each convolution's weights into its ConvStep."""
        self.convs = torch.nn.ModuleDict()
        for name, op, inputs, p in self.steps:
            if "weight" in p:
                bias = getattr(self, p["bias"]) if p["bias"] is not None else None
                p["module"] = str(len(self.convs))
                self.convs[p["module"]] = ConvStep(getattr(self, p["weight"]), bias, p)
                del self._buffers[p["weight"]]
                if p["bias"] is not None:
                    del self._buffers[p["bias"]]

    def _step(self, op, p, args):
        if "module" in p:
            return self.convs[p["module"]](args[0])
        return super()._step(op, p, args)


class SplitYoloV5(torch.nn.Module):
    """convert_yolov5.YoloV5 as two submodules: `body` (the graph up to the inputs of the detection
    convolutions, pads folded), quantized, and `head` (FloatHead), left in float by giving it no
    qconfig. Same arithmetic as YoloV5 in float."""

    def __init__(self, model_json):
        super().__init__()
        full = convert_yolov5.YoloV5(model_json).eval()
        nodes = {s[0]: s[2] for s in full.body.steps}
        self.body = LayeredGraph(model_json, [nodes[n][0] for n in convert_yolov5.DETECT_CONVS])
        self.head = FloatHead(full)

    def forward(self, images):
        p3, p4, p5 = self.body(images)
        return self.head(p3, p4, p5)


def letterbox_frames(clip, every, offset, limit):
    """RGB frames of clip letterboxed to SIZE x SIZE, as float32 NCHW 0..1: every `every`-th frame
    starting at `offset`, at most `limit`."""
    vf = (f"select='gte(n\\,{offset})*not(mod(n-{offset}\\,{every}))',"
          f"scale='if(gte(iw,ih),{SIZE},-2)':'if(gte(iw,ih),-2,{SIZE})':flags=bilinear,"
          f"pad={SIZE}:{SIZE}:(ow-iw)/2:(oh-ih)/2:color=0x727272")
    cmd = ["ffmpeg", "-v", "error", "-i", clip, "-vf", vf, "-vsync", "0", "-frames:v", str(limit),
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout
    n = len(raw) // (SIZE * SIZE * 3)
    if n == 0:
        raise ValueError(f"{clip}: no frame decoded")
    arr = np.frombuffer(raw[:n * SIZE * SIZE * 3], np.uint8).reshape(n, SIZE, SIZE, 3)
    return torch.from_numpy(arr.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)


def frames_of(clips, every, offset, limit):
    return torch.cat([letterbox_frames(c, every, offset, limit) for c in clips])


def quantize(traced, engine, per_tensor, observer, float_head, float_convs, calib, batch=4):
    from torch.ao.quantization import (HistogramObserver, MinMaxObserver, PerChannelMinMaxObserver,
                                       QConfig, quantize_jit)
    torch.backends.quantized.engine = engine
    weight = (MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
              if per_tensor else
              PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    act = HistogramObserver if observer == "histogram" else MinMaxObserver
    qconfig = QConfig(activation=act.with_args(reduce_range=False), weight=weight)
    qconfig_dict = {"": qconfig, "head": None} if float_head else {"": qconfig}
    for k in float_convs:
        qconfig_dict[f"body.convs.{k}"] = None

    def run(model, data):
        with torch.no_grad():
            for chunk in data:
                model(chunk)

    chunks = [calib[i:i + batch] for i in range(0, len(calib), batch)]
    return quantize_jit(traced, qconfig_dict, run, [chunks], inplace=False)


def decode(out, conf=0.25, iou=0.45, max_det=100):
    """vidsift's yolov5 decoder (core/detect.c) in numpy: objectness > conf, best class (first on
    ties), score = objectness x class probability > conf, per-class greedy NMS dropping a box that
    overlaps a kept one of its class by more than iou. Returns [(class, score, x1, y1, x2, y2)]."""
    r = out[out[:, 4] > conf]
    if len(r) == 0:
        return []
    cls = r[:, 5:].argmax(1)
    score = r[:, 4] * r[np.arange(len(r)), 5 + cls]
    keep = score > conf
    r, cls, score = r[keep], cls[keep], score[keep]
    boxes = np.stack([r[:, 0] - r[:, 2] / 2, r[:, 1] - r[:, 3] / 2, r[:, 0] + r[:, 2] / 2,
                      r[:, 1] + r[:, 3] / 2], 1)
    order = np.argsort(-score, kind="stable")
    kept = []
    for i in order:
        if any(cls[j] == cls[i] and detections_f1.iou(boxes[i], boxes[j]) > iou for j in kept):
            continue
        kept.append(i)
        if len(kept) == max_det:
            break
    return [(int(cls[i]), float(score[i]), *boxes[i].tolist()) for i in kept]


def detections(model, frames, batch=4):
    out = []
    with torch.no_grad():
        for i in range(0, len(frames), batch):
            out += [decode(o) for o in model(frames[i:i + batch]).numpy()]
    return out


def f1_against(reference, candidate, frames):
    """reference: a model, or its detections per frame (the FP32 ones, cached between runs)."""
    n_ref = n_cand = matched = 0
    dmax = 0.0
    ref_dets = reference if isinstance(reference, list) else detections(reference, frames)
    as_boxes = lambda frame: [(d[0], d[1], d[2:]) for d in frame]  # noqa: E731
    for r, c in zip(ref_dets, detections(candidate, frames)):
        m, d = detections_f1.match_frame(as_boxes(r), as_boxes(c), 0.5)
        n_ref, n_cand, matched, dmax = n_ref + len(r), n_cand + len(c), matched + m, max(dmax, d)
    return {"frames": len(frames), **detections_f1.summary(n_ref, n_cand, matched, dmax)}


def bench(variants, frames, batches, rounds, calls):
    """ms per frame of each variant: after two warm-up calls per (variant, batch), `rounds` rounds in
    which every variant runs `calls` calls in turn (order rotated each round)."""
    results = {}
    with torch.no_grad():
        for b in batches:
            x = frames[:b]
            for name, m in variants:
                for _ in range(2):
                    m(x)
            times = {name: [] for name, _ in variants}
            for r in range(rounds):
                order = variants[r % len(variants):] + variants[:r % len(variants)]
                for name, m in order:
                    for _ in range(calls):
                        t = time.perf_counter()
                        m(x)
                        times[name].append((time.perf_counter() - t) * 1000.0 / b)
            for name, _ in variants:
                results[(name, b)] = (min(times[name]), statistics.median(times[name]))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_json")
    ap.add_argument("out_pt")
    ap.add_argument("--engine", default="onednn", choices=["onednn", "qnnpack"])
    ap.add_argument("--per-tensor", action="store_true", help="per-tensor weights (default per channel)")
    ap.add_argument("--observer", default="histogram", choices=["histogram", "minmax"],
                    help="activation ranges: histogram (clips outliers) or min/max")
    ap.add_argument("--quantize-head", action="store_true",
                    help="quantize the three detection convolutions too (default: float)")
    ap.add_argument("--float-convs", type=lambda v: [int(k) for k in v.split(",") if k],
                    default=list(FLOAT_CONVS), help="comma-separated indices (graph order, 0 = the stem) "
                    "of convolutions left in float (default: %(default)s; '' for none)")
    ap.add_argument("--calib-every", type=int, default=20, help="calibration: every N-th frame of each clip")
    ap.add_argument("--calib-max", type=int, default=12, help="calibration: at most this many frames per clip")
    ap.add_argument("--eval-every", type=int, default=10, help="evaluation: every N-th frame (offset N/2)")
    ap.add_argument("--eval-max", type=int, default=40, help="evaluation: at most this many frames per clip")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--f1", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="measure OUT.pt as it is when it exists")
    ap.add_argument("--reference-cache", metavar="FILE",
                    help="FP32 detections of the evaluation frames: read if present, else written")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--calls", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("clips", nargs="*", default=DEFAULT_CLIPS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not args.clips:
        sys.exit("quantize_yolov5: error: no clip to calibrate on (apt-get install forensics-samples-files)")
    if args.engine not in torch.backends.quantized.supported_engines:
        sys.exit(f"quantize_yolov5: error: this torch has no {args.engine} engine "
                 f"({torch.backends.quantized.supported_engines})")

    # Packed weights are packed again for the engine in force when a model is loaded (vidsift's
    # libtorch: onednn, its default without fbgemm), so measure under the same engine.
    torch.backends.quantized.engine = args.engine
    t0 = time.time()
    model = (convert_yolov5.YoloV5(args.model_json) if args.quantize_head
             else SplitYoloV5(args.model_json)).eval()
    folded = fold_pads(model)
    if not args.quantize_head:
        model.body.layer_modules()
    elif args.float_convs:
        sys.exit("quantize_yolov5: error: --float-convs needs the float head (no --quantize-head)")
    try:
        calib = frames_of(args.clips, args.calib_every, 0, args.calib_max)
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        sys.exit(f"quantize_yolov5: error: cannot read the calibration clips: {e}")
    if args.reuse and os.path.exists(args.out_pt):
        print(f"quantize_yolov5: measuring the existing {args.out_pt}")
        qmodel = None
    else:
        with torch.no_grad():
            traced = torch.jit.trace(model, calib[:1], check_trace=False)
        qmodel = quantize(traced, args.engine, args.per_tensor, args.observer, not args.quantize_head,
                          args.float_convs, calib)
    if qmodel is not None:
        tmp = f"{args.out_pt}.{os.getpid()}.tmp"
        torch.jit.save(qmodel, tmp)
        os.replace(tmp, args.out_pt)
        print(f"quantize_yolov5: wrote {args.out_pt} ({args.engine}, "
              f"{'per-tensor' if args.per_tensor else 'per-channel'} weights, {args.observer} activations, "
              f"head {'INT8' if args.quantize_head else 'float'}, float convs {args.float_convs}, "
              f"{folded} pads folded, {len(calib)} calibration frames from {len(args.clips)} clips) in {time.time() - t0:.1f} s")
    if not (args.bench or args.f1):
        return

    qmodel = torch.jit.load(args.out_pt)  # what vidsift will load
    fp32 = torch.jit.trace(convert_yolov5.YoloV5(args.model_json).eval(), calib[:1], check_trace=False)
    frames = frames_of(args.clips, args.eval_every, args.eval_every // 2, args.eval_max)
    report = {"engine": args.engine, "per_tensor": args.per_tensor, "observer": args.observer,
              "quantize_head": args.quantize_head, "float_convs": args.float_convs, "calibration_frames": len(calib),
              "threads": args.threads, "load_before": os.getloadavg()}
    if args.f1:
        reference = fp32
        if args.reference_cache:
            if os.path.exists(args.reference_cache):
                with open(args.reference_cache) as f:
                    reference = [[tuple(d) for d in frame] for frame in json.load(f)]
            else:
                reference = detections(fp32, frames)
                with open(args.reference_cache, "w") as f:
                    json.dump(reference, f)
        report["f1_vs_fp32"] = f1_against(reference, qmodel, frames)
        print(json.dumps(report["f1_vs_fp32"]))
    if args.bench:
        optimized = torch.jit.optimize_for_inference(torch.jit.freeze(fp32.eval()))
        res = bench([("fp32", fp32), ("fp32-optimize", optimized), ("int8", qmodel)], frames,
                    (1, 4), args.rounds, args.calls)
        for (name, b), (mn, med) in sorted(res.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            base_min, base_med = res[("fp32", b)]
            print(f"batch {b} {name:14s} min {mn:7.1f} ms/frame  median {med:7.1f}  "
                  f"vs fp32 {base_min / mn:.2f}x / {base_med / med:.2f}x")
        report["bench"] = {f"{n}@{b}": v for (n, b), v in res.items()}
    report["load_after"] = os.getloadavg()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
