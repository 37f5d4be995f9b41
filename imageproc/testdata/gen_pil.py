"""Writes imageproc's PIL parity fixtures (run with Debian's python3-pil 9.4).

    CLIPREF=/path/to/clip-reference/tools /usr/bin/python3 gen_pil.py

For every file written to pil/, PIL's Image.open(f).convert("RGB") bytes go to
pil/expect.json.gz (base64), so the Go tests can check decoding byte for byte;
for resize_*.png, PIL's resize to several sizes with every filter; and the
reference CLIPImageProcessor pipeline (tools/clipref.py, needs torch) with
small sizes and crops larger than the resized image (zero padding).
Images are small and made from a fixed-seed random generator; PNGs are
written by hand to cover colour types and bit depths PIL cannot save.
"""
import base64
import gzip
import io
import json
import os
import random
import struct
import sys
import zlib

import warnings

from PIL import Image

warnings.simplefilter("ignore")  # PIL's advice on palette transparency

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pil")
rng = random.Random(1234)
expect = {"decode": {}, "resize": []}


def chunk(typ, data):
    c = struct.pack(">I", len(data)) + typ + data
    return c + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, nbits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(name, w, h, depth, ctype, pixels, plte=None, trns=None, interlace=False):
    """pixels[y][x] is a tuple of samples (channels of the colour type)."""
    raw = bytearray()
    if not interlace:
        for y in range(h):
            raw += b"\x00" + pack_row([s for px in pixels[y] for s in px], depth)
    else:
        for x0, y0, dx, dy in ADAM7:
            for y in range(y0, h, dy):
                row = [s for x in range(x0, w, dx) for s in pixels[y][x]]
                if row:
                    raw += b"\x00" + pack_row(row, depth)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    if plte is not None:
        data += chunk(b"PLTE", bytes(c for rgb in plte for c in rgb))
    if trns is not None:
        data += chunk(b"tRNS", trns)
    data += chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")
    save_bytes(name, data)


