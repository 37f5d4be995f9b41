"""Writes ../unicode_props.txt: how the reference tokenizer (clipref.py: Python's str.strip,
str.lower and the `regex` module's CLIP pattern) treats every code point.

Run from this folder with the Python the reference runs on (Debian: /usr/bin/python3 with
python3-regex): /usr/bin/python3 unicode_props.py > ../unicode_props.txt
Each line is "first last flags" (hex code points, inclusive range), flags being:
  class  S: regex \s   L: [\p{L}]   N: [\p{N}]   P: [^\s\p{L}\p{N}]   X: none of the pattern's
         alternatives (all under IGNORECASE, as CLIP's pattern is compiled)
  w      str.isspace (what str.strip removes)
  u      unassigned in Python's own Unicode database (unicodedata), which str.lower uses
  abc    final-sigma probes: 'ς' in ("xΣ"+c+"a").lower(), ("xΣ"+c).lower(), (c+"Σ").lower()
Lines "lower cp seq" list the code points whose str.lower differs from themselves.
"""
import sys
import unicodedata

import regex

I = regex.IGNORECASE
S = regex.compile(r"\s")
L = regex.compile(r"[\p{L}]", I)
N = regex.compile(r"[\p{N}]", I)
P = regex.compile(r"[^\s\p{L}\p{N}]", I)


def flags(c):
    if S.match(c):
        f = "S"
    elif L.match(c):
        f = "L"
    elif N.match(c):
        f = "N"
    elif P.match(c):
        f = "P"
    else:
        f = "X"
    if c.isspace():
        f += "w"
    if unicodedata.category(c) == "Cn":
        f += "u"
    f += "a" if ("xΣ" + c + "a").lower()[1] == "ς" else "-"
    f += "b" if ("xΣ" + c).lower()[1] == "ς" else "-"
    f += "c" if (c + "Σ").lower()[-1] == "ς" else "-"
    return f


def main():
    out = sys.stdout
    out.write(f"# python {sys.version.split()[0]} unicodedata {unicodedata.unidata_version}"
              f" regex {regex.__version__}\n")
    start, cur = 0, None
    cps = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    prev = None
    for cp in cps:
        f = flags(chr(cp))
        if f != cur or cp != prev + 1:
            if cur is not None:
                out.write(f"{start:x} {prev:x} {cur}\n")
            start, cur = cp, f
        prev = cp
    out.write(f"{start:x} {prev:x} {cur}\n")
    for cp in cps:
        low = chr(cp).lower()
        if low != chr(cp):
            out.write(f"lower {cp:x} {' '.join(f'{ord(x):x}' for x in low)}\n")


if __name__ == "__main__":
    main()
