"""Print compare.sh's side-by-side table from the three engines' JSON.

    python3 bench/table.py GOCLIP.json ORT.json TORCH.json GOCLIP_LABEL

Cells are median ms/image; the ratio is engine time / ONNX Runtime time
(below 1 is faster than ONNX Runtime). A second table gives each point's
minimum and run count, so a noisy point shows.
"""
import json
import sys


def points(rows):
    return {p["batch"]: p for p in rows}


def main():
    g, o, t = (json.load(open(p)) for p in sys.argv[1:4])
    label = sys.argv[4]
    gp = points(dict(batch=p["batch"], runs=p["runs"], median_ms_per_image=p["median_ms_per_item"],
                     min_ms_per_image=p["min_ms_per_item"]) for p in g["image_tower"])
    engines = [
        (label, gp),
        (f"ONNX Runtime {o['version']} (npm onnxruntime-node, {o['threads']} threads)", points(o["points"])),
        (f"PyTorch {t['version']} (Debian python3-torch, {t['blas']}, {t['threads']} threads)", points(t["points"])),
    ]
    ort = engines[1][1]
    batches = sorted(set(gp) | set(ort) | set(points(t["points"])))
    print("| engine | " + " | ".join(f"batch {b}" for b in batches) + " |")
    print("|---|" + "---|" * len(batches))
    for name, pts in engines:
        cells = []
        for b in batches:
            p = pts.get(b)
            if p is None:
                cells.append("–")
                continue
            r = p["median_ms_per_image"] / ort[b]["median_ms_per_image"] if b in ort else float("nan")
            cells.append(f"{p['median_ms_per_image']:.1f} ms/image ({r:.2f}×)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    print("median ms/image (time ÷ ONNX Runtime's at the same batch); min ms/image and timed runs per point:")
    for name, pts in engines:
        cells = [f"b{b}: min {pts[b]['min_ms_per_image']:.1f}, {pts[b]['runs']} runs" for b in batches if b in pts]
        print(f"  {name.split(' (')[0]}: " + "; ".join(cells))
    if "golden_max_abs_diff" in t:
        print(f"  PyTorch tower vs the kit's reference image_embeds (4 images): max |Δ| {t['golden_max_abs_diff']:.2e}")
    if "check_max_abs_diff" in o:
        print(f"  ONNX Runtime vs PyTorch on two random images: max |Δ| {o['check_max_abs_diff']:.2e}")


if __name__ == "__main__":
    main()
