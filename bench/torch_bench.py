"""Time the image tower in PyTorch the way goclip bench times its own: one
warm-up run per batch size, then runs until the duration has passed and at
least 3 were timed; median and minimum per image. Prints one JSON object.

    python3 bench/torch_bench.py MODEL_DIR [--threads 2] [--batches 1,8,32] [--duration 3]
"""
import argparse
import json
import os
import statistics
import time

import torch

import clipvision


def blas_library():
    """The BLAS torch runs on: BLAS_INFO from its build config and, since
    Debian's build says "generic" (libblas.so.3 through the alternatives
    system), the file the process actually mapped after a matmul."""
    info = "unknown"
    for item in torch.__config__.show().replace("\n", ",").split(","):
        if "BLAS_INFO=" in item:
            info = item.split("BLAS_INFO=", 1)[1].strip()
    torch.ones(64, 64) @ torch.ones(64, 64)
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                name = os.path.basename(os.path.realpath(path))
                if "blas" in name.lower() and name != "libblas.so.3":
                    libs.add(name)
    except OSError:
        pass
    return f"{info} BLAS: {', '.join(sorted(libs))}" if libs else f"{info} BLAS"


def check_golden(m, golden):
    """Largest |Δ| between the tower and the kit's reference image_embeds on four images."""
    with open(f"{golden}/inputs.json") as f:
        names = json.load(f)["images"][:4]
    px = clipvision.read_safetensors(f"{golden}/pixels.safetensors", prefixes=("",))
    want = clipvision.read_safetensors(f"{golden}/vit-b-32-synth.safetensors", prefixes=("image_embeds",))["image_embeds"]
    got = m(torch.stack([px[n] for n in names]))
    return (got - want[: len(names)]).abs().max().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--golden", help="the kit's golden folder: check the tower against its ViT-B/32 image_embeds first")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m, v = clipvision.load(a.model_dir)
    s = v["image_size"]
    g = torch.Generator().manual_seed(3)
    out = dict(engine="pytorch", version=torch.__version__, threads=torch.get_num_threads(),
               blas=blas_library(),
               env={k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")},
               points=[])
    with torch.no_grad():
        if a.golden:
            out["golden_max_abs_diff"] = check_golden(m, a.golden)
        for b in [int(x) for x in a.batches.split(",")]:
            x = torch.randn(b, v["num_channels"], s, s, generator=g)
            m(x)  # warm-up
            times = []
            while len(times) < 3 or sum(times) < a.duration:
                t0 = time.perf_counter()
                m(x)
                times.append(time.perf_counter() - t0)
            out["points"].append(dict(batch=b, runs=len(times), median_ms_per_image=statistics.median(times) * 1000 / b,
                                      min_ms_per_image=min(times) * 1000 / b))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
