"""Writes ../html_cases.jsonl (html.unescape) and ../extra_cases.jsonl (the reference
tokenizer, untruncated ids) for strings built to hit the corners of CLIP's text
cleaning: HTML references, Python's whitespace and lower-casing, the split pattern.

Run from this folder with the Python the reference runs on:
    /usr/bin/python3 extra_cases.py /path/to/clip-reference/tools
"""
import html
import json
import random
import sys

sys.path.insert(0, sys.argv[1])
import clipref  # noqa: E402

PIECES = [
    "&", "&", "&", "#", "#x", "#X", ";", ";", "x", "X", "0", "1", "9", "a", "F", "g",
    "amp", "AMP", "lt", "gt", "quot", "nbsp", "not", "notin", "notinva", "frac12", "copy", "eacute",
    "Eacute", "ampx", "lto", "NotNestedGreaterGreater", "acE", "1114111", "1114112", "x10FFFF", "x110000",
    "xD800", "0000065", "128", "x80", "x9F", "13", "x0d", "0", "x1", "x0B", "xFFFE", "x1FFFF", "xFDD0",
    "65", "x41", "99999999999999999999", "<", " ", "\t", "\n", "\f", "\r", "\x0b", "\x1c", "\x1f",
    "\x85", "\xa0", "\u1680", "\u2003", "\u2028", "\u3000", "\u180e", "\u200b",
    "é", "ö", "İ", "I", "i", "Σ", "ς", "σ", "ΑΣ", "Σ.", "'", "ſ", "s", "t", "re", "ve", "m", "ll", "d",
    "S", "T", "RE", "'S", "'ſ", "<|startoftext|>", "<|endoftext|>", "<|ſtartoftext|>", "<|ENDOFTEXT|>",
    "<|", "|>", "\u0345", "\u0307", "\u0301", "ǅ", "ǈ", "Ǆ", "ẞ", "ß", "K", "Å", "Ω", "Ⅷ", "ⅷ", "٣",
    "²", "½", "Ⓐ", "ⓐ", "🐱", "👍🏽", "日本", "한", "中", "ﬁ", "Ａ", "!", "?", ".", "-", "_", "@", "$",
    "\u00ad", "\u2019", "ʰ", "ᵃ", "\U0001F1FA", "\U00011F04", "\U00031350", "\U0002EBF0", "\ufffd",
    "word", "photo", "a", " a ", "dog", "the",
]


def rand_text(rng):
    parts = []
    for _ in range(rng.randint(1, 14)):
        r = rng.random()
        if r < 0.75:
            parts.append(rng.choice(PIECES))
        elif r < 0.9:
            cp = rng.randint(0, 0x10FFFF)
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0x41
            parts.append(chr(cp))
        else:
            cp = rng.randint(0x80, 0x3000)
            parts.append(chr(cp))
    return "".join(parts)


def main():
    rng = random.Random(1)
    tok = clipref.Tokenizer(sys.argv[2] if len(sys.argv) > 2 else "../../../tokenizer/bpe_simple_vocab_16e6.txt.gz")
    fixed = [
        "&amp", "&amp;", "&ampx", "&amp;x", "&AMP;", "&#65", "&#65;", "&#x41;", "&#X41", "&#x;", "&#;", "&#",
        "&", "&;", "&&amp;", "&notin", "&notin;", "&notit;", "&not it", "&#0;", "&#13;", "&#128;", "&#x81;",
        "&#1;", "&#11;", "&#127;", "&#xFFFF;", "&#x10FFFF;", "&#x110000;", "&#xD800;", "&#99999999999999;",
        "&" + "a" * 40 + ";", "&amp" + "x" * 40, "&ampé", "&éamp", "&amp;amp;", "&amp;#65;", "&lt;b&gt;",
        "&frac12;", "&frac12", "&frac1", "&NotNestedGreaterGreater;", "&acE;", "&nbsp;x", "&nbspx",
        "a\u0345b", "\u0345", "ΑΣ", "ΑΣ.", "ΑΣ'Α", "Σ", "ΣΑ", "ΑΣΑ", "Α.Σ", "ΑΣ\u0345", "ΑΣ\u0345Α",
        "İ", "İSTANBUL", "ǅ", "'ſ", "'S", "IT'S", "<|ſtartoftext|>", "<|STARTOFTEXT|>", "<|endoftext|><|startoftext|>",
        "\x1c a \x1f", "\x85x\x85", " \u3000 x \u3000 ", "\u180ex\u180e", "a\u200bb", "a\x1cb",
        "''s", "!'s", "'s's", "a's", "'ll've", "'", "'x", "1'2", "x'd", "٣٤", "Ⅷ", "ⓐⒶ", "²³", "ab12cd",
        "a" * 300, "ab" * 200, "abcdefghijklmnopqrstuvwxyz" * 10, "🐱" * 60, "日本語" * 40,
    ]
    with open("../html_cases.jsonl", "w") as f:
        texts = fixed + [rand_text(rng) for _ in range(3000)]
        for t in texts:
            f.write(json.dumps({"in": t, "out": html.unescape(t)}, ensure_ascii=False) + "\n")
    with open("../extra_cases.jsonl", "w") as f:
        texts = fixed + [rand_text(rng) for _ in range(3000)]
        for t in texts:
            f.write(json.dumps({"text": t, "ids": tok(t, context_length=10**9)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
