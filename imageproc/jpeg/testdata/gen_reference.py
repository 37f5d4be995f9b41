#!/usr/bin/python3
"""Generate test JPEGs and the PIL/libjpeg-turbo reference for package jpeg.

Run from this directory with Debian's /usr/bin/python3 (python3-pil) and, to
regenerate the inputs, cjpeg/jpegtran from libjpeg-turbo-progs:

    /usr/bin/python3 gen_reference.py          # inputs + expected.json
    /usr/bin/python3 gen_reference.py --check  # expected.json only

Inputs come from the kit's PNGs (cropped small so the fixtures stay lean)
and are written to gen/. For every kit JPEG and every generated JPEG the
script records what Image.open(f).convert("RGB") gives: the size and the
SHA-256 of the RGB bytes, or the error PIL raises. It also stores the raw
RGB of two small images so a failing test can show where pixels differ.
"""
import hashlib, io, json, os, subprocess, sys, glob

from PIL import Image, features
import PIL

KIT = "../../../testdata/kit/images"
GEN = "gen"


def cjpeg(img, args, name):
    ppm = io.BytesIO()
    img.save(ppm, "PPM" if img.mode == "RGB" else "PPM")
    out = subprocess.run(["cjpeg"] + args, input=ppm.getvalue(),
                         stdout=subprocess.PIPE, check=True).stdout
    write(name, out)


def jpegtran(src, args, name):
    out = subprocess.run(["jpegtran"] + args + [os.path.join(GEN, src)],
                         stdout=subprocess.PIPE, check=True).stdout
    write(name, out)


def pil(img, name, **kw):
    b = io.BytesIO()
    img.save(b, "JPEG", **kw)
    write(name, b.getvalue())
    return b.getvalue()


def write(name, data):
    with open(os.path.join(GEN, name), "wb") as f:
        f.write(data)


def segments(data):
    """Yield (offset, marker, length) of header segments up to SOS."""
    p = 2
    while p < len(data):
        assert data[p] == 0xFF
        m = data[p + 1]
        n = data[p + 2] << 8 | data[p + 3]
        yield p, m, n
        if m == 0xDA:
            return
        p += 2 + n


def strip(data, marker):
    for p, m, n in segments(data):
        if m == marker:
            return data[:p] + data[p + 2 + n:]
    raise ValueError("marker not found")


