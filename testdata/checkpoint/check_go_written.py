#!/usr/bin/python3
"""Check files written by goclip's checkpoint package with real torch.

Usage: check_go_written.py DIR, where DIR holds {F32,F16,BF16}.bin (WritePyTorch) and
{F32,F16,BF16}.safetensors (WriteSafetensors) of the same tensors. Each .bin must load with
torch.load(weights_only=True) as an OrderedDict of contiguous tensors of the right dtype, and
equal the matching safetensors file (parsed by hand), and the F16/BF16 files must equal torch's
own .half()/.bfloat16() of the F32 file.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

NP = {"F32": np.float32, "F16": np.float16, "BF16": np.int16}
TORCH = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0, "header not padded to 8"
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(body[b:e], dtype=NP[info["dtype"]]).reshape(info["shape"]).copy()
        t = torch.from_numpy(arr)
        if info["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        out[name] = t
    return out


def main(d):
    ref = torch.load(os.path.join(d, "F32.bin"), weights_only=True)
    for dt in ["F32", "F16", "BF16"]:
        sd = torch.load(os.path.join(d, dt + ".bin"), weights_only=True)
        assert type(sd).__name__ == "OrderedDict", type(sd)
        st = read_safetensors(os.path.join(d, dt + ".safetensors"))
        assert list(sd.keys()) == sorted(st.keys()), "names differ"
        for k, v in sd.items():
            assert v.dtype == TORCH[dt] and v.is_contiguous(), (k, v.dtype)
            assert torch.equal(v, st[k]), k
            want = ref[k].to(TORCH[dt])
            assert torch.equal(v, want), ("rounding differs from torch", k)
        print(dt, len(sd), "tensors ok")


if __name__ == "__main__":
    main(sys.argv[1])
