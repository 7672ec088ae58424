#!/usr/bin/env bash
# ROME on a GPT-2-small-shaped model, side by side (issue 15, docs/performance.md): the whole
# `editlab edit` command (process start, model load, statistics load and inverse, the edit; no
# probes) against the reference algorithm's apply_rome_to_model alone
# (scripts/time_rome_reference.py: kmeng01/rome's compute_u / compute_v in PyTorch eager, every v
# step over the whole network, model already loaded), same model, statistics, templates, request
# and threads.
#
#   scripts/rome-side-by-side.sh [--threads N] [--runs N] [--dir DIR]
#
# DIR (default: a fresh temporary directory, removed afterwards) gets the ~500 MB model; give one
# to keep it between calls. Prints each run's seconds and the medians.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=2
runs=3
dir=""
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --dir) dir="$2"; keep=1; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "rome-side-by-side.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
editlab=${EDITLAB:-build/editlab}
[[ -x "$editlab" ]] || { echo "rome-side-by-side.sh: $editlab not built (scripts/setup.sh)" >&2; exit 2; }
if [[ -z "$dir" ]]; then
  dir=$(mktemp -d)
fi
[[ $keep == 1 ]] || trap 'rm -rf "$dir"' EXIT
[[ -f "$dir/model/model.safetensors" ]] || /usr/bin/python3 scripts/time_rome_reference.py setup "$dir"

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "editlab edit (whole command, no probes), $threads threads:"
editlab_times=()
for ((i = 1; i <= runs; i++)); do
  start=$(date +%s%N)
  "$editlab" --threads "$threads" edit --model "$dir/model" --hparams "$dir/hparams.json" \
    --stats "$dir/stats.npz" --context-templates "$dir/templates.json" --no-cache \
    --prompt "{} is located in the city of" --subject "The Eiffel Tower" --target-new Rome --json >"$dir/edit.json"
  end=$(date +%s%N)
  t=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
  editlab_times+=("$t")
  /usr/bin/python3 -c "
import json, sys
j = json.load(open(sys.argv[1])); l = j['edits'][0]['diagnostics']['layers'][0]
print(f'  run {sys.argv[2]}: {float(sys.argv[3]):.2f} s (setup {j[\"seconds\"][\"setup\"][\"total\"]:.2f}, edit {j[\"seconds\"][\"edit\"]:.2f}: '
      f'compute_u {l[\"seconds\"][\"compute_u\"]:.2f}, v prepare {l[\"seconds\"][\"prepare\"]:.2f}, forward {l[\"seconds\"][\"forward\"]:.2f}, '
      f'backward {l[\"seconds\"][\"backward\"]:.2f}; {l[\"steps\"]} v steps, work fraction {l[\"step_work_fraction\"]:.2f})')
" "$dir/edit.json" "$i" "$t"
done

echo "reference apply_rome_to_model (model loaded, templates cached), $threads threads:"
reference_times=()
while read -r line; do
  t=$(/usr/bin/python3 -c "import json, sys; print(json.loads(sys.argv[1])['total'])" "$line")
  reference_times+=("$t")
  echo "  $line"
done < <(/usr/bin/python3 scripts/time_rome_reference.py time "$dir" --threads "$threads" --runs "$runs")

e=$(printf '%s\n' "${editlab_times[@]}" | median)
r=$(printf '%s\n' "${reference_times[@]}" | median)
awk -v e="$e" -v r="$r" 'BEGIN {printf "median: editlab %.2f s, reference %.2f s: editlab is %.2fx faster\n", e, r, r / e}'
