"""Export the image tower of a CLIP model folder to ONNX (dynamic batch).

    python3 bench/export_onnx.py MODEL_DIR OUT.onnx [CHECK_PREFIX]

With CHECK_PREFIX, also writes CHECK_PREFIX.in.f32 (two seeded random
images) and CHECK_PREFIX.out.f32 (PyTorch's embeddings of them), raw
little-endian float32, so the ONNX Runtime run can show it computes the
same thing.
"""
import sys

import torch

import clipvision


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    check = sys.argv[3] if len(sys.argv) > 3 else None
    m, v = clipvision.load(model_dir)
    s = v["image_size"]
    example = torch.randn(2, v["num_channels"], s, s, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.onnx.export(m, (example,), out, input_names=["pixel_values"], output_names=["image_embeds"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
                          opset_version=14, do_constant_folding=True)
        if check:
            example.numpy().tofile(check + ".in.f32")
            m(example).numpy().tofile(check + ".out.f32")
    print(f"exported {out} (opset 14, torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