def save_bytes(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    im = Image.open(io.BytesIO(data))
    rgb = im.convert("RGB")
    expect["decode"][name] = {"w": rgb.size[0], "h": rgb.size[1], "mode": im.mode,
                              "rgb": base64.b64encode(rgb.tobytes()).decode()}


def save_pil(name, im, **kw):
    buf = io.BytesIO()
    im.save(buf, **kw)
    save_bytes(name, buf.getvalue())


def rand_pixels(w, h, channels, maxv):
    return [[tuple(rng.randint(0, maxv) for _ in range(channels)) for _ in range(w)] for _ in range(h)]


def smooth_rgb(w, h):
    """A smooth colour image with some noise: realistic for lossy codecs."""
    im = Image.new("RGB", (w, h))
    im.putdata([((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1),
                 (128 + rng.randint(-40, 40) + x + y) % 256) for y in range(h) for x in range(w)])
    return im


os.makedirs(OUT, exist_ok=True)
W, H = 13, 7
for depth in (1, 2, 4, 8, 16):
    write_png(f"gray{depth}.png", W, H, depth, 0, rand_pixels(W, H, 1, (1 << depth) - 1))
# 16-bit grey mostly below 256 so that PIL's clipping shows both sides.
write_png("gray16_low.png", W, H, 16, 0, [[(rng.choice([rng.randint(0, 255), rng.randint(0, 65535)]),) for _ in range(W)] for _ in range(H)])
write_png("gray16_trns.png", W, H, 16, 0, [[(rng.randint(0, 300),) for _ in range(W)] for _ in range(H)], trns=struct.pack(">H", 7))
write_png("gray8_trns.png", W, H, 8, 0, rand_pixels(W, H, 1, 255), trns=struct.pack(">H", 9))
write_png("rgb8.png", W, H, 8, 2, rand_pixels(W, H, 3, 255))
write_png("rgb16.png", W, H, 16, 2, rand_pixels(W, H, 3, 65535))
write_png("rgb8_trns.png", W, H, 8, 2, rand_pixels(W, H, 3, 255), trns=struct.pack(">HHH", 1, 2, 3))
write_png("rgb16_trns.png", W, H, 16, 2, rand_pixels(W, H, 3, 65535), trns=struct.pack(">HHH", 1, 2, 3))
write_png("ga8.png", W, H, 8, 4, rand_pixels(W, H, 2, 255))
write_png("ga16.png", W, H, 16, 4, rand_pixels(W, H, 2, 65535))
write_png("rgba8.png", W, H, 8, 6, rand_pixels(W, H, 4, 255))
write_png("rgba16.png", W, H, 16, 6, rand_pixels(W, H, 4, 65535))
write_png("rgb8_interlaced.png", 19, 11, 8, 2, rand_pixels(19, 11, 3, 255), interlace=True)
write_png("gray2_interlaced.png", 19, 11, 2, 0, rand_pixels(19, 11, 1, 3), interlace=True)
for depth in (1, 2, 4, 8):
    n = 1 << depth
    plte = [tuple(rng.randint(0, 255) for _ in range(3)) for _ in range(n)]
    write_png(f"pal{depth}.png", W, H, depth, 3, rand_pixels(W, H, 1, n - 1), plte=plte)
plte = [tuple(rng.randint(0, 255) for _ in range(3)) for _ in range(16)]
write_png("pal8_trns.png", W, H, 8, 3, rand_pixels(W, H, 1, 15), plte=plte, trns=bytes(rng.randint(0, 255) for _ in range(16)))
# Indices beyond a 5-entry PLTE: invalid, but PIL reads them (default palette).
write_png("pal8_short.png", W, H, 8, 3, rand_pixels(W, H, 1, 40), plte=plte[:5])

# GIF: a frame smaller than the screen, with a transparent index, a local table.
gif = bytearray(b"GIF89a" + struct.pack("<HHBBB", 11, 9, 0xF2, 0, 0))  # 8-colour global table
gif += bytes(rng.randint(0, 255) for _ in range(24))
gif += b"\x21\xf9\x04\x01\x00\x00\x03\x00"  # GCE: transparent index 3
gif += b"\x2c" + struct.pack("<HHHHB", 2, 1, 6, 5, 0x82)  # 6x5 at (2,1), local table of 8
gif += bytes(rng.randint(0, 255) for _ in range(24))
idx = bytes(rng.randint(0, 7) for _ in range(30))
# LZW with code size 3: emit clear code, then literal codes of 4 bits, resetting often.
codes, bits = [], []
clear, end = 8, 9
def lzw_literals(data):
    out, acc, n = bytearray(), 0, 0
    seq = []
    for i, b in enumerate(data):
        if i % 6 == 0:
            seq.append(clear)
        seq.append(b)
    seq.append(end)
    for c in seq:
        acc |= c << n
        n += 4
        while n >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            n -= 8
    if n:
        out.append(acc & 0xFF)
    return bytes(out)
lz = lzw_literals(idx)
gif += b"\x03" + bytes([len(lz)]) + lz + b"\x00\x3b"
save_bytes("frame_offset.gif", bytes(gif))
pim = Image.new("P", (W, H))
pim.putpalette([rng.randint(0, 255) for _ in range(3 * 256)])
pim.putdata([rng.randint(0, 255) for _ in range(W * H)])
save_pil("pal.gif", pim, format="GIF")

base = Image.frombytes("RGB", (W, H), bytes(rng.randint(0, 255) for _ in range(3 * W * H)))
save_pil("rgb24.bmp", base, format="BMP")
save_pil("pal8.bmp", pim, format="BMP")
save_pil("gray8.bmp", base.convert("L"), format="BMP")
save_pil("rgb.tif", base, format="TIFF")
save_pil("rgb_lzw.tif", base, format="TIFF", compression="tiff_lzw")
rgba = Image.frombytes("RGBA", (W, H), bytes(rng.randint(0, 255) for _ in range(4 * W * H)))
save_pil("rgba.tif", rgba, format="TIFF")
save_pil("gray.tif", base.convert("L"), format="TIFF")
save_pil("gray16.tif", Image.frombytes("I;16", (W, H), bytes(rng.choice([0, 0, 1]) if i % 2 else rng.randint(0, 255) for i in range(2 * W * H))), format="TIFF")
save_pil("pal.tif", pim, format="TIFF")
for w, h in ((37, 23), (36, 24), (1, 1), (2, 3)):
    save_pil(f"lossy_{w}x{h}.webp", smooth_rgb(w, h), format="WEBP", quality=70)
lossy_alpha = smooth_rgb(37, 23).convert("RGBA")
lossy_alpha.putalpha(Image.frombytes("L", (37, 23), bytes(rng.randint(0, 255) for _ in range(37 * 23))))
save_pil("lossy_alpha.webp", lossy_alpha, format="WEBP", quality=70)
save_pil("lossless_alpha.webp", rgba, format="WEBP", lossless=True)
save_pil("cmyk.jpg", smooth_rgb(37, 23).convert("CMYK"), format="JPEG", quality=90)

# Resampling: a noisy source (worst case for rounding) and a smooth one.
src = Image.frombytes("RGB", (61, 47), bytes(rng.randint(0, 255) for _ in range(3 * 61 * 47)))
src.save(os.path.join(OUT, "resize_noise.png"))
smooth = smooth_rgb(60, 40)
smooth.save(os.path.join(OUT, "resize_smooth.png"))
FILTERS = {1: Image.LANCZOS, 2: Image.BILINEAR, 3: Image.BICUBIC, 4: Image.BOX, 5: Image.HAMMING}
for srcname, im, sizes in (("resize_noise.png", src, [(20, 15), (61, 20), (30, 47), (80, 60), (100, 13), (7, 3), (1, 1), (61, 47)]),
                           ("resize_smooth.png", smooth, [(27, 18), (13, 60), (59, 41), (60, 39)])):
    for f, pf in FILTERS.items():
        for w, h in sizes:
            out = im.resize((w, h), resample=pf)
            expect["resize"].append({"src": srcname, "filter": f, "w": w, "h": h,
                                     "rgb": base64.b64encode(out.tobytes()).decode()})

# The reference pipeline with unusual sizes: the crop is larger than the
# resized image on one or both sides, or odd.
sys.path.insert(0, os.environ["CLIPREF"])
import clipref  # noqa: E402

expect["preprocess"] = []
for size, crop in ((20, 24), (21, 16), (8, 40), (17, 17)):
    x = clipref.preprocess(os.path.join(OUT, "resize_noise.png"), size=size, crop=crop)
    expect["preprocess"].append({"src": "resize_noise.png", "size": size, "crop": crop,
                                 "f32": base64.b64encode(x.numpy().astype("<f4").tobytes()).decode()})

with gzip.open(os.path.join(OUT, "expect.json.gz"), "wt") as f:
    json.dump(expect, f, indent=0, sort_keys=True)
print(len(expect["decode"]), "decode cases,", len(expect["resize"]), "resize cases")
