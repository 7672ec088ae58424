#!/bin/bash
# ROME on the toy world's first 200 records (experiments/toy-world/rome.json, 2 threads) with 1, 8,
# 32 and 128 records probed together (--record-batch); prints each run's wall time, records/s of
# the loop, the edit and probe seconds per record, and the largest difference of any per-record
# metric from the one-at-a-time run (float32: rounding only).
# Usage: experiments/toy-world/record-batch.sh [EDITLAB] [OUT] [SIZES] [CONFIG] [LIMIT]
#   (from the repository root). CONFIG=experiments/gpt2-small-shape/rome.json LIMIT=50: the same
#   on a random-weight GPT-2-small-shaped model (12 layers, 768 wide, GPT-2's vocabulary) with
#   ROME's GPT-2 hparams, random-key statistics and fixed templates, written first to
#   out/gpt2-small-shape by scripts/time_rome_reference.py setup (about 500 MB).
set -euo pipefail
EDITLAB=${1:-build/editlab}
OUT=${2:-out/toy-world/record-batch}
SIZES=${3:-"1 8 32 128"}
CONFIG=${4:-experiments/toy-world/rome.json}
LIMIT=${5:-200}
export OMP_WAIT_POLICY=PASSIVE
if [[ $CONFIG == experiments/gpt2-small-shape/* && ! -f out/gpt2-small-shape/model/model.safetensors ]]; then
  /usr/bin/python3 scripts/time_rome_reference.py setup out/gpt2-small-shape
fi
for n in $SIZES; do
  rm -rf "$OUT/batch-$n"
  start=$(date +%s.%N)
  "$EDITLAB" run "$CONFIG" --limit "$LIMIT" --record-batch "$n" --out "$OUT/batch-$n" --format none \
    >/dev/null 2>&1
  awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }' > "$OUT/batch-$n/wall.txt"
done
/usr/bin/python3 - "$OUT" $SIZES <<'PY'
import json, sys
out, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
runs = {n: json.load(open(f"{out}/batch-{n}/report.json")) for n in sizes}
walls = {n: float(open(f"{out}/batch-{n}/wall.txt").read()) for n in sizes}
base = runs[sizes[0]]
def worst(r):
    w = 0.0
    for a, b in zip(base["records"], r["records"]):
        for k, v in a.get("metrics", {}).items():
            for x, y in zip(v, b["metrics"].get(k, [])):
                w = max(w, abs(x - y))
    return w
print(f"| record_batch | whole command | records/s (loop) | edit / probes per record | largest metric difference from {sizes[0]} |")
print("|---|---|---|---|---|")
for n in sizes:
    r = runs[n]
    sec = [x["seconds"] for x in r["records"]]
    edit = sum(s["edit"] for s in sec) / len(sec)
    probe = sum(s["probe"] for s in sec) / len(sec)
    rate = r["timings"]["records_per_second"]
    print(f"| {n} | {walls[n]:.1f} s | {rate:.2f} ({rate / base['timings']['records_per_second']:.2f}x) | "
          f"{edit:.3f} / {probe:.3f} s | {worst(r):.1e} |")
PY
