#!/bin/bash
# MEMIT on the toy world with 1, 10, 100 and 600 records per edit batch (the experiment config's
# edit_batch; 600 is every record of data/toy-world/counterfact.json), the same 600 records and
# hparams (configs/memit/toy-world.json); prints one table row per batch size.
# Usage: experiments/toy-world/memit-batch.sh [EDITLAB] [OUT]   (from the repository root)
set -euo pipefail
EDITLAB=${1:-build/editlab}
OUT=${2:-out/toy-world/memit-batch}
for n in 1 10 100 600; do
  "$EDITLAB" run experiments/toy-world/memit.json --limit 600 --edit-batch "$n" --out "$OUT/batch-$n" --format none
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
keys = ["efficacy/success", "paraphrase/success", "specificity/NS", "specificity_plus/NS+", "loud/rate",
        "implication/transitive_memorised/success_known"]
print("| records per batch | " + " | ".join(keys) + " |")
print("|---" * (len(keys) + 1) + "|")
for n in [1, 10, 100, 600]:
    r = json.load(open(f"{sys.argv[1]}/batch-{n}/report.json"))
    a = r["aggregates"]
    cell = lambda k: f"{a[k]['mean']:.2f} [{a[k]['ci'][0]:.2f}, {a[k]['ci'][1]:.2f}]" if k in a else "-"
    print(f"| {n} | " + " | ".join(cell(k) for k in keys) + " |")
PY
