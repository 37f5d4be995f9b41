"""Export the image tower of a CLIP model folder to ONNX (dynamic batch).

    python3 bench/export_onnx.py MODEL_DIR OUT.onnx [CHECK_PREFIX GOLDEN_DIR]

With CHECK_PREFIX, also writes CHECK_PREFIX.in.f32 (the pixel values of
the kit's images, GOLDEN_DIR/pixels.safetensors in inputs.json's order),
CHECK_PREFIX.out.f32 (PyTorch's float32 image_embeds of them) and
CHECK_PREFIX.images.json (their names), raw little-endian float32, so the
other engines' runs can show how far they are from PyTorch's float32.
"""
import json
import sys

import torch

import clipvision


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    check, golden = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)
    m, v = clipvision.load(model_dir)
    s = v["image_size"]
    example = torch.randn(2, v["num_channels"], s, s, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.onnx.export(m, (example,), out, input_names=["pixel_values"], output_names=["image_embeds"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
                          opset_version=14, do_constant_folding=True)
        if check:
            with open(f"{golden}/inputs.json") as f:
                names = json.load(f)["images"]
            px = clipvision.read_safetensors(f"{golden}/pixels.safetensors", prefixes=("",))
            x = torch.stack([px[n] for n in names])
            x.numpy().tofile(check + ".in.f32")
            m(x).numpy().tofile(check + ".out.f32")
            with open(check + ".images.json", "w") as f:
                json.dump(names, f)
    print(f"exported {out} (opset 14, torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
