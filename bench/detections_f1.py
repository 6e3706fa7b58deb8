#!/usr/bin/env python3
"""detections_f1.py REFERENCE.jsonl CANDIDATE.jsonl [--iou 0.5]

Compares two detection tables (`vidsift export --format jsonl` of two runs on the
same videos): per video and frame, each candidate box is matched greedily, best
score first, to the unmatched reference box of the same class with the highest IoU
at or above --iou. Prints one JSON line: reference and candidate box counts,
matches, precision, recall and F1 (1.0 when both tables are empty), and the largest
score difference over matched pairs. Videos are keyed by path, so the two runs may
number them differently."""
import argparse
import collections
import json
import sys


def load(path):
    frames = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                frames[(d["video"], d["frame_index"])].append((d["class_id"], d["score"], d["box"]))
    return frames


def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_frame(reference, candidate, threshold):
    """One frame's boxes, each (class, score, box): candidates best score first, each to the
    unmatched reference box of its class with the highest IoU >= threshold. Returns (matched,
    largest score difference over matched pairs)."""
    free = list(reference)
    matched, score_diff = 0, 0.0
    for cls, score, box in sorted(candidate, key=lambda b: -b[1]):
        best, best_iou = None, threshold
        for i, (rcls, rscore, rbox) in enumerate(free):
            overlap = iou(box, rbox)
            if rcls == cls and overlap >= best_iou:
                best, best_iou = i, overlap
        if best is not None:
            score_diff = max(score_diff, abs(free[best][1] - score))
            free.pop(best)
            matched += 1
    return matched, score_diff


def summary(n_ref, n_cand, matched, score_diff):
    """The figures printed: box counts, matches, precision, recall, F1, largest score difference."""
    precision = matched / n_cand if n_cand else 1.0
    recall = matched / n_ref if n_ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"reference": n_ref, "candidate": n_cand, "matched": matched,
            "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "max_score_diff": round(score_diff, 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reference")
    ap.add_argument("candidate")
    ap.add_argument("--iou", type=float, default=0.5)
    args = ap.parse_args()
    ref, cand = load(args.reference), load(args.candidate)
    n_ref = sum(len(v) for v in ref.values())
    n_cand = sum(len(v) for v in cand.values())
    matched, score_diff = 0, 0.0
    for key, boxes in cand.items():
        m, d = match_frame(ref.get(key, []), boxes, args.iou)
        matched, score_diff = matched + m, max(score_diff, d)
    print(json.dumps(summary(n_ref, n_cand, matched, score_diff)))


if __name__ == "__main__":
    sys.exit(main())
