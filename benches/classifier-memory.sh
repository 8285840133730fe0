#!/usr/bin/env bash
# Memory of the classifier (issue 3 target: <= 200 MB resident with the whole rule set and
# 50,000 labelled examples loaded). Synthesizes N examples by resampling DATA.csv with
# replacement (seeded) and appending a running number to every text — so the vocabulary
# keeps growing as a real corpus's would, a pessimistic figure — then measures with
# /usr/bin/time -v the peak resident set size of
#   1. `otklik classifier train` on the N examples (with the keyword rules as features), and
#   2. `otklik classify --model DIR "…"`: rules, complaint lexicon and the trained model
#      loaded, one post classified.
# Usage: benches/classifier-memory.sh [DATA.csv] [N]
# The binary is $OTKLIK_BIN, else ${CARGO_TARGET_DIR:-target}/release/otklik
# (`cargo build --release` first).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/kursk-appeals/train.csv}
n=${2:-50000}
bin=${OTKLIK_BIN:-${CARGO_TARGET_DIR:-target}/release/otklik}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$data" "$n" "$work/examples.csv" <<'PY'
import csv, random, sys
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [(r["text"], r["label"]) for r in csv.DictReader(open(src, encoding="utf-8-sig")) if r["text"].strip()]
rng = random.Random(42)
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["text", "label"])
    for i in range(n):
        t, l = rng.choice(rows)
        w.writerow([f"{t} обращение {i}", l])
PY
peak() { grep -E "Maximum resident set size|Elapsed \(wall" "$1" | sed 's/^\s*//'; }
/usr/bin/time -v "$bin" classifier train --examples "$work/examples.csv" --out "$work/model" \
  >"$work/train.out" 2>"$work/train.time" || { cat "$work/train.out" "$work/train.time"; exit 1; }
tail -1 "$work/train.out"
echo "train ($n examples):"; peak "$work/train.time"
/usr/bin/time -v "$bin" classify --model "$work/model" \
  "Во дворе дома на улице Ленина третью неделю не вывозят мусор, контейнеры переполнены" \
  >"$work/classify.out" 2>"$work/classify.time" || { cat "$work/classify.out" "$work/classify.time"; exit 1; }
echo "load + classify one post:"; peak "$work/classify.time"
du -sh "$work/model" | sed 's/^/model on disk: /'
