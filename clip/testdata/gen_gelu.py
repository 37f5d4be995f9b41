"""Writes tiny-synth-gelu.safetensors: the kit's tiny synthetic model run with
hidden_act "gelu" (exact erf GELU, as LAION/OpenCLIP models use) in both towers,
by the kit's PyTorch reference (tools/clipref.py of the CLIP reference kit).

    /usr/bin/python3 clip/testdata/gen_gelu.py /path/to/clip-reference/tools

Run from the repository root. Tensors: image_embeds [29,24] from the kit's golden
pixels, text_embeds [17,24] from inputs.json's prompt ids.
"""
import json
import sys

import torch

sys.path.insert(0, sys.argv[1])
import clipref  # noqa: E402

KIT = "testdata/kit/"
cfg = clipref.load_config(KIT + "models/tiny-synth/config.json")
cfg["text"]["hidden_act"] = "gelu"
cfg["vision"]["hidden_act"] = "gelu"
sd = clipref.read_safetensors(KIT + "models/tiny-synth/model.safetensors")
with open(KIT + "golden/inputs.json") as f:
    inputs = json.load(f)
px = clipref.read_safetensors(KIT + "golden/pixels.safetensors")
pixels = torch.stack([px[n] for n in inputs["images"]])
with torch.no_grad():
    img = clipref.image_embeds(sd, cfg, pixels)
    txt = torch.cat([clipref.text_embeds(sd, cfg, torch.tensor([ids])) for ids in inputs["prompt_ids"]])
clipref.write_safetensors("clip/testdata/tiny-synth-gelu.safetensors",
                          {"image_embeds": img, "text_embeds": txt}, metadata={"hidden_act": "gelu"})
