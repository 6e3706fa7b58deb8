#!/usr/bin/python3
"""make_test_models.py OUTDIR: writes tiny deterministic TorchScript models (+ manifests and
coco.labels) for the C tests of vidsift's decoders. Run with Debian's /usr/bin/python3.

Every model takes float32 NCHW [N,3,64,64] (N dynamic) and ignores the picture except for one
number per image:  k = clamp(mean of that image's input tensor, 0, 1).
With the manifests' scale 1/255 (mean 0, std 1), a white frame gives k = 1, a black one k = 0.
Every score below is multiplied by k; boxes do not depend on the input.
The expected detections are listed in models/README.md ("Test models").

  tiny_yolov5      [N,12,85]   rows cx,cy,w,h,objectness, 80 class scores (input pixels)
  tiny_yolov8      [N,84,12]   cx,cy,w,h, 80 class scores (no objectness), anchors last
  tiny_centernet   heatmap [N,80,16,16] (already sigmoid), boxes [N,4,16,16] (l,t,r,b), stride 4
  tiny_badshape    [N,7] under a yolov5 manifest: must be refused with a clear error
  tiny_centernet_badclasses  heatmap [N,10,16,16] under a manifest saying 80 classes: refused
"""

import json
import os
import shutil
import sys

import torch

SIZE = 64
CLASSES = 80
ANCHORS = 12

# (cx, cy, w, h, objectness, {class: score}) in 64x64 input pixels. The YOLOv5 confidence of a
# row is objectness * class score; YOLOv8 gets that product directly as its class score.
ROWS = [
    (16, 16, 8, 8, 0.9, {0: 0.8}),              # person 0.72, box [12,12,20,20]
    (17, 16, 8, 8, 0.9, {0: 0.7}),              # person 0.63, IoU 0.78 with row 0: suppressed
    (48, 16, 16, 8, 0.8, {2: 0.75, 7: 0.5}),    # car 0.60 (truck 0.40 loses the argmax)
    (32, 48, 20, 12, 0.5, {79: 0.8}),           # toothbrush 0.40, box [22,42,42,54]
    (32, 48, 20, 12, 0.5, {1: 0.6}),            # bicycle 0.30, same box as row 3
    (8, 56, 6, 6, 0.1, {5: 0.9}),               # bus 0.09: under every threshold
]


def image_factor(x):
    return torch.clamp(x.mean(dim=(1, 2, 3)), 0.0, 1.0)


class TinyYolo5(torch.nn.Module):
    def __init__(self):
        super().__init__()
        table = torch.zeros(ANCHORS, 5 + CLASSES)
        for i, (cx, cy, w, h, obj, classes) in enumerate(ROWS):
            table[i, :5] = torch.tensor([cx, cy, w, h, obj])
            for c, s in classes.items():
                table[i, 5 + c] = s
        mask = torch.zeros(5 + CLASSES)
        mask[4] = 1.0  # only objectness scales with k
        self.register_buffer("table", table)
        self.register_buffer("mask", mask)

    def forward(self, x):
        k = image_factor(x).reshape(-1, 1, 1)
        return self.table.unsqueeze(0) * (1.0 + (k - 1.0) * self.mask)


class TinyYolo8(torch.nn.Module):
    def __init__(self):
        super().__init__()
        table = torch.zeros(4 + CLASSES, ANCHORS)
        for i, (cx, cy, w, h, obj, classes) in enumerate(ROWS):
            table[:4, i] = torch.tensor([cx, cy, w, h], dtype=torch.float32)
            for c, s in classes.items():
                table[4 + c, i] = torch.tensor(obj, dtype=torch.float32) * torch.tensor(s, dtype=torch.float32)
        mask = torch.zeros(4 + CLASSES, 1)
        mask[4:] = 1.0  # class scores scale with k
        self.register_buffer("table", table)
        self.register_buffer("mask", mask)

    def forward(self, x):
        k = image_factor(x).reshape(-1, 1, 1)
        return self.table.unsqueeze(0) * (1.0 + (k - 1.0) * self.mask)


