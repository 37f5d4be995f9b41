"""CLIP's image tower (Hugging Face CLIPVisionModel + visual_projection) as a
torch.nn.Module whose parameter names are those of model.safetensors, so the
checkpoint loads with load_state_dict and the ONNX export and the PyTorch
timings run exactly the weights goclip runs.

Only the standard library, numpy and torch are needed (Debian's
python3-torch and python3-numpy): model.safetensors is read by hand.
"""
import json
import struct

import numpy as np
import torch
from torch import nn

# CLIPVisionConfig defaults: a config.json may omit any of them.
VISION_DEFAULTS = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                       num_attention_heads=12, num_channels=3, image_size=224, patch_size=32,
                       hidden_act="quick_gelu", layer_norm_eps=1e-5)


def load_config(path):
    """Vision config and projection size of a CLIP config.json."""
    with open(path) as f:
        raw = json.load(f)
    v = dict(VISION_DEFAULTS)
    v.update({k: x for k, x in raw.get("vision_config", {}).items() if k in VISION_DEFAULTS})
    return v, raw.get("projection_dim", 512)


def read_safetensors(path, prefixes=("vision_model.", "visual_projection.")):
    """The float tensors of a safetensors file whose names start with prefixes."""
    dtypes = {"F32": np.float32, "F16": np.float16}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, meta in header.items():
            if name == "__metadata__" or not name.startswith(prefixes):
                continue
            a, b = meta["data_offsets"]
            f.seek(base + a)
            raw = f.read(b - a)
            if meta["dtype"] == "BF16":
                u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
                arr = u.view(np.float32)
            else:
                arr = np.frombuffer(raw, dtype=dtypes[meta["dtype"]]).astype(np.float32)
            out[name] = torch.from_numpy(arr.copy()).reshape(meta["shape"])
    return out


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, n, d = x.shape
        q = self.q_proj(x) * self.hd ** -0.5
        k, v = self.k_proj(x), self.v_proj(x)
        q, k, v = (t.reshape(b, n, self.heads, self.hd).transpose(1, 2) for t in (q, k, v))
        a = (q @ k.transpose(-1, -2)).softmax(-1) @ v
        return self.out_proj(a.transpose(1, 2).reshape(b, n, d))


class MLP(nn.Module):
    def __init__(self, d, inner, act):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, inner), nn.Linear(inner, d)
        self.act = QuickGELU() if act == "quick_gelu" else nn.GELU()

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Layer(nn.Module):
    """A pre-LayerNorm transformer block (CLIPEncoderLayer)."""

    def __init__(self, v):
        super().__init__()
        d, eps = v["hidden_size"], v["layer_norm_eps"]
        self.layer_norm1, self.layer_norm2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.self_attn = Attention(d, v["num_attention_heads"])
        self.mlp = MLP(d, v["intermediate_size"], v["hidden_act"])

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, v):
        super().__init__()
        self.layers = nn.ModuleList(Layer(v) for _ in range(v["num_hidden_layers"]))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Embeddings(nn.Module):
    def __init__(self, v):
        super().__init__()
        d, p = v["hidden_size"], v["patch_size"]
        n = (v["image_size"] // p) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.zeros(d))
        self.patch_embedding = nn.Conv2d(v["num_channels"], d, p, stride=p, bias=False)
        self.position_embedding = nn.Embedding(n, d)

    def forward(self, pixels):
        x = self.patch_embedding(pixels).flatten(2).transpose(1, 2)  # [B, patches, d]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        return torch.cat([cls, x], dim=1) + self.position_embedding.weight


class VisionModel(nn.Module):
    def __init__(self, v):
        super().__init__()
        d, eps = v["hidden_size"], v["layer_norm_eps"]
        self.embeddings = Embeddings(v)
        self.pre_layrnorm = nn.LayerNorm(d, eps=eps)  # sic: Hugging Face's name
        self.encoder = Encoder(v)
        self.post_layernorm = nn.LayerNorm(d, eps=eps)

    def forward(self, pixels):
        x = self.encoder(self.pre_layrnorm(self.embeddings(pixels)))
        return self.post_layernorm(x[:, 0])


class ImageTower(nn.Module):
    """pixel_values [B,3,S,S] -> CLIPModel's projected, unnormalised image_embeds [B,P]."""

    def __init__(self, v, projection_dim):
        super().__init__()
        self.vision_model = VisionModel(v)
        self.visual_projection = nn.Linear(v["hidden_size"], projection_dim, bias=False)

    def forward(self, pixel_values):
        return self.visual_projection(self.vision_model(pixel_values))


def load(model_dir):
    """The image tower of a Hugging Face style CLIP folder, in eval mode."""
    v, proj = load_config(f"{model_dir}/config.json")
    m = ImageTower(v, proj)
    m.load_state_dict(read_safetensors(f"{model_dir}/model.safetensors"), strict=True)
    return m.eval(), v
