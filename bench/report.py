"""Print compare.sh's table from the JSON files its runs left in one folder.

    python3 bench/report.py RESULTS_DIR

compare.sh times both engines once per round (files r1-*.json, r2-*.json,
...), one after the other. Each ratio is goclip's time over the other
engine's at the same point within one round, so below 1 means goclip is
faster; the table gives the median over the rounds of each engine's median
ms per image (or per item) and of the ratios, and each round's ratio, so a
host whose speed drifted shows. Below the table: each point's minimum and
run count over all rounds, how far each engine's embeddings are from
PyTorch's float32 ones on the kit's images, goclip's memory and load time,
and its GFLOP/s against the FMA peak it measured.
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


def rounds(d):
    """The round numbers compare.sh left in d, in order."""
    n = 0
    while os.path.exists(os.path.join(d, f"r{n + 1}-goclip-fp32.json")):
        n += 1
    if n == 0:
        raise SystemExit(f"report: no round's results (r1-goclip-fp32.json) in {d}")
    return range(1, n + 1)


class Row:
    """One line of the table: per round, goclip's and the other engine's
    median, and the minima and run counts over all rounds."""

    def __init__(self, what, name):
        self.what, self.name = what, name
        self.g, self.o = [], []
        self.gmin, self.omin, self.gruns, self.oruns = [], [], 0, 0

    def add(self, g, o, gmin=None, omin=None, gruns=0, oruns=0):
        if g is None or o is None:
            return
        self.g.append(g)
        self.o.append(o)
        if gmin is not None and omin is not None:
            self.gmin.append(gmin)
            self.omin.append(omin)
        self.gruns += gruns
        self.oruns += oruns


def main():
    d = sys.argv[1]
    rs = rounds(d)
    runs = {}  # (round, name) -> parsed JSON or None
    for r in rs:
        for name in ("goclip-fp32", "goclip-int8", "goclip-e2e-fp32", "goclip-e2e-int8", "ort-fp32", "ort-int8", "pil"):
            runs[r, name] = load(d, f"r{r}-{name}.json")
    first, last = rs[0], rs[-1]
    g32, o32, o8 = runs[first, "goclip-fp32"], runs[first, "ort-fp32"], runs[first, "ort-int8"]
    torch, pil = load(d, "torch.json"), runs[first, "pil"]
    label = open(os.path.join(d, "label")).read().strip()

    mc = g32["machine"]
    end = runs[last, "goclip-e2e-int8"] or runs[last, "goclip-e2e-fp32"] or runs[last, "goclip-fp32"]
    print(f"machine: {mc['cpu']}, {mc['cores']} cores; features: {' '.join(mc['cpu_features']) or 'none'}; "
          f"goclip kernels {mc['kernels']}, int8 {mc['int8_kernels']}")
    print(f"load average at start of goclip's first run {mc['loadavg_start']}, at end of its last "
          f"{end['machine']['loadavg_end']}")
    print(f"goclip: {label}; ONNX Runtime {o32['version']} (npm onnxruntime-node, {o32['threads']} threads); "
          f"PIL {pil['version']} with numpy {pil['numpy']}; PyTorch {torch['version']} ({torch['blas']})")
    print()

    rows = {}

    def row(what, name):
        if what not in rows:
            rows[what] = Row(what, name)
        return rows[what]

    for r in rs:
        for prec in ("fp32", "int8"):
            g, o = runs[r, f"goclip-{prec}"], runs[r, f"ort-{prec}"]
            if not g or not o:
                continue
            op = {p["batch"]: p for p in o["points"]}
            for gp in sorted(g["image_tower"], key=lambda p: p["batch"]):
                oo = op.get(gp["batch"])
                if oo:
                    row(f"image tower {prec}, batch {gp['batch']}", f"ONNX Runtime {prec}").add(
                        gp["median_ms_per_item"], oo["median_ms_per_image"], gp["min_ms_per_item"],
                        oo["min_ms_per_image"], gp["runs"], oo["runs"])
        g, p = runs[r, "goclip-fp32"], runs[r, "pil"]
        pp = g and g.get("preprocess")
        if pp and p:
            row("512×512 JPEG → pixels, 1 thread", "PIL + CLIPProcessor rules").add(
                pp["median_ms_per_item"], p["median_ms_per_image"], pp["min_ms_per_item"],
                p["min_ms_per_image"], pp["runs"], p["runs"])
        for prec in ("fp32", "int8"):
            e, o = runs[r, f"goclip-e2e-{prec}"], runs[r, f"ort-{prec}"]
            ob = {q["batch"]: q for q in o["points"]} if o else {}
            if not e or 8 not in ob or not p:
                continue
            x = e["end_to_end"]
            row(f"end to end {prec} ({x['images']} JPEGs, {x['workers']} workers, batch {x['batch']})",
                f"ONNX Runtime {prec} batch 8 + PIL, one after the other").add(
                1000 / x["images_per_s"], ob[8]["median_ms_per_image"] + p["median_ms_per_image"])

    med = lambda xs: float(np.median(xs))
    print("| ms per image (median of rounds) | goclip | other engine | goclip ÷ other | each round | other engine is |")
    print("|---|---|---|---|---|---|")
    for w in rows.values():
        ratios = [g / o for g, o in zip(w.g, w.o)]
        print(f"| {w.what} | {med(w.g):.1f} | {med(w.o):.1f} | **{med(ratios):.2f}×** | "
              f"{' / '.join(f'{x:.2f}' for x in ratios)} | {w.name} |")
    print()
    print("min ms per image and timed runs over all rounds, goclip / other:")
    for w in rows.values():
        if w.gmin:
            print(f"  {w.what}: min {min(w.gmin):.1f} / {min(w.omin):.1f}, {w.gruns} / {w.oruns} runs")
    tp = {p["batch"]: p for p in torch["points"]}
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
    for prec in ("fp32", "int8"):
        es = [e for e in (runs[r, f"goclip-e2e-{prec}"] for r in rs) if e and e.get("peak_rss_bytes")]
        if es:
            print(f"goclip {prec}: model load {med([e['load_ms'] for e in es]):.0f} ms (median of rounds); "
                  f"peak RSS of load + the end-to-end eval {max(e['peak_rss_bytes'] for e in es) / 1e6:.0f} MB "
                  f"(most of any round)")
    best = None  # (GFLOP/s, peak) of the round with the highest share
    for r in rs:
        g = runs[r, "goclip-fp32"]
        if g and g.get("fma_peak_gflops"):
            b = max(p["gflops"] for p in g["image_tower"])
            if best is None or b / g["fma_peak_gflops"] > best[0] / best[1]:
                best = (b, g["fma_peak_gflops"])
    if best:
        print(f"goclip fp32 tower: best {best[0]:.0f} GFLOP/s = {100 * best[0] / best[1]:.0f}% of the FMA peak "
              f"goclip bench measured in that round ({best[1]:.0f} GFLOP/s on {g32['threads']} threads)")


if __name__ == "__main__":
    main()
