#!/usr/bin/python3
"""Generate scikit-learn classification_report fixtures for package eval.

Run with Debian's python3-sklearn:

    /usr/bin/python3 gen.py > cases.json

For every case it records y_true and y_pred (run-length encoded as
[true, pred, count] triples in sample order), the optional explicit label list,
sklearn's classification_report text for several values of digits, the
UndefinedMetricWarning messages (every emission, as with the "always"
filter, and what the default filter shows; they are the same list because
sklearn's own catch_warnings blocks reset the once-per-location registry on
every call), the
exact float values sklearn computes, and the confusion matrix. The Go tests
in metrics_test.go compare against these byte for byte and bit for bit.
"""

import json
import random
import sys
import warnings

import numpy
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.utils.multiclass import unique_labels

DIGITS = [0, 1, 2, 3, 4, 15]


def counts(spec, order=None):
    """Expand {(true, pred): n} into two label lists (deterministic order)."""
    y_true, y_pred = [], []
    for (t, p), n in spec.items():
        y_true += [t] * n
        y_pred += [p] * n
    if order is not None:
        idx = list(range(len(y_true)))
        random.Random(order).shuffle(idx)
        y_true = [y_true[i] for i in idx]
        y_pred = [y_pred[i] for i in idx]
    return y_true, y_pred


def confusion(labels, rows, seed=None):
    """rows[i][j] = number of samples of true labels[i] predicted labels[j]."""
    spec = {}
    for i, t in enumerate(labels):
        for j, p in enumerate(labels):
            if rows[i][j]:
                spec[(t, p)] = rows[i][j]
    return counts(spec, seed)


