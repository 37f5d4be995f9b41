"""Time CLIP preprocessing with PIL the way goclip bench times its own: the
JPEGs of a folder held in memory, decoded and preprocessed one at a time on
one thread; one warm-up pass, then passes until the duration has passed and
at least 3 were timed; median and minimum per image. Prints one JSON
object.

    python3 bench/pil_preprocess.py JPEG_DIR [--duration 3] [--check PIXELS.f32]

The rules are CLIPImageProcessor's (slow, PIL) defaults, written with PIL
and numpy directly so that only the work is timed, not transformers'
bookkeeping: convert("RGB"), shortest edge to 224 with PIL's bicubic,
centre crop 224, rescale by 1/255 in float64, normalise with OpenAI's mean
and std, channels first as float32. --check writes the first image's
pixels there (raw little-endian float32) so a run can compare them with
goclip's.
"""
import argparse
import io
import json
import os
import statistics
import sys
import time

import numpy as np
import PIL
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
SIZE = CROP = 224
MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def pixels(data):
    im = Image.open(io.BytesIO(data))
    if im.mode != "RGB":
        im = im.convert("RGB")
    w, h = im.size
    if w <= h:
        nw, nh = SIZE, int(SIZE * h / w)
    else:
        nw, nh = int(SIZE * w / h), SIZE
    im = im.resize((nw, nh), resample=Image.BICUBIC)
    a = np.asarray(im)
    if nw < CROP or nh < CROP:
        raise ValueError("image smaller than the crop: not a case this benchmark measures")
    top, left = (nh - CROP) // 2, (nw - CROP) // 2
    a = a[top:top + CROP, left:left + CROP]
    x = (a.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def main():
    if any(os.environ.get(k) != v for k, v in MALLOC.items()):
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC})
    ap = argparse.ArgumentParser()
    ap.add_argument("jpeg_dir")
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--check")
    a = ap.parse_args()
    names = sorted(n for n in os.listdir(a.jpeg_dir) if n.lower().endswith((".jpg", ".jpeg")))
    if not names:
        raise SystemExit(f"pil_preprocess: no JPEGs in {a.jpeg_dir}")
    data = []
    for n in names:
        with open(os.path.join(a.jpeg_dir, n), "rb") as f:
            data.append(f.read())
    if a.check:
        pixels(data[0]).tofile(a.check)
    for d in data:  # warm-up
        pixels(d)
    times = []
    while len(times) < 3 or sum(times) < a.duration:
        t0 = time.perf_counter()
        for d in data:
            pixels(d)
        times.append(time.perf_counter() - t0)
    print(json.dumps(dict(engine="pil", version=PIL.__version__, numpy=np.__version__, images=len(data),
                          runs=len(times), median_ms_per_image=statistics.median(times) * 1000 / len(data),
                          min_ms_per_image=min(times) * 1000 / len(data),
                          malloc=" ".join(f"{k}={v}" for k, v in MALLOC.items()))))


if __name__ == "__main__":
    main()