def generate():
    os.makedirs(GEN, exist_ok=True)
    chelsea = Image.open(os.path.join(KIT, "chelsea.png")).convert("RGB")
    coffee = Image.open(os.path.join(KIT, "coffee.png")).convert("RGB")
    odd = Image.open(os.path.join(KIT, "odd_225x301.png")).convert("RGB")
    c = chelsea.crop((150, 60, 214, 108))  # 64x48, the cat's face
    small = chelsea.resize((45, 30), Image.BICUBIC)

    # PIL encoder (libjpeg-turbo via Pillow)
    pil(c, "p420_q75.jpg")
    pil(c, "p422.jpg", subsampling=1)
    pil(c, "p444.jpg", subsampling=0)
    pil(c, "p420_q100.jpg", quality=100)
    pil(c, "p444_q100.jpg", quality=100, subsampling=0)
    pil(c, "p420_q10.jpg", quality=10)
    pil(c, "p420_q1.jpg", quality=1)
    pil(c, "p420_opt.jpg", optimize=True)
    pil(c, "p420_prog.jpg", progressive=True)
    pil(c, "p444_prog_opt.jpg", progressive=True, optimize=True, subsampling=0)
    pil(c.convert("L"), "gray.jpg")
    pil(c.convert("L"), "gray_prog.jpg", progressive=True)
    pil(coffee.resize((75, 50), Image.BICUBIC), "coffee_75x50.jpg")
    for w, h in [(1, 1), (2, 2), (3, 5), (4, 3), (5, 7), (6, 6), (17, 9),
                 (9, 17), (33, 17), (16, 16), (15, 15)]:
        im = chelsea.resize((w, h), Image.BICUBIC)
        pil(im, "odd_%dx%d.jpg" % (w, h))
        pil(im, "odd_%dx%d_422.jpg" % (w, h), subsampling=1)
        pil(im, "odd_%dx%d_prog.jpg" % (w, h), progressive=True)
    pil(odd, "odd_225x301.jpg", quality=60)
    pil(odd, "odd_225x301_prog.jpg", quality=60, progressive=True)

    # CMYK: Pillow writes an Adobe APP14 marker with transform 0.
    cmyk = pil(small.convert("CMYK"), "cmyk.jpg")
    write("cmyk_noadobe.jpg", strip(cmyk, 0xEE))
    # The same data read as YCCK: set the Adobe transform byte to 2.
    for p, m, n in segments(cmyk):
        if m == 0xEE:
            y = bytearray(cmyk)
            y[p + 4 + 11] = 2
            write("ycck.jpg", bytes(y))
    # YCbCr without JFIF (component ids 1,2,3), and with ids 'R','G','B'.
    y420 = pil(small, "small_420.jpg")
    nojfif = strip(y420, 0xE0)
    write("nojfif.jpg", nojfif)
    b = bytearray(nojfif)
    for p, m, n in segments(nojfif):
        if m == 0xC0:
            for i, cid in enumerate(b"RGB"):
                b[p + 4 + 6 + 3 * i] = cid
        if m == 0xDA:
            for i, cid in enumerate(b"RGB"):
                b[p + 5 + 2 * i] = cid
    write("rgb_ids.jpg", bytes(b))

    # cjpeg: sampling factors, restarts, RGB, scan scripts.
    cjpeg(c, ["-sample", "1x2"], "c440.jpg")
    cjpeg(c, ["-sample", "4x1"], "c411.jpg")
    cjpeg(c, ["-sample", "4x2"], "c4x2.jpg")
    cjpeg(c, ["-sample", "1x4"], "c1x4.jpg")
    cjpeg(c, ["-sample", "3x1"], "c3x1.jpg")
    cjpeg(c, ["-sample", "2x2,1x2,2x1"], "cmixed.jpg")
    cjpeg(c, ["-sample", "2x2,2x1,1x1"], "cmixed2.jpg")
    cjpeg(c, ["-sample", "2x4,1x1,1x1"], "c2x4.jpg")
    cjpeg(small, ["-sample", "1x2"], "c440_small.jpg")
    cjpeg(chelsea.resize((7, 11)), ["-sample", "1x2"], "c440_7x11.jpg")
    cjpeg(c, ["-restart", "1"], "rst_row.jpg")
    cjpeg(c, ["-restart", "3B"], "rst_3b.jpg")
    cjpeg(c, ["-restart", "1B"], "rst_1b.jpg")
    cjpeg(c, ["-restart", "1B", "-progressive"], "rst_prog.jpg")
    cjpeg(c, ["-rgb"], "rgb.jpg")
    cjpeg(c, ["-arithmetic"], "arith.jpg")
    cjpeg(c, ["-sample", "1x1", "-optimize"], "c444_opt.jpg")
    jpegtran("p422.jpg", ["-transpose"], "t440.jpg")
    jpegtran("p420_q75.jpg", ["-restart", "2B"], "rst_2b.jpg")
    jpegtran("p420_q75.jpg", ["-copy", "none"], "nomarkers.jpg")
    # Non-interleaved sequential scans (one scan per component).
    seq = "0;\n1;\n2;\n"
    with open("/tmp/seq.scans", "w") as f:
        f.write(seq)
    cjpeg(c, ["-scans", "/tmp/seq.scans"], "seq_scans.jpg")
    # Incomplete progressive scripts: libjpeg applies block smoothing.
    scripts = {
        "smooth_dc.jpg": "0,1,2: 0-0, 0, 0;\n",
        "smooth_dc_al.jpg": "0,1,2: 0-0, 0, 2;\n",
        "smooth_ac5.jpg": "0,1,2: 0-0, 0, 1;\n0: 1-5, 0, 2;\n1: 1-63, 0, 1;\n2: 1-63, 0, 1;\n",
        "smooth_ac9.jpg": "0,1,2: 0-0, 0, 0;\n0: 1-9, 0, 1;\n0: 10-63, 0, 0;\n1: 1-63, 0, 0;\n",
        "prog_full.jpg": "0,1,2: 0-0, 0, 1;\n0: 1-5, 0, 2;\n2: 1-63, 0, 1;\n1: 1-63, 0, 1;\n"
                         "0: 6-63, 0, 2;\n0: 1-63, 2, 1;\n0,1,2: 0-0, 1, 0;\n2: 1-63, 1, 0;\n"
                         "1: 1-63, 1, 0;\n0: 1-63, 1, 0;\n",
    }
    for name, s in scripts.items():
        with open("/tmp/scan.txt", "w") as f:
            f.write(s)
        cjpeg(c, ["-scans", "/tmp/scan.txt"], name)
    with open("/tmp/scan.txt", "w") as f:
        f.write("0: 0-0, 0, 1;\n0: 1-5, 0, 2;\n0: 6-63, 0, 0;\n")
    cjpeg(c.convert("L"), ["-grayscale", "-scans", "/tmp/scan.txt"], "smooth_gray.jpg")

    # Damaged data.
    base = open(os.path.join(GEN, "p420_q75.jpg"), "rb").read()
    sos = [p for p, m, n in segments(base) if m == 0xDA][0]
    for frac in (0.3, 0.9):
        cut = base[:sos + int((len(base) - sos) * frac)]
        write("cut%02d.jpg" % int(frac * 100), cut)
        write("cut%02d_eoi.jpg" % int(frac * 100), cut + b"\xff\xd9")
    write("noeoi.jpg", base[:-2])
    # No DHT segment: libjpeg-turbo falls back to the standard tables.
    nodht = base
    while True:
        try:
            nodht = strip(nodht, 0xC4)
        except ValueError:
            break
    write("nodht.jpg", nodht)
    write("header_only.jpg", base[:sos])
    g = bytearray(base)
    for off in (sos + 40, sos + 200, sos + 600):
        if g[off] != 0xFF and g[off - 1] != 0xFF:
            g[off] ^= 0x5A
    write("corrupt_bits.jpg", bytes(g))
    rst = open(os.path.join(GEN, "rst_1b.jpg"), "rb").read()
    p = rst.index(b"\xff\xd2")
    write("rst_missing.jpg", rst[:p] + rst[p + 2:])
    b = bytearray(rst)
    b[rst.index(b"\xff\xd5") + 1] = 0xD7
    write("rst_wrong.jpg", bytes(b))
    p = rst.index(b"\xff\xd3")
    write("rst_garbage.jpg", rst[:p] + b"\x12\x34" + rst[p:])
    progb = open(os.path.join(GEN, "p420_prog.jpg"), "rb").read()
    write("prog_cut.jpg", progb[:len(progb) * 2 // 3])
    write("prog_cut_eoi.jpg", progb[:len(progb) * 2 // 3] + b"\xff\xd9")
    # Cut inside the entropy data of a scan, then EOI: libjpeg zero-fills
    # the rest of that scan and block smoothing uses the earlier scan's
    # coefficient status for the rows without data.
    for src in ("p420_prog.jpg", "smooth_ac5.jpg", "gray_prog.jpg"):
        data = open(os.path.join(GEN, src), "rb").read()
        starts = []
        p = data.index(b"\xff\xda")
        while p >= 0:
            starts.append(p)
            p = data.find(b"\xff\xda", p + 2)
        for i in (1, len(starts) - 1):
            sos = starts[i]
            end = data.find(b"\xff", sos + 2 + (data[sos + 2] << 8 | data[sos + 3]))
            while data[end + 1] == 0:
                end = data.find(b"\xff", end + 2)
            cut = sos + 2 + (data[sos + 2] << 8 | data[sos + 3]) + (end - sos) // 2
            write("%s_scan%d_eoi.jpg" % (src[:-4], i), data[:cut] + b"\xff\xd9")


def reference():
    files = sorted(glob.glob(os.path.join(KIT, "*.jpg"))) + \
        sorted(glob.glob(os.path.join(GEN, "*.jpg")))
    out = {
        "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "jpeg_version": features.version("jpg"),
        "files": {},
    }
    for f in files:
        key = os.path.relpath(f, ".")
        try:
            im = Image.open(f)
            rgb = im.convert("RGB")
            data = rgb.tobytes()
            out["files"][key] = {
                "width": rgb.width, "height": rgb.height,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        except Exception as e:  # noqa: BLE001 -- record what PIL raises
            out["files"][key] = {"error": "%s: %s" % (type(e).__name__, e)}
    for name in ("odd_17x9.jpg", "cmyk.jpg"):
        rgb = Image.open(os.path.join(GEN, name)).convert("RGB")
        with open(os.path.join(GEN, name[:-4] + ".rgb"), "wb") as f:
            f.write(rgb.tobytes())
    with open("expected.json", "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print("Pillow %s, libjpeg-turbo %s: %d files" %
          (out["pillow"], out["libjpeg_turbo"], len(files)))


def compare(outdir):
    """Report max/mean |diff| between PIL and the Go decoder's dumped RGB."""
    ref = json.load(open("expected.json"))["files"]
    for key in sorted(ref):
        dump = os.path.join(outdir, key.replace("/", "_") + ".rgb")
        if "error" in ref[key] or not os.path.exists(dump):
            continue
        a = Image.open(key).convert("RGB").tobytes()
        b = open(dump, "rb").read()
        if len(a) != len(b):
            print("%-50s size mismatch" % key)
            continue
        d = [abs(x - y) for x, y in zip(a, b)]
        print("%-50s %s max %d mean %.4f" % (key, "identical" if max(d) == 0 else "DIFFERS",
                                             max(d), sum(d) / len(d)))


if __name__ == "__main__":
    if "--compare" in sys.argv:
        compare(sys.argv[-1])
        sys.exit(0)
    if "--check" not in sys.argv:
        generate()
    reference()
