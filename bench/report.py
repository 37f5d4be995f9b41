"""Print compare.sh's table from the JSON files its runs left in one folder.

    python3 bench/report.py RESULTS_DIR

Every cell is a median ms per image (or per item); each ratio is goclip's
time over the other engine's at the same point, so below 1 means goclip
is faster. Below the table: each point's minimum and run count (a noisy
point shows), how far each engine's embeddings are from PyTorch's float32
ones on the kit's images, goclip's memory and load time, and its GFLOP/s
against the FMA peak it measured.
"""
import json
import os
import sys

import numpy as np


def load(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def centred_cosines(a, b):
    a = a - a.mean(0)
    b = b - b.mean(0)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


def goclip_accuracy(d, precision, want):
    """Worst centred cosine and max |Δ| of goclip embed's raw embeddings to PyTorch's."""
    p = os.path.join(d, f"goclip-embed-{precision}.jsonl")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        got = np.array([json.loads(line)["embedding"] for line in f], np.float64)
    if got.shape != want.shape:
        raise SystemExit(f"report: {p} holds {got.shape} embeddings, PyTorch's check {want.shape}")
    return centred_cosines(got, want).min(), np.abs(got - want).max()


def main():
    d = sys.argv[1]
    g32, g8 = load(d, "goclip-fp32.json"), load(d, "goclip-int8.json")
    e32, e8 = load(d, "goclip-e2e-fp32.json"), load(d, "goclip-e2e-int8.json")
    o32, o8 = load(d, "ort-fp32.json"), load(d, "ort-int8.json")
    torch, pil = load(d, "torch.json"), load(d, "pil.json")
    label = open(os.path.join(d, "label")).read().strip()

    mc = g32["machine"]
    print(f"machine: {mc['cpu']}, {mc['cores']} cores; features: {' '.join(mc['cpu_features']) or 'none'}; "
          f"goclip kernels {mc['kernels']}, int8 {mc['int8_kernels']}")
    print(f"load average at start of goclip's first run {mc['loadavg_start']}, at end of its last "
          f"{(e8 or e32 or g32)['machine']['loadavg_end']}")
    print(f"goclip: {label}; ONNX Runtime {o32['version']} (npm onnxruntime-node, {o32['threads']} threads); "
          f"PIL {pil['version']} with numpy {pil['numpy']}; PyTorch {torch['version']} ({torch['blas']})")
    print()

    rows = []  # (what, goclip point, other point, other's name)

    def tower(g, o, prec):
        gp = {p["batch"]: p for p in g["image_tower"]}
        op = {p["batch"]: p for p in o["points"]}
        for b in sorted(gp):
            oo = op.get(b)
            rows.append((f"image tower {prec}, batch {b}", gp[b]["median_ms_per_item"], gp[b]["min_ms_per_item"],
                         gp[b]["runs"], oo and oo["median_ms_per_image"], oo and oo["min_ms_per_image"],
                         oo and oo["runs"], f"ONNX Runtime {prec}"))

    tower(g32, o32, "fp32")
    if g8 and o8:
        tower(g8, o8, "int8")
    pp = g32.get("preprocess")
    if pp:
        rows.append(("512×512 JPEG → pixels, 1 thread", pp["median_ms_per_item"], pp["min_ms_per_item"], pp["runs"],
                     pil["median_ms_per_image"], pil["min_ms_per_image"], pil["runs"], "PIL + CLIPProcessor rules"))
    ob = {p["batch"]: p for p in o32["points"]}
    ob8 = {p["batch"]: p for p in o8["points"]} if o8 else {}
    for e, obp, prec in ((e32, ob, "fp32"), (e8, ob8, "int8")):
        if not e or 8 not in obp:
            continue
        x = e["end_to_end"]
        g = 1000 / x["images_per_s"]
        other = obp[8]["median_ms_per_image"] + pil["median_ms_per_image"]
        rows.append((f"end to end {prec} ({x['images']} JPEGs, {x['workers']} workers, batch {x['batch']})", g, None, 1,
                     other, None, None, f"ONNX Runtime {prec} batch 8 + PIL, one after the other"))

    print("| ms per image (median) | goclip | other engine | goclip ÷ other | other engine is |")
    print("|---|---|---|---|---|")
    for what, g, _, _, o, _, _, name in rows:
        ratio = f"**{g / o:.2f}×**" if o else "–"
        print(f"| {what} | {g:.1f} | {o:.1f} | {ratio} | {name} |" if o else f"| {what} | {g:.1f} | – | – | {name} |")
    tp = {p["batch"]: p for p in torch["points"]}
    print()
    print("min ms per image and timed runs, goclip / other:")
    for what, g, gmin, gruns, o, omin, oruns, _ in rows:
        if gmin is not None and omin is not None:
            print(f"  {what}: min {gmin:.1f} / {omin:.1f}, {gruns} / {oruns} runs")
    print("  PyTorch fp32 (for scale): " + "; ".join(f"batch {b} {p['median_ms_per_image']:.0f} ms/image"
                                                   for b, p in sorted(tp.items())))

    print()
    want = np.fromfile(os.path.join(d, "check.out.f32"), np.float32).astype(np.float64)
    names = load(d, "check.images.json")
    want = want.reshape(len(names), -1)
    print(f"distance to PyTorch's float32 image_embeds on the kit's {len(names)} images (worst centred cosine, max |Δ|):")
    for prec in ("fp32", "int8"):
        acc = goclip_accuracy(d, prec, want)
        if acc:
            print(f"  goclip {prec}: {acc[0]:.5f}, {acc[1]:.2e}")
    for name, o in (("fp32", o32), ("int8", o8)):
        if o and "check_worst_centred_cosine" in o:
            print(f"  ONNX Runtime {name}: {o['check_worst_centred_cosine']:.5f}, {o['check_max_abs_diff']:.2e}")
    if "golden_max_abs_diff" in torch:
        print(f"  (PyTorch's tower vs the kit's reference image_embeds: max |Δ| {torch['golden_max_abs_diff']:.2e})")

    print()
    for e, prec in ((e32, "fp32"), (e8, "int8")):
        if e and e.get("peak_rss_bytes"):
            print(f"goclip {prec}: model load {e['load_ms']:.0f} ms; peak RSS of load + the end-to-end eval "
                  f"{e['peak_rss_bytes'] / 1e6:.0f} MB")
    peak = g32.get("fma_peak_gflops")
    if peak:
        best = max(p["gflops"] for p in g32["image_tower"])
        print(f"goclip fp32 tower: best {best:.0f} GFLOP/s = {100 * best / peak:.0f}% of the FMA peak "
              f"goclip bench measured ({peak:.0f} GFLOP/s on {g32['threads']} threads)")


if __name__ == "__main__":
    main()
