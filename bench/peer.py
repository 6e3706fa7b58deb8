#!/usr/bin/python3
"""peer.py: the detection loop people write by hand in Python, which `vidsift run` replaces.

    /usr/bin/python3 bench/peer.py --model build/models/centernet.pt [--threads N]
        [--device cpu|cuda] [--out DIR] [--no-write] [--decoder centernet|yolov5] CLIP...

--decoder yolov5 (the default for a model file named yolov5*.pt, vidsift's default model):
letterbox to 512x512 as Ultralytics' scripts do (one scale, cv2.resize INTER_LINEAR, grey 114
centred), BGR -> RGB, /255, then score = objectness x best class probability > 0.25 and
per-class NMS dropping IoU > 0.45 (torch, offsetting each class's boxes apart).
The CenterNet path, below, is the default otherwise.

For each clip, frame after frame, on one thread of Python: read with OpenCV (cv2.VideoCapture),
stretch to 512x512, BGR -> RGB, float 0..255 NCHW, run the same TorchScript model as vidsift
(batch 1), decode the CenterNet outputs and run class-agnostic NMS (written here in torch: Debian
has no torchvision), draw boxes and labels with cv2.rectangle / cv2.putText and write the video
with cv2.VideoWriter (mp4v). Decode and NMS follow models/README.md ("Decode"): 3x3 max-pool
peaks, top-100 over the NHWC-flattened heatmap, box = 4*(x, y) -/+ boxes (left, top, right,
bottom, input pixels), score > 0.2, a box is dropped when its IoU with a kept one is >= 0.4,
at most 100 kept.

It is written the way such scripts usually are (no threads, no batching, no overlap); it is not
tuned, and must not be, or the comparison says nothing. The one setting it shares with vidsift
is the number of torch intra-op threads. Like vidsift, it runs the model once on zeros at load
time (vidsift's warmup), so that neither figure includes TorchScript's slow first call.

--no-write skips drawing and the video writer (decode, inference, decode+NMS only): the
counterpart of `vidsift run --no-annotate` (which still writes its SQLite rows; the peer
stores nothing in either mode).

Prints progress to stderr and, as its last line on stdout, one JSON object: frames, seconds (the
frame loop, writer included; model loading excluded), fps, load_seconds, detections, threads,
max_rss_bytes (resource.getrusage, this process).

Needs Debian's python3-torch, python3-numpy and python3-opencv (apt-get install python3-opencv).
"""

import argparse
import json
import os
import resource
import sys
import time

try:
    import cv2
except ImportError:
    sys.exit("peer.py: OpenCV for Python is missing: apt-get install python3-opencv")
import numpy as np
import torch

INPUT_SIZE = 512
STRIDE = 4
TOP_K = 100
CONF = 0.2
IOU = 0.4
MAX_DETECTIONS = 100
YOLO_CONF = 0.25
YOLO_IOU = 0.45


def load_labels(model_path):
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "coco.labels")
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return [str(i) for i in range(80)]


