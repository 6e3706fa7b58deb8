"""centernet_decode.py: reference decode of the CenterNet outputs (numpy), written from the graph
nodes of human's centernet.json (tower_0/max_pooling2d ... tower_0/detections) and from human's
src/object/centernet.ts (NMS). The C decoder follows models/README.md, which says the same.

decode_topk(heatmap[80,128,128], boxes[4,128,128], k) gives the graph's tower_0/detections rows
[x1, y1, x2, y2, score, class] for one image; nms() is human's post-processing.
"""

import numpy as np

STRIDE = 4


def peaks(heatmap):
    """heatmap * (heatmap == maxpool3x3_SAME(heatmap)), padding with -inf (TF's SAME max pool)."""
    c, h, w = heatmap.shape
    padded = np.full((c, h + 2, w + 2), -np.inf, np.float32)
    padded[:, 1:-1, 1:-1] = heatmap
    pooled = padded[:, 0:h, 0:w]
    for dy in range(3):
        for dx in range(3):
            pooled = np.maximum(pooled, padded[:, dy:dy + h, dx:dx + w])
    return heatmap * (heatmap == pooled).astype(np.float32)


def decode_topk(heatmap, boxes, k=100):
    """The graph's own decode: top-k over the NHWC-flattened peak map, index = (y*W + x)*C + c,
    ties to the lower index (TF TopKV2); box = 4*(x, y) -/+ boxes[:, y, x] (left, top, right,
    bottom distances in input pixels). Returns float32 [k, 6] rows x1, y1, x2, y2, score, class."""
    c, h, w = heatmap.shape
    flat = peaks(heatmap).transpose(1, 2, 0).reshape(-1)  # NHWC order, like tower_0/Reshape
    order = np.argsort(-flat, kind="stable")[:k]
    score = flat[order]
    cls = order % c
    x = (order // c) % w
    y = (order // c) // w
    d = boxes[:, y, x]  # [4, k]
    cx, cy = (STRIDE * x).astype(np.float32), (STRIDE * y).astype(np.float32)
    return np.stack([cx - d[0], cy - d[1], cx + d[2], cy + d[3], score, cls.astype(np.float32)],
                    axis=1).astype(np.float32)


def iou(a, b):
    """IoU of boxes [x1, y1, x2, y2] the way TF's NMS computes it (corners may be unordered)."""
    ax1, ax2 = min(a[0], a[2]), max(a[0], a[2])
    ay1, ay2 = min(a[1], a[3]), max(a[1], a[3])
    bx1, bx2 = min(b[0], b[2]), max(b[0], b[2])
    by1, by2 = min(b[1], b[3]), max(b[1], b[3])
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    iw = max(min(ax2, bx2) - max(ax1, bx1), 0.0)
    ih = max(min(ay2, by2) - max(ay1, by1), 0.0)
    inter = iw * ih
    return inter / (area_a + area_b - inter)


def nms(rows, iou_threshold=0.4, score_threshold=0.2, max_out=10):
    """Class-agnostic greedy NMS as tf.image.nonMaxSuppression: keep rows with score >
    score_threshold, highest score first (ties: lower index), drop a row whose IoU with a kept
    one is >= iou_threshold. Returns the kept row indices."""
    cand = [i for i in range(len(rows)) if rows[i][4] > score_threshold]
    cand.sort(key=lambda i: (-rows[i][4], i))
    kept = []
    for i in cand:
        if len(kept) >= max_out:
            break
        if all(iou(rows[i], rows[j]) < iou_threshold for j in kept):
            kept.append(i)
    return kept


def detect(heatmap, boxes, conf=0.2, iou_threshold=0.4, max_out=100, k=100):
    """What vidsift's decoder does for one image: graph decode + human's NMS.
    Returns rows [x1, y1, x2, y2, score, class] in 512-input pixels."""
    rows = decode_topk(heatmap, boxes, k)
    return rows[nms(rows, iou_threshold, conf, max_out)]