def random_case(seed):
    rng = random.Random(seed)
    pool = ["cat", "dog", "wild", "Bird", "bird", "10", "9", "fish_", "horse",
            "ζώο", "Été", "a b", "zebra-with-a-long-name", "ox", "Ant", "_x"]
    k = rng.randint(2, 12)
    names = rng.sample(pool, k)
    n = rng.choice([1, 2, 5, 17, 60, 150, 400])
    skill = rng.choice([0.0, 0.3, 0.6, 0.9, 1.0])
    never = rng.choice(names) if rng.random() < 0.4 else None
    weights = [rng.random() + 0.05 for _ in names]
    y_true, y_pred = [], []
    for _ in range(n):
        t = rng.choices(names, weights)[0]
        if rng.random() < skill:
            p = t
        else:
            p = rng.choice(names)
        if p == never:
            p = rng.choice([x for x in names if x != never] or names)
        y_true.append(t)
        y_pred.append(p)
    labels = None
    r = rng.random()
    present = sorted(set(y_true) | set(y_pred))
    if r < 0.15:
        labels = present[:]
        rng.shuffle(labels)
    elif r < 0.25:
        labels = rng.sample(present, max(1, len(present) // 2))
    elif r < 0.35:
        labels = present + ["unseen"]
        rng.shuffle(labels)
    return y_true, y_pred, labels


def cases():
    out = []

    def add(name, y_true, y_pred, labels=None):
        out.append((name, list(y_true), list(y_pred), labels))

    L3 = ["cat", "dog", "wild"]
    # AFHQ validation-like: 500 images per class; 86% and 98% accuracy.
    add("afhq_86", *confusion(L3, [[480, 5, 15], [20, 420, 60], [30, 80, 390]]))
    add("afhq_98", *confusion(L3, [[498, 1, 1], [2, 490, 8], [5, 13, 482]]))
    # A class that is never predicted: 0.00 precision and a warning.
    add("no_predictions", *confusion(L3, [[40, 10, 0], [5, 45, 0], [20, 30, 0]], 3))
    # A label only predicted, never true: support 0, recall warning.
    add("only_in_pred", *counts({("cat", "cat"): 7, ("cat", "ghost"): 2,
                                 ("dog", "dog"): 5, ("dog", "ghost"): 1}))
    # Every prediction wrong, two labels, each ill-defined one way.
    add("all_wrong_two", ["cat"] * 4, ["dog"] * 4)
    add("all_wrong_cyclic", *confusion(L3, [[0, 3, 0], [0, 0, 4], [5, 0, 0]], 4))
    add("single_class", ["cat"] * 10, ["cat"] * 10)
    add("one_sample", ["a"], ["a"])
    add("one_sample_wrong", ["a"], ["b"])
    add("binary", *counts({("neg", "neg"): 50, ("neg", "pos"): 7,
                           ("pos", "neg"): 11, ("pos", "pos"): 32}, 5))
    add("perfect_five", *counts({(c, c): i + 1 for i, c in enumerate("abcde")}))
    add("long_labels", *counts({
        ("a_really_long_class_name_indeed", "a_really_long_class_name_indeed"): 9,
        ("a_really_long_class_name_indeed", "short"): 3,
        ("short", "short"): 8, ("short", "a_really_long_class_name_indeed"): 1}))
    add("width_12_and_13", *counts({("abcdefghijkl", "abcdefghijkl"): 3,
                                    ("abcdefghijkl", "b"): 1, ("b", "b"): 2}))
    add("width_13", *counts({("abcdefghijklm", "abcdefghijklm"): 3,
                             ("b", "abcdefghijklm"): 1, ("b", "b"): 2}))
    add("unicode", *counts({
        ("chat", "chat"): 5, ("chien", "chat"): 1, ("chien", "chien"): 4,
        ("été", "été"): 3, ("🐱", "🐱"): 2, ("🐱", "chat"): 1,
        ("e\u0301te\u0301", "été"): 1, ("e\u0301te\u0301", "e\u0301te\u0301"): 2,
        ("猫科动物類", "猫科动物類"): 6, ("naïve", "chien"): 2,
    }))
    add("unicode_long", *counts({
        ("ñandú-salvaje-ü", "ñandú-salvaje-ü"): 4,   # 15 code points, 18 bytes
        ("ÄÖÜäöüß-ÄÖÜ", "ÄÖÜäöüß-ÄÖÜ"): 3,            # 11 code points, 21 bytes
        ("ÄÖÜäöüß-ÄÖÜ", "ñandú-salvaje-ü"): 1,
    }))
    add("sort_order", *counts({
        ("b", "b"): 2, ("B", "B"): 3, ("a", "A"): 1, ("a", "a"): 2, ("A", "A"): 1,
        ("10", "10"): 2, ("9", "9"): 1, ("9", "10"): 1, ("_x", "_x"): 1,
        ("Z", "z"): 1, ("z", "z"): 1, ("a b", "a-b"): 1, ("a-b", "a-b"): 1,
        ("Éclair", "Éclair"): 1, ("éclair", "éclair"): 1, (" lead", " lead"): 1,
    }))
    add("numeric_strings", *counts({("1", "1"): 3, ("2", "2"): 4, ("10", "2"): 1,
                                    ("10", "10"): 2, ("100", "1"): 1}))
    # Rounding ties on exactly representable values: 1/8, 3/8, 5/8, 7/8, 1/16.
    add("ties_eighths", *counts({
        ("p", "p"): 1, ("q", "p"): 7,               # precision(p) = 1/8
        ("q", "q"): 3, ("r", "q"): 5,               # precision(q) = 3/8
        ("r", "r"): 5, ("s", "r"): 3,               # precision(r) = 5/8
        ("s", "s"): 7, ("p", "s"): 1,               # precision(s) = 7/8
        ("t", "t"): 1, ("t", "p"): 15,              # recall(t) = 1/16
    }))
    add("tie_0665", *counts({("a", "a"): 133, ("b", "a"): 67, ("b", "b"): 200}))
    add("tie_0005", *counts({("a", "a"): 1, ("b", "a"): 199, ("b", "b"): 100}))
    add("tie_half", *counts({("a", "a"): 1, ("b", "a"): 1, ("b", "b"): 2}))
    add("tie_macro_0125", *counts({("a", "a"): 1, ("b", "a"): 3, ("b", "b"): 4}, 6),
        None)
    add("tie_0375_0625", *counts({("a", "a"): 3, ("b", "a"): 5, ("b", "b"): 5,
                                  ("a", "b"): 3}))
    add("tie_0045", *counts({("a", "a"): 9, ("b", "a"): 191, ("b", "b"): 9}))
    # 20 classes with a seeded confusion.
    rng = random.Random(20)
    L20 = ["class_%02d" % i for i in range(20)]
    rows = [[(rng.randint(20, 60) if i == j else rng.choice([0, 0, 1, 2, 5]))
             for j in range(20)] for i in range(20)]
    add("twenty_classes", *confusion(L20, rows))
    # Explicit label lists (sklearn's labels= argument).
    yt, yp = confusion(L3, [[480, 5, 15], [20, 420, 60], [30, 80, 390]])
    add("labels_reversed", yt, yp, ["wild", "dog", "cat"])
    add("labels_subset", yt, yp, ["dog", "cat"])
    add("labels_superset", yt, yp, ["cat", "dog", "wild", "unseen"])
    add("labels_single_absent", yt, yp, ["unseen"])
    add("labels_single_present", yt, yp, ["dog"])
    add("labels_subset_never_predicted",
        *confusion(L3, [[40, 10, 0], [5, 45, 0], [20, 30, 0]], 3), ["wild"])
    add("labels_subset_never_predicted_two",
        *confusion(L3, [[40, 10, 0], [5, 45, 0], [20, 30, 0]], 3), ["wild", "cat"])
    add("empty_string_label", ["", "a", "a"], ["", "a", ""])
    add("large_support", *counts({("x", "x"): 123456, ("x", "y"): 7,
                                  ("y", "y"): 1000, ("y", "x"): 3}))
    for s in range(16):
        add("random_%02d" % s, *random_case(1000 + s))
    return out


def run_length(y_true, y_pred):
    """Encode the sample sequence as [true, pred, count] runs, in order."""
    runs = []
    for t, p in zip(y_true, y_pred):
        if runs and runs[-1][0] == t and runs[-1][1] == p:
            runs[-1][2] += 1
        else:
            runs.append([t, p, 1])
    return runs


def record(name, y_true, y_pred, labels):
    kw = {} if labels is None else {"labels": labels}
    case = {"name": name, "samples": run_length(y_true, y_pred), "labels": labels}

    with warnings.catch_warnings(record=True) as every:
        warnings.simplefilter("always")
        classification_report(y_true, y_pred, **kw)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        classification_report(y_true, y_pred, **kw)
    for w in list(every) + list(shown):
        if not issubclass(w.category, UndefinedMetricWarning):
            raise SystemExit("%s: unexpected warning %r" % (name, w))
    case["warnings_all"] = [str(w.message) for w in every]
    case["warnings"] = [str(w.message) for w in shown]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case["reports"] = {
            str(d): classification_report(y_true, y_pred, digits=d, **kw)
            for d in DIGITS
        }
        used = list(unique_labels(y_true, y_pred)) if labels is None else labels
        case["labels_used"] = [str(x) for x in used]
        p, r, f, s = precision_recall_fscore_support(
            y_true, y_pred, labels=used, average=None)
        case["precision"] = [float(x) for x in p]
        case["recall"] = [float(x) for x in r]
        case["f1"] = [float(x) for x in f]
        case["support"] = [int(x) for x in s]
        for avg in ("micro", "macro", "weighted"):
            ap, ar, af, _ = precision_recall_fscore_support(
                y_true, y_pred, labels=used, average=avg)
            case[avg] = [float(ap), float(ar), float(af)]
        case["accuracy"] = float(accuracy_score(y_true, y_pred))
        try:
            cm = confusion_matrix(y_true, y_pred, labels=used).tolist()
        except ValueError:  # sklearn refuses when no label is in y_true
            cm = None
        case["confusion"] = cm
    return case


def float_format():
    """Python's format(x, '.Nf') for rounding ties and near-ties.

    classification_report formats every score with "{:.Nf}"; these pairs
    check that Go's strconv.FormatFloat rounds the same binary values the
    same way (round half to even on the exact binary value).
    """
    values = set()
    for den in (2, 3, 7, 8, 16, 32, 64, 200, 400, 1000, 2000, 1500):
        for num in range(0, den + 1, max(1, den // 97)):
            values.add(num / den)
    rng = random.Random(99)
    for _ in range(200):
        values.add(rng.random())
    out = []
    for v in sorted(values):
        for d in (0, 1, 2, 3, 4):
            out.append([v, d, format(v, ".%df" % d)])
    return out


def main():
    doc = {
        "generator": "eval/testdata/sklearn/gen.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": numpy.__version__,
        "python_version": sys.version.split()[0],
        "digits": DIGITS,
        "cases": [record(*c) for c in cases()],
        "float_format": float_format(),
    }
    # One case per line keeps the file small and diffs readable.
    formats = doc.pop("float_format")
    records = doc.pop("cases")
    head = json.dumps(doc, ensure_ascii=False)[:-1]
    sys.stdout.write(head + ',\n "cases": [\n')
    sys.stdout.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in records))
    sys.stdout.write('\n],\n "float_format": ')
    sys.stdout.write(json.dumps(formats))
    sys.stdout.write("}\n")


if __name__ == "__main__":
    main()
