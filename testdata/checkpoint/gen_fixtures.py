#!/usr/bin/python3
"""Generate the PyTorch fixtures of goclip's checkpoint package with real torch.save.

Run from the repository root with Debian's python3-torch (torch 1.13 was used):

    /usr/bin/python3 testdata/checkpoint/gen_fixtures.py

Outputs (all in testdata/checkpoint/):

  tiny-synth/pytorch_model.bin  the kit's tiny-synth state dict, float32, default zip format,
                                with the `_metadata` attribute a real Module.state_dict() has
  tiny-synth-f16.bin            every tiny-synth tensor except the token embedding, .half()
  tiny-synth-bf16.bin           the same, .bfloat16()
  views.bin                     strided / offset views, shared storages, a Parameter,
                                a 0-dim tensor, int64 and float64 tensors, an empty tensor
  views.json                    the expected contiguous values of views.bin
  convert.bin                   float32 edge values and torch's .half() / .bfloat16() of them
  evil-system.bin               a pickle whose global is os.system (posix.system)
  evil-eval.bin                 a pickle whose global is builtins.eval (__builtin__.eval in protocol 2)
  proto5.bin                    a small state dict pickled with protocol 5 (FRAME, MEMOIZE,
                                SHORT_BINUNICODE, STACK_GLOBAL, ...) instead of torch's default 2
  legacy.bin                    the pre-1.6 non-zip format (_use_new_zipfile_serialization=False)

The safetensors file is parsed by hand (json header + numpy) so that the `safetensors`
Python package is not needed.
"""
import builtins
import collections
import json
import os
import struct
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.abspath(__file__))
KIT = os.path.join(ROOT, "..", "kit", "models", "tiny-synth", "model.safetensors")

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n :]
    out = collections.OrderedDict()
    for name in sorted(header):
        info = header[name]
        b, e = info["data_offsets"]
        arr = np.frombuffer(body[b:e], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def with_metadata(sd):
    """Give sd the `_metadata` attribute nn.Module.state_dict() attaches (pickled via BUILD)."""
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("text_model", {"version": 1})])
    return sd


def out(name):
    p = os.path.join(ROOT, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


class EvilSystem:
    def __reduce__(self):
        return (os.system, ("echo goclip-checkpoint-test-pwned",))


class EvilEval:
    def __reduce__(self):
        return (builtins.eval, ("print('goclip-checkpoint-test-pwned')",))


def main():
    torch.manual_seed(0)
    sd = read_safetensors(KIT)
    torch.save(with_metadata(collections.OrderedDict(sd)), out("tiny-synth/pytorch_model.bin"))

    small = collections.OrderedDict(
        (k, v) for k, v in sd.items() if k != "text_model.embeddings.token_embedding.weight"
    )
    torch.save(collections.OrderedDict((k, v.half()) for k, v in small.items()), out("tiny-synth-f16.bin"))
    torch.save(
        collections.OrderedDict((k, v.bfloat16()) for k, v in small.items()), out("tiny-synth-bf16.bin")
    )

    # Views: all of them share storages with `base` or with each other.
    base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5) / 8 - 3
    views = collections.OrderedDict()
    views["base"] = base
    views["transposed"] = base.transpose(0, 2)  # non-contiguous, shape [5,4,3]
    views["sliced"] = base[1, 1:3, ::2]  # offset and strides, shape [2,3]
    views["row"] = base[2, 3]  # contiguous with an offset, shape [5]
    views["scalar"] = base[1, 2, 3]  # 0-dim, offset
    views["expanded"] = torch.tensor([1.0, 2.0]).unsqueeze(1).expand(2, 3)  # stride 0
    views["param"] = torch.nn.Parameter(torch.tensor([[0.5, -0.25], [8.0, 1e-3]]))
    half = torch.linspace(-2, 2, 12).half()
    views["half_base"] = half
    views["half_view"] = half[3:9].reshape(2, 3).t()  # shared half storage, transposed
    views["position_ids"] = torch.arange(7, dtype=torch.int64).unsqueeze(0)
    views["double"] = torch.tensor([1.0 / 3, -2.5, 1e-40], dtype=torch.float64)
    views["empty"] = torch.zeros(0, 4)
    torch.save(views, out("views.bin"))
    expect = {}
    for k, v in views.items():
        v = v.detach()
        expect[k] = {
            "dtype": str(v.dtype).replace("torch.", ""),
            "shape": list(v.shape),
            "values": v.contiguous().reshape(-1).double().tolist(),
        }
    with open(out("views.json"), "w") as f:
        json.dump(expect, f, indent=1)

    # Rounding cases: ties, subnormals, overflow, NaN, infinities, random values.
    edge = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, 1e6, -1e6, 6.1e-5, 5.96e-8, 2.98e-8,
            2.99e-8, 1e-9, 3.0e-5, 1.0009765625, 1.00048828125, 1.000732421875, 1.0 + 2**-11 + 2**-23,
            float("inf"), float("-inf"), float("nan"), 3.4028235e38, 1.17549435e-38, 1e-45,
            1.00390625, 1.005859375, 1.0078125 + 2**-9, 2.0**-14, 2.0**-24, 2.0**-25,
            2.0**-25 + 2.0**-40, 3 * 2.0**-26]
    rnd = torch.randn(4000) * torch.exp(torch.randn(4000) * 8)
    src = torch.cat([torch.tensor(edge, dtype=torch.float32), rnd.float()])
    conv = collections.OrderedDict(f32=src, f16=src.half(), bf16=src.bfloat16())
    torch.save(conv, out("convert.bin"))

    small2 = collections.OrderedDict(a=base[0], b=base[1:].transpose(0, 1), c=half[:4])
    torch.save(small2, out("proto5.bin"), pickle_protocol=5)
    torch.save(small2, out("legacy.bin"), _use_new_zipfile_serialization=False)

    torch.save({"weight": torch.ones(2), "evil": EvilSystem()}, out("evil-system.bin"))
    torch.save({"evil": EvilEval(), "weight": torch.ones(2)}, out("evil-eval.bin"))


if __name__ == "__main__":
    sys.exit(main())
