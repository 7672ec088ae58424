#!/bin/bash
# A CounterFact-sized independent run on the toy world (issue 27, docs/benchmarks-and-sequential.md,
# "A 20,000-record run"): N records (default 20,000, CounterFact's size) in two shards run side by
# side (1 thread each); shard 1 is killed with SIGKILL once its journal holds KILL_AT records and
# resumed with --resume; the shards are merged with `editlab merge`. Then it checks what a kill and a
# merge must keep:
#   - the merged report holds every record once, case_ids 0..N-1 in order;
#   - records are the shipped world's 2,387 editable facts repeated in order (as
#     sequential-memory.sh builds them), and every run starts from the unedited model, so record i
#     and record i mod 2,387 are the same edit: their metrics must agree (largest difference printed;
#     float32, records probed in groups of 32 with different neighbours: rounding only);
#   - the killed shard's resumed report covers its whole half, and its journal has no record twice.
# The method is FT with one step at layer 0 (the edit is cheap; probes dominate, as in most
# methods' runs at this scale), suites efficacy, paraphrase, specificity, specificity_plus and loud.
# Prints records/s of each shard's loop and of the whole (merged) run, and the checks.
# Usage: experiments/toy-world/scale-20k.sh [N=20000] [KILL_AT=3000] [EDITLAB=build/editlab] [WORK=out/scale-20k]
#        (from the repository root; needs jq; measured: 22 minutes for 20,000 on 2 cores)
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
n=${1:-20000}
kill_at=${2:-3000}
editlab=$(realpath "${3:-build/editlab}")
work=${4:-out/scale-20k}
mkdir -p "$work"
work=$(realpath "$work")
root=$(pwd)
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/repeated-records.sh"
repeated_records "$editlab" "$work" "$n"
cat >"$work/run-$n.json" <<EOF
{"model": "$root/data/toy-world/model", "method": "ft", "hparams": "ft-1step.json",
 "dataset": "counterfact-$n.json", "select": {"limit": $n},
 "suites": ["efficacy", "paraphrase", "specificity", "specificity_plus", "loud"],
 "seed": 0, "threads": 1, "out": "run-$n"}
EOF
rm -rf "$work/shard-1" "$work/shard-2" "$work/merged.json"
start=$(date +%s.%N)
"$editlab" run "$work/run-$n.json" --shard 1/2 --out "$work/shard-1" --format none 2>"$work/shard-1.log" &
first=$!
"$editlab" run "$work/run-$n.json" --shard 2/2 --out "$work/shard-2" --format none 2>"$work/shard-2.log" &
second=$!
# The journal's first line is its header; each further line is one record.
while [ ! -f "$work/shard-1/journal.jsonl" ] || [ "$(($(wc -l <"$work/shard-1/journal.jsonl") - 1))" -lt "$kill_at" ]; do
  kill -0 "$first" 2>/dev/null || { echo "shard 1 ended before $kill_at records" >&2; exit 1; }
  sleep 2
done
kill -KILL "$first"
wait "$first" || true
journaled=$(($(wc -l <"$work/shard-1/journal.jsonl") - 1))
echo "shard 1 killed (SIGKILL) with $journaled records journaled, $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}') s in"
"$editlab" run "$work/run-$n.json" --shard 1/2 --out "$work/shard-1" --resume --format none 2>"$work/shard-1-resumed.log"
wait "$second"
wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
"$editlab" merge "$work/shard-1/report.json" "$work/shard-2/report.json" --out "$work/merged.json" --quiet
/usr/bin/python3 - "$work" "$n" "$journaled" "$wall" <<'PY'
import json, sys
work, n, journaled, wall = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
merged = json.load(open(f"{work}/merged.json"))
records = merged["records"]
ids = [int(r["case_id"]) for r in records]
assert ids == list(range(n)), "the merged report does not hold case_ids 0..N-1 once each, in order"
facts = 2387
worst, compared = 0.0, 0
for r in records[facts:]:
    base = records[int(r["case_id"]) % facts]
    for k, v in r.get("metrics", {}).items():
        for x, y in zip(v if isinstance(v, list) else [v], base["metrics"][k] if isinstance(v, list) else [base["metrics"][k]]):
            if x is None or y is None:
                continue
            worst = max(worst, abs(x - y))
            compared += 1
lines = [json.loads(l) for l in open(f"{work}/shard-1/journal.jsonl")][1:]
journal_ids = [l["case_id"] for l in lines if "case_id" in l]
assert len(journal_ids) == len(set(journal_ids)), "a record is journaled twice"
for s in (1, 2):
    rep = json.load(open(f"{work}/shard-{s}/report.json"))
    t = rep["timings"]
    print(f"shard {s}: {len(rep['records'])} records, {t['records_processed']} processed in this process at"
          f" {t['records_per_second']:.2f} records/s (loop)"
          + (f"; {journaled} journaled before the kill" if s == 1 else ""))
print(f"merged: {len(records)} records, case_ids 0..{n - 1} once each; whole run (two shards side by side,"
      f" kill and resume included) {wall:.0f} s = {n / wall:.2f} records/s")
print(f"repeats of one edit: {compared} metric values compared, largest difference {worst:.3g}")
print(f"shard 1 journal: {len(journal_ids)} records, none twice")
PY
