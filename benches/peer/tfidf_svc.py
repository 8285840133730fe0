#!/usr/bin/env python3
"""The peer of Otklik's classifier: TF-IDF word (1-2) + char_wb (2-5) n-grams with LinearSVC,
the model a data scientist picks first. Cross-validated on the SAME stratified folds as
`otklik classifier eval --folds K` (this file re-implements Otklik's SplitMix64 fold
assignment), or trained on --train and tested on --test. Prints one JSON object like
`otklik classifier eval`: accuracy, macro_f1, weighted_f1, texts_per_second (one core).

    python3 benches/peer/tfidf_svc.py --train FILE.csv [--test FILE.csv | --folds 5] [--label-column label]
"""
import argparse, csv, json, os, sys, time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.svm import LinearSVC

MASK = (1 << 64) - 1


class SplitMix:
    def __init__(self, seed):
        self.s = seed & MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.next() % (i + 1)
            items[i], items[j] = items[j], items[i]


def stratified_folds(labels, k, seed):
    by_label = {}
    for i, l in enumerate(labels):
        by_label.setdefault(l, []).append(i)
    rng = SplitMix(seed)
    folds = [0] * len(labels)
    nxt = 0
    for l in sorted(by_label, key=lambda s: s.encode("utf-8")):
        idx = by_label[l]
        rng.shuffle(idx)
        for i in idx:
            folds[i] = nxt % k
            nxt += 1
    return folds


def read(path, column):
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            t, l = (row.get("text") or "").strip(), (row.get(column) or "").strip()
            if t and l:
                texts.append(t)
                labels.append(l)
    return texts, labels


def model():
    return make_pipeline(
        FeatureUnion([
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]),
        LinearSVC(C=1.0),
    )


def run(train, test):
    m = model().fit(*train)
    start = time.perf_counter()
    pred = [m.predict([t])[0] for t in test[0]]  # one text at a time, as a stream
    return list(pred), time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--label-column", default="label")
    a = ap.parse_args()
    texts, labels = read(a.train, a.label_column)
    truth, pred, secs = [], [], 0.0
    if a.test:
        tt, tl = read(a.test, a.label_column)
        p, s = run((texts, labels), (tt, tl))
        truth, pred, secs = tl, p, s
    else:
        folds = stratified_folds(labels, a.folds, a.seed)
        for f in range(a.folds):
            tr = ([t for t, g in zip(texts, folds) if g != f], [l for l, g in zip(labels, folds) if g != f])
            te = ([t for t, g in zip(texts, folds) if g == f], [l for l, g in zip(labels, folds) if g == f])
            p, s = run(tr, te)
            truth += te[1]
            pred += p
            secs += s
            print(f"fold {f + 1}/{a.folds}", file=sys.stderr)
    print(json.dumps({
        "accuracy": round(accuracy_score(truth, pred), 4),
        "macro_f1": round(f1_score(truth, pred, average="macro", zero_division=0), 4),
        "weighted_f1": round(f1_score(truth, pred, average="weighted", zero_division=0), 4),
        "texts_per_second": round(len(truth) / secs, 1) if secs else 0.0,
    }))


if __name__ == "__main__":
    main()