# CenterNet cells: (class, x, y, score, (l, t, r, b) or None to keep the default 4,4,4,4).
# Box = 4*(x, y) -+ (l, t, r, b), as for the real model.
CELLS = [
    (0, 4, 4, 0.72, None),               # person 0.72 [12,12,20,20]
    (0, 5, 4, 0.63, None),               # next to a higher cell of its class: not a peak
    (2, 12, 4, 0.60, (8, 4, 8, 4)),      # car 0.60 [40,12,56,20]
    (7, 12, 4, 0.40, None),              # truck 0.40, same cell: same box, NMS drops it
    (79, 8, 12, 0.40, (10, 6, 10, 6)),   # toothbrush 0.40 [22,42,42,54]
    (1, 8, 12, 0.30, None),              # bicycle 0.30, same box: NMS drops it
    (5, 2, 14, 0.09, None),              # bus 0.09: under the threshold
]


class TinyCenterNet(torch.nn.Module):
    def __init__(self, classes=CLASSES):
        super().__init__()
        grid = SIZE // 4
        heat = torch.zeros(classes, grid, grid)
        boxes = torch.full((4, grid, grid), 4.0)
        for c, x, y, s, ltrb in CELLS:
            if c < classes:
                heat[c, y, x] = s
            if ltrb is not None:
                boxes[:, y, x] = torch.tensor(ltrb, dtype=torch.float32)
        self.register_buffer("heat", heat)
        self.register_buffer("boxes", boxes)

    def forward(self, x):
        k = image_factor(x).reshape(-1, 1, 1, 1)
        n = x.shape[0]
        return self.heat.unsqueeze(0) * k, self.boxes.unsqueeze(0).expand(n, -1, -1, -1).contiguous()


class BadShape(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3)).repeat(1, 3)[:, :7]  # [N,7]


def manifest(name, decoder, outputs, **extra):
    m = {"name": name, "file": f"{name}.pt",
         "input": {"width": SIZE, "height": SIZE, "layout": "nchw", "colour": "rgb",
                   "scale": 1.0 / 255.0, "mean": [0, 0, 0], "std": [1, 1, 1], "resize": "stretch"},
         "decoder": decoder, "outputs": outputs}
    m.update(extra)
    m.update({"labels": "coco.labels", "classes": CLASSES})
    m.update({k: v for k, v in (("conf", 0.25), ("iou", 0.45), ("max_detections", 100),
                                ("class_agnostic_nms", False)) if k not in m})
    m["source"] = "models/make_test_models.py"
    return m


def save(out, name, module, man):
    scripted = torch.jit.script(module)
    # Dynamic batch: the same model answers batch 1 and 3, image by image.
    x = torch.stack([torch.full((3, SIZE, SIZE), v) for v in (1.0, 0.5, 0.0)])
    many = scripted(x)
    one = scripted(x[1:2])
    many = many if isinstance(many, tuple) else (many,)
    one = one if isinstance(one, tuple) else (one,)
    for a, b in zip(many, one):
        assert torch.equal(a[1:2], b), name
    scripted.save(os.path.join(out, f"{name}.pt"))
    with open(os.path.join(out, f"{name}.manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
        f.write("\n")
    shapes = ", ".join(str(list(t.shape)) for t in one)
    print(f"make_test_models: {name}.pt outputs {shapes} for batch 1")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_test_models.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    shutil.copyfile(os.path.join(here, "coco.labels"), os.path.join(out, "coco.labels"))
    save(out, "tiny_yolov5", TinyYolo5(), manifest("tiny_yolov5", "yolov5", ["detections"]))
    save(out, "tiny_yolov8", TinyYolo8(), manifest("tiny_yolov8", "yolov8", ["detections"]))
    save(out, "tiny_centernet", TinyCenterNet(),
         manifest("tiny_centernet", "centernet", ["heatmap", "boxes"], stride=4, conf=0.2, iou=0.4,
                  class_agnostic_nms=True))
    save(out, "tiny_badshape", BadShape(), manifest("tiny_badshape", "yolov5", ["detections"]))
    save(out, "tiny_centernet_badclasses", TinyCenterNet(classes=10),
         manifest("tiny_centernet_badclasses", "centernet", ["heatmap", "boxes"], stride=4, conf=0.2,
                  iou=0.4, class_agnostic_nms=True))


if __name__ == "__main__":
    main()