def preprocess(frame_bgr, device):
    """Stretch to 512x512 (bilinear), BGR -> RGB, float32 0..255, NCHW [1,3,512,512]."""
    resized = cv2.resize(frame_bgr, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
    rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    tensor = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float()
    return tensor.to(device)


def letterbox(frame_bgr, device):
    """Ultralytics' letterbox to 512x512; returns the tensor and (scale, pad_x, pad_y)."""
    h, w = frame_bgr.shape[:2]
    r = min(INPUT_SIZE / h, INPUT_SIZE / w)
    nw, nh = round(w * r), round(h * r)
    resized = cv2.resize(frame_bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    dw, dh = (INPUT_SIZE - nw) / 2, (INPUT_SIZE - nh) / 2
    top, left = round(dh - 0.1), round(dw - 0.1)
    padded = cv2.copyMakeBorder(resized, top, INPUT_SIZE - nh - top, left, INPUT_SIZE - nw - left,
                                cv2.BORDER_CONSTANT, value=(114, 114, 114))
    rgb = cv2.cvtColor(padded, cv2.COLOR_BGR2RGB)
    tensor = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    return tensor.to(device), (r, left, top)


def decode_yolov5(output):
    """output [1,A,85] -> (xyxy [K,4] in input pixels, scores [K], classes [K])."""
    rows = output[0]
    rows = rows[rows[:, 4] > YOLO_CONF]
    best, classes = rows[:, 5:].max(dim=1)
    scores = rows[:, 4] * best
    keep = scores > YOLO_CONF
    rows, scores, classes = rows[keep], scores[keep], classes[keep]
    half = rows[:, 2:4].abs() / 2
    xyxy = torch.cat([rows[:, 0:2] - half, rows[:, 0:2] + half], dim=1)
    order = torch.argsort(scores, descending=True)
    xyxy, scores, classes = xyxy[order], scores[order], classes[order]
    shifted = xyxy + classes.unsqueeze(1).float() * 4096.0  # per-class NMS in one pass
    keep = []
    alive = torch.ones(len(scores), dtype=torch.bool)
    for i in range(len(scores)):
        if not alive[i]:
            continue
        keep.append(i)
        if len(keep) == MAX_DETECTIONS:
            break
        alive &= box_iou(shifted[i], shifted) <= YOLO_IOU
        alive[i] = False
    return xyxy[keep], scores[keep], classes[keep]


def box_iou(box, boxes):
    """IoU of one box [4] with boxes [K,4] (x1, y1, x2, y2; corners min/max-ed as TF does)."""
    ax1, ax2 = torch.minimum(box[0], box[2]), torch.maximum(box[0], box[2])
    ay1, ay2 = torch.minimum(box[1], box[3]), torch.maximum(box[1], box[3])
    bx1, bx2 = torch.minimum(boxes[:, 0], boxes[:, 2]), torch.maximum(boxes[:, 0], boxes[:, 2])
    by1, by2 = torch.minimum(boxes[:, 1], boxes[:, 3]), torch.maximum(boxes[:, 1], boxes[:, 3])
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    iw = (torch.minimum(ax2, bx2) - torch.maximum(ax1, bx1)).clamp(min=0)
    ih = (torch.minimum(ay2, by2) - torch.maximum(ay1, by1)).clamp(min=0)
    inter = iw * ih
    iou = inter / (area_a + area_b - inter)
    return torch.where((area_a > 0) & (area_b > 0), iou, torch.zeros_like(iou))


def nms(boxes, scores):
    """Greedy, class-agnostic; scores sorted descending already. Returns kept indices."""
    keep = []
    alive = torch.ones(len(scores), dtype=torch.bool)
    for i in range(len(scores)):
        if not alive[i]:
            continue
        keep.append(i)
        if len(keep) == MAX_DETECTIONS:
            break
        alive &= box_iou(boxes[i], boxes) < IOU
        alive[i] = False
    return keep


def decode(heatmap, boxes):
    """heatmap [1,C,H,W], boxes [1,4,H,W] -> (xyxy [K,4] in input pixels, scores [K], classes [K])."""
    heatmap, boxes = heatmap[0], boxes[0]
    c, h, w = heatmap.shape
    pooled = torch.nn.functional.max_pool2d(heatmap.unsqueeze(0), 3, stride=1, padding=1)[0]
    peaks = heatmap * (heatmap == pooled).float()
    flat = peaks.permute(1, 2, 0).reshape(-1)  # NHWC order: idx = (y*W + x)*C + c
    scores, order = torch.topk(flat, TOP_K)
    classes = order % c
    x = (order // c) % w
    y = (order // c) // w
    d = boxes[:, y, x]  # [4, K]: left, top, right, bottom
    cx, cy = (STRIDE * x).float(), (STRIDE * y).float()
    xyxy = torch.stack([cx - d[0], cy - d[1], cx + d[2], cy + d[3]], dim=1)
    passed = scores > CONF
    xyxy, scores, classes = xyxy[passed], scores[passed], classes[passed]
    keep = nms(xyxy, scores)
    return xyxy[keep], scores[keep], classes[keep]


def draw(frame, xyxy, scores, classes, labels, geometry=None):
    height, width = frame.shape[:2]
    sx, sy = width / INPUT_SIZE, height / INPUT_SIZE
    for (x1, y1, x2, y2), score, cls in zip(xyxy.tolist(), scores.tolist(), classes.tolist()):
        if geometry:  # letterboxed: undo the padding, then the one scale
            r, left, top = geometry
            p1 = (int((x1 - left) / r), int((y1 - top) / r))
            p2 = (int((x2 - left) / r), int((y2 - top) / r))
        else:
            p1 = (int(x1 * sx), int(y1 * sy))
            p2 = (int(x2 * sx), int(y2 * sy))
        cv2.rectangle(frame, p1, p2, (0, 255, 0), 2)
        name = labels[cls] if cls < len(labels) else str(cls)
        cv2.putText(frame, f"{name} {score:.2f}", (p1[0], max(p1[1] - 4, 12)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 0), 1, cv2.LINE_AA)


def run_clip(path, model, device, labels, out_dir, annotate, yolo=False):
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise SystemExit(f"peer.py: {path}: OpenCV cannot open it")
    writer = None
    if annotate:
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        name = os.path.splitext(os.path.basename(path))[0] + ".mp4"
        writer = cv2.VideoWriter(os.path.join(out_dir, name), cv2.VideoWriter_fourcc(*"mp4v"),
                                 fps, (width, height))
        if not writer.isOpened():
            raise SystemExit(f"peer.py: {out_dir}/{name}: cv2.VideoWriter cannot write it")
    frames = detections = 0
    with torch.inference_mode():
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            geometry = None
            if yolo:
                tensor, geometry = letterbox(frame, device)
                xyxy, scores, classes = decode_yolov5(model(tensor).float().cpu())
            else:
                heatmap, boxes = model(preprocess(frame, device))
                xyxy, scores, classes = decode(heatmap.float().cpu(), boxes.float().cpu())
            detections += len(scores)
            if writer is not None:
                draw(frame, xyxy, scores, classes, labels, geometry)
                writer.write(frame)
            frames += 1
    capture.release()
    if writer is not None:
        writer.release()
    return frames, detections


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="TorchScript file (build/models/centernet.pt)")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--out", default="peer-out", help="directory for the annotated videos")
    parser.add_argument("--no-write", "--no-annotate", dest="no_write", action="store_true",
                        help="neither draw nor write videos")
    parser.add_argument("--decoder", choices=["centernet", "yolov5"], default=None,
                        help="the model's head (default: yolov5 for yolov5*.pt, else centernet)")
    parser.add_argument("clips", nargs="+")
    args = parser.parse_args()
    yolo = (args.decoder or ("yolov5" if os.path.basename(args.model).startswith("yolov5")
                             else "centernet")) == "yolov5"

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if not args.no_write:
        os.makedirs(args.out, exist_ok=True)
    device = torch.device(args.device)
    started = time.monotonic()
    model = torch.jit.load(args.model, map_location=device).eval()
    with torch.inference_mode():
        model(torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE, device=device))  # warmup, as vidsift's
    labels = load_labels(args.model)
    load_seconds = time.monotonic() - started

    started = time.monotonic()
    frames = detections = 0
    for clip in args.clips:
        n, d = run_clip(clip, model, device, labels, args.out, not args.no_write, yolo)
        print(f"peer: {clip}: {n} frames, {d} detections", file=sys.stderr)
        frames += n
        detections += d
    seconds = time.monotonic() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"frames": frames, "seconds": round(seconds, 3),
                      "fps": round(frames / seconds, 3) if seconds > 0 else 0,
                      "load_seconds": round(load_seconds, 3), "detections": detections,
                      "threads": torch.get_num_threads(), "max_rss_bytes": rss}))


if __name__ == "__main__":
    main()
