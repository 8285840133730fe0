#!/usr/bin/env bash
# Memory of a classifier with the whole rule set and N labelled examples loaded (target:
# <= 200 MB with 50,000). The examples are the labelled appeals repeated with a running
# number appended until N (the vocabulary then grows like a real corpus's would not, which
# makes this a pessimistic figure). Usage: benches/classifier-memory.sh [DATA.csv] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/kursk-appeals/train.csv}
n=${2:-50000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$data" "$n" "$work/examples.csv" <<'PY'
import csv, sys
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [(r["text"], r["label"]) for r in csv.DictReader(open(src, encoding="utf-8-sig")) if r["text"].strip()]
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["text", "label"])
    for i in range(n):
        t, l = rows[i % len(rows)]
        w.writerow([f"{t} обращение {i}", l])
PY
bin=target/release/otklik
/usr/bin/time -f "train: %e s, max RSS %M KiB" "$bin" classifier train --examples "$work/examples.csv" --out "$work/model" 2>&1 | grep -v "^ *$" | tail -2
/usr/bin/time -f "load + classify: %e s, max RSS %M KiB" "$bin" classify --model "$work/model" \
  "Во дворе дома на улице Ленина третью неделю не вывозят мусор, контейнеры переполнены" 2>&1 | tail -1
du -sh "$work/model" | sed 's/^/model on disk: /'
