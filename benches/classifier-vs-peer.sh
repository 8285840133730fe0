#!/usr/bin/env bash
# Otklik's classifier against its peer (TF-IDF word+char n-grams with LinearSVC, scikit-learn)
# in the same run, on the same stratified folds. Usage:
#   benches/classifier-vs-peer.sh [DATA.csv] [FOLDS]
# Needs: a release build (`cargo build --release`; the binary is $OTKLIK_BIN, else
# ${CARGO_TARGET_DIR:-target}/release/otklik), python3 with scikit-learn
# (`pip install scikit-learn`).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/kursk-appeals/train.csv}
folds=${2:-5}
bin=${OTKLIK_BIN:-${CARGO_TARGET_DIR:-target}/release/otklik}
for column in label executor; do
  ours=$(taskset -c 0 "$bin" classifier eval --folds "$folds" --train "$data" --label-column "$column" 2>/dev/null | tail -1)
  peer=$(taskset -c 0 python3 benches/peer/tfidf_svc.py --folds "$folds" --train "$data" --label-column "$column" 2>/dev/null | tail -1)
  python3 - "$column" "$ours" "$peer" <<'PY'
import json, sys
col, ours, peer = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"{col}:")
for k in ["accuracy", "macro_f1", "weighted_f1", "texts_per_second"]:
    o, p = ours[k], peer[k]
    print(f"  {k:<17} otklik {o:10.3f}   peer {p:10.3f}   ratio {o / p if p else float('nan'):6.2f}")
PY
done
