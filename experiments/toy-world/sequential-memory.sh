#!/bin/bash
# Peak memory and records/s of a sequential run of N records on the toy world
# (docs/benchmarks-and-sequential.md, "Sequential editing"). The shipped world (seed 1) has 2,387
# editable facts: its counterfact.json of all of them (the first 600 are data/toy-world's) is
# repeated in order up to N records, case_ids 0..N-1. The method is FT with one step at layer 0,
# the cheapest edit (the baseline dominates memory whatever the method); suites efficacy,
# paraphrase, specificity, specificity_plus and loud; one measurement step after the last edit,
# so every record is observed twice. Prints "records, peak RSS in KB, records/s, wall seconds" and
# the size of out/baseline.bin while it existed.
# Usage: experiments/toy-world/sequential-memory.sh [N=10000] [EDITLAB=build/editlab] [WORK=out/sequential-memory]
#        (from the repository root; needs jq and /usr/bin/time; about 25 minutes for 10,000 on 2 cores)
set -euo pipefail
n=${1:-10000}
editlab=$(realpath "${2:-build/editlab}")
work=${3:-out/sequential-memory}
mkdir -p "$work"
work=$(realpath "$work")
root=$(pwd)
. "$(dirname "$0")/repeated-records.sh"
repeated_records "$editlab" "$work" "$n"
cat >"$work/sequential-$n.json" <<EOF
{"model": "$root/data/toy-world/model", "method": "ft", "hparams": "ft-1step.json",
 "dataset": "counterfact-$n.json", "select": {"limit": $n},
 "suites": ["efficacy", "paraphrase", "specificity", "specificity_plus", "loud"],
 "seed": 0, "threads": 1, "out": "run-$n", "sequential": {"every": $n, "first": 10}}
EOF
rm -rf "$work/run-$n"
# The spilled baseline's size, sampled while the run goes (it is removed at the end).
(
  size=0
  while [ ! -e "$work/run-$n/report.json" ]; do
    [ -e "$work/run-$n/baseline.bin" ] && size=$(stat -c %s "$work/run-$n/baseline.bin" 2>/dev/null || echo "$size")
    echo "$size" >"$work/baseline-bytes-$n"
    sleep 5
  done
) &
watcher=$!
trap 'kill "$watcher" 2>/dev/null || true' EXIT
OMP_WAIT_POLICY=PASSIVE /usr/bin/time -v "$editlab" run "$work/sequential-$n.json" --format none 2>"$work/run-$n.log"
wait "$watcher"
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/run-$n.log")
echo "records $n, peak RSS $rss KB, $(jq '.timings.records_per_second' "$work/run-$n/report.json") records/s," \
  "wall $(jq '.timings.wall' "$work/run-$n/report.json") s, baseline.bin at most $(cat "$work/baseline-bytes-$n") bytes"
