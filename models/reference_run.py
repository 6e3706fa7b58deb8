#!/usr/bin/env python3
"""reference_run.py MODEL.pt CLIP OUT.tsv: an independent reference run of the
default CenterNet over every frame of a clip, for comparing with vidsift's
rows frame by frame (tests/integration/run_reference.sh).

Independent of vidsift's C code: frames come from the ffmpeg CLI as RGB24 at
the source size (the same swscale conversion flags as vidsift, so the pixels
match), the resize is TF's legacy bilinear written here in numpy, the model
runs through Python's torch, and decoding + NMS are models/centernet_decode.py.
Writes one row per detection: frame, class, score, x1, y1, x2, y2 in source pixels.
"""
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
import centernet_decode  # noqa: E402

SIZE = 512


def frames(path):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", path],
                           check=True, capture_output=True, text=True).stdout.split(",")
    width, height = int(probe[0]), int(probe[1])
    ffmpeg = subprocess.Popen(["ffmpeg", "-v", "error", "-noautorotate", "-i", path,
                               "-sws_flags", "bilinear+accurate_rnd+full_chroma_int",
                               "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                              stdout=subprocess.PIPE)
    size = width * height * 3
    while True:
        data = ffmpeg.stdout.read(size)
        if len(data) < size:
            break
        yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
    ffmpeg.wait()


def taps(n_in, n_out):
    """TF's legacy sampling: source = i * (in / out), no half-pixel shift, in float32."""
    source = np.arange(n_out, dtype=np.float32) * np.float32(n_in / n_out)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, n_in - 1)
    return low, high, (source - low).astype(np.float32)


def resize_legacy(image):
    h, w, _ = image.shape
    y0, y1, ly = taps(h, SIZE)
    x0, x1, lx = taps(w, SIZE)
    img = image.astype(np.float32)
    top = img[y0][:, x0] + (img[y0][:, x1] - img[y0][:, x0]) * lx[None, :, None]
    bottom = img[y1][:, x0] + (img[y1][:, x1] - img[y1][:, x0]) * lx[None, :, None]
    return top + (bottom - top) * ly[:, None, None]


def main():
    model_path, clip, out_path = sys.argv[1:4]
    torch.set_num_threads(2)
    model = torch.jit.load(model_path).eval()
    with open(out_path, "w") as out, torch.no_grad():
        for index, image in enumerate(frames(clip)):
            h, w, _ = image.shape
            tensor = torch.from_numpy(resize_legacy(image).transpose(2, 0, 1).copy())[None]
            heatmap, boxes = model(tensor)
            rows = centernet_decode.detect(heatmap[0].numpy(), boxes[0].numpy())
            for x1, y1, x2, y2, score, cls in rows:
                sx, sy = w / SIZE, h / SIZE
                out.write(f"{index}\t{int(cls)}\t{score:.6f}\t{x1 * sx:.2f}\t{y1 * sy:.2f}"
                          f"\t{x2 * sx:.2f}\t{y2 * sy:.2f}\n")


if __name__ == "__main__":
    main()
