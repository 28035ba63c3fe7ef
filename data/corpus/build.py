"""Assemble a hand-written corpus from data/corpus/src_<part>/*.txt into train_<part>.csv and
eval_<part>.csv: `python data/corpus/build.py a` (or b). Part a holds roads, traffic, street_lighting,
electricity, heating, water, gas, waste, street_cleaning and landscaping; part b the other nine;
parts c (residents' registers) and d (short formal Kazakh complaints) every category.

Source format: one example per line, "<lang>|<text>" where lang is r (ru), k (kk) or m (mixed);
a literal "\\n" inside a text stands for a line break. Files are named <split>_<category>.txt, or
<split>_<category>.<n>.txt for a later batch of the same category.
Blank lines and lines starting with '#' are ignored.
"""
import csv
import collections
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
LANGS = {"r": "ru", "k": "kk", "m": "mixed"}
PARTS = {"a": {"roads", "traffic", "street_lighting", "electricity", "heating", "water", "gas", "waste",
               "street_cleaning", "landscaping"},
         "b": {"housing", "public_transport", "stray_animals", "ecology", "health", "education",
               "social", "construction", "other"}}
# Parts c and d cover every category: c rewrites them in the registers residents really use (terse
# notes, formal letters, a building's common parts, everyday words); d is short formal Kazakh.
# e and f add what the real appeals showed the corpus lacked (see README_e.md, README_f.md).
ALL = PARTS["a"] | PARTS["b"]
PARTS.update({"c": ALL, "d": ALL, "e": ALL, "f": ALL, "g": ALL})
PART = sys.argv[1] if len(sys.argv) > 1 else "b"
SRC = HERE / f"src_{PART}"
CATS = PARTS[PART]


def read_split(split):
    rows = []
    for path in sorted(SRC.glob(f"{split}_*.txt")):
        cat = path.stem[len(split) + 1:].split(".")[0]  # train_housing.2.txt adds to housing
        if cat not in CATS:
            sys.exit(f"bad category file {path.name}")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            tag, sep, text = line.partition("|")
            if not sep or tag not in LANGS:
                sys.exit(f"{path.name}:{n}: bad line {line[:40]!r}")
            text = text.strip().replace("\\n", "\n")
            rows.append((text, cat, LANGS[tag]))
    return rows


def csv_texts(path):
    with open(path, encoding="utf-8") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def write(rows, name):
    with open(HERE / name, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "category", "language"])
        w.writerows(rows)


def main():
    train, evl = read_split("train"), read_split("eval")
    for name, rows in (("train", train), ("eval", evl)):
        dup = [t for t, c in collections.Counter(r[0] for r in rows).items() if c > 1]
        if dup:
            print(f"{name}: duplicates:", *dup[:10], sep="\n  ")
    norm = lambda t: " ".join(t.lower().split())
    leak = {norm(r[0]) for r in train} & {norm(r[0]) for r in evl}
    if leak:
        print("train/eval overlap:", *list(leak)[:10], sep="\n  ")
    demo = {" ".join(t.lower().split()) for t in csv_texts(HERE.parent / "demo" / "problems.csv")}
    copied = [r[0][:60] for r in train + evl if any(d in norm(r[0]) for d in demo if len(d) > 25)]
    if copied:
        print("texts containing a demo phrase:", *copied[:10], sep="\n  ")
    write(train, f"train_{PART}.csv")
    if evl:  # part c has no held-out file of its own: real appeals measure it (bench/realdev.py)
        write(evl, f"eval_{PART}.csv")
    for name, rows in (("train", train), ("eval", evl)):
        c = collections.Counter((r[1], r[2]) for r in rows)
        print(f"{name}: {len(rows)} rows")
        for cat in sorted({r[1] for r in rows}):
            tot = sum(v for (k, _), v in c.items() if k == cat)
            print(f"  {cat:18s} {tot:4d}  ru={c[(cat,'ru')]:3d} kk={c[(cat,'kk')]:3d} mixed={c[(cat,'mixed')]:3d}")


if __name__ == "__main__":
    main()
