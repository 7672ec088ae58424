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
#
# --pipeline (issue 27): whole pipelines on the toy world's first N records (default 200):
# `editlab run` (experiments/toy-world/rome-counterfact-plus.json: suites efficacy, paraphrase,
# specificity, specificity_plus) against the original Python pipeline
# (scripts/time_reference_pipeline.py in .venv-ref: kmeng01/rome's apply_rome_to_model and evaluate
# loop, specificityplus's CounterFact+ metrics), same model, hparams, records, statistics (editlab's,
# exported once to DIR/stats.npz), context templates (DIR/templates.json) and threads, both with
# OMP_WAIT_POLICY=PASSIVE. Prints records/s of each (the per-record loop, and the whole command
# with process start and setup), the ratios, and the metrics of both sides with their agreement.
#
#   scripts/rome-side-by-side.sh --pipeline --rome-dir ROME --specificityplus-dir SPP [--records N]
#       [--threads N] [--dir DIR] [--rome-commit SHA] [--specificityplus-commit SHA]
#
# ROME, SPP: checkouts (or `git archive` exports) of github.com/kmeng01/rome and
# github.com/apartresearch/specificityplus, imported from there, never copied (commits: read with
# git from checkouts, else give them). DIR keeps editlab/report.json, reference.json (summary and
# per-record metrics) and reference.log (ROME's printing). REFERENCE_PYTHON overrides
# .venv-ref/bin/python.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=2
runs=3
dir=""
keep=0
pipeline=0
records=200
rome_dir=""
spp_dir=""
rome_commit=""
spp_commit=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --dir) dir="$2"; keep=1; shift 2 ;;
    --pipeline) pipeline=1; shift ;;
    --records) records="$2"; shift 2 ;;
    --rome-dir) rome_dir="$2"; shift 2 ;;
    --specificityplus-dir) spp_dir="$2"; shift 2 ;;
    --rome-commit) rome_commit="$2"; shift 2 ;;
    --specificityplus-commit) spp_commit="$2"; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "rome-side-by-side.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
editlab=${EDITLAB:-build/editlab}
[[ -x "$editlab" ]] || { echo "rome-side-by-side.sh: $editlab not built (scripts/setup.sh)" >&2; exit 2; }
if [[ $pipeline == 1 ]]; then
  py=${REFERENCE_PYTHON:-.venv-ref/bin/python}
  [[ -x "$py" ]] || { echo "rome-side-by-side.sh: $py missing (scripts/reference/setup-venv.sh)" >&2; exit 2; }
  [[ -n "$rome_dir" && -n "$spp_dir" ]] ||
    { echo "rome-side-by-side.sh: --pipeline needs --rome-dir and --specificityplus-dir (see --help)" >&2; exit 2; }
  [[ -f "$rome_dir/rome/rome_main.py" ]] ||
    { echo "rome-side-by-side.sh: $rome_dir/rome/rome_main.py not found: --rome-dir is a checkout of kmeng01/rome" >&2; exit 2; }
  [[ -f "$spp_dir/experiments/py/eval_utils_counterfact.py" ]] ||
    { echo "rome-side-by-side.sh: $spp_dir/experiments/py/eval_utils_counterfact.py not found: --specificityplus-dir is a checkout of apartresearch/specificityplus" >&2; exit 2; }
  [[ "$records" =~ ^[1-9][0-9]*$ ]] || { echo "rome-side-by-side.sh: --records takes a positive number" >&2; exit 2; }
fi
if [[ -z "$dir" ]]; then
  dir=$(mktemp -d)
fi
[[ $keep == 1 ]] || trap 'rm -rf "$dir"' EXIT

if [[ $pipeline == 1 ]]; then
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  export OMP_WAIT_POLICY=PASSIVE
  # The experiment with absolute paths, the shared statistics and templates and the first N
  # records; the layer, sample count, dtype and corpus of the statistics; the first record as an
  # edit spec (for the templates).
  read -r layer samples mom2_dtype corpus model hparams dataset < <(
    "$py" - experiments/toy-world/rome-counterfact-plus.json "$dir" "$records" "$threads" <<'PY'
import json, os, sys
experiment, out, records, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
base = os.path.dirname(os.path.abspath(experiment))
with open(experiment) as f:
    c = json.load(f)
for key in ("model", "hparams", "dataset"):
    c[key] = os.path.normpath(os.path.join(base, c[key]))
corpus = os.path.normpath(os.path.join(base, c["rome"]["stats_corpus"]))
c["rome"] = {"stats": os.path.join(out, "stats.npz"), "context_templates": os.path.join(out, "templates.json")}
c.update(select={"limit": records}, threads=threads, out=os.path.join(out, "editlab"))
with open(os.path.join(out, "experiment.json"), "w") as f:
    json.dump(c, f, indent=1)
with open(c["hparams"]) as f:
    h = json.load(f)
with open(c["dataset"]) as f:
    first = json.load(f)[0]
with open(os.path.join(out, "first-record.json"), "w") as f:
    json.dump(first, f)
print(h["layers"][0], h["mom2_n_samples"], h["mom2_dtype"], corpus, c["model"], c["hparams"], c["dataset"])
PY
  )
  echo "statistics: editlab's second moment, layer $layer, $corpus, $samples samples, $mom2_dtype -> $dir/stats.npz"
  "$editlab" --threads "$threads" stats --model "$model" --layer "$layer" --corpus "$corpus" --samples "$samples" \
    --mom2-dtype "$mom2_dtype" --out "$dir/stats.safetensors" --json >"$dir/stats.json"
  "$py" - "$dir/stats.safetensors" "$dir/stats.npz" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
t = load_file(sys.argv[1])  # to ROME's published .npz layout: mom2.mom2 and mom2.count
np.savez(sys.argv[2], **{"mom2.mom2": t["mom2.mom2"],
                         "mom2.count": np.array(int(t["mom2.count"].reshape(-1)[0]), dtype=np.int64)})
PY
  echo "context templates: editlab's (template seed 0) -> $dir/templates.json"
  "$editlab" --threads "$threads" edit --model "$model" --method rome --hparams "$hparams" --stats "$dir/stats.npz" \
    --edit "$dir/first-record.json" --save-context-templates "$dir/templates.json" --json >/dev/null

  echo "editlab run, first $records records, $threads threads:"
  rm -rf "$dir/editlab"
  start=$(date +%s%N)
  "$editlab" --threads "$threads" run "$dir/experiment.json" --format none
  end=$(date +%s%N)
  editlab_wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')

  echo "reference pipeline (scripts/time_reference_pipeline.py), first $records records, $threads threads:"
  commits=()
  [[ -z "$rome_commit" ]] || commits+=(--rome-commit "$rome_commit")
  [[ -z "$spp_commit" ]] || commits+=(--specificityplus-commit "$spp_commit")
  start=$(date +%s%N)
  "$py" scripts/time_reference_pipeline.py --rome-dir "$rome_dir" --specificityplus-dir "$spp_dir" ${commits[@]+"${commits[@]}"} \
    --model "$model" --dataset "$dataset" --hparams "$hparams" --records "$records" --stats "$dir/stats.npz" \
    --context-templates "$dir/templates.json" --threads "$threads" --log "$dir/reference.log" \
    --editlab-report "$dir/editlab/report.json" --out "$dir/reference.json" >/dev/null
  end=$(date +%s%N)
  reference_wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')

  "$py" - "$dir/editlab/report.json" "$dir/reference.json" "$editlab_wall" "$reference_wall" <<'PY'
import json, sys
e, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ew, rw = float(sys.argv[3]), float(sys.argv[4])
ne, nr = e["timings"]["records_processed"], r["records"]
el, rl = e["timings"]["records_per_second"], r["records_per_second"]
rs = r["seconds"]
print(f"reference code: kmeng01/rome {r['rome_commit']}, apartresearch/specificityplus {r['specificityplus_commit']}")
print(f"per-record loop: editlab {el:.3f} records/s ({ne} in {e['timings']['loop']:.1f} s), reference {rl:.3f} "
      f"records/s ({nr} in {rs['loop']:.1f} s: edit {rs['edit']:.1f}, evaluation {rs['eval_post'] + rs['eval_pre']:.1f})"
      f": editlab {el / rl:.1f}x")
print(f"whole command (process start, setup, loop): editlab {ne / ew:.3f} records/s ({ew:.1f} s), "
      f"reference {nr / rw:.3f} records/s ({rw:.1f} s): editlab {(ne / ew) / (nr / rw):.1f}x")
print(f"metrics over the {r['agreement']['records_common']} common records (mean of record means; share of prompts "
      f"agreeing for 0/1 metrics; largest per-prompt difference):")
for key, m in r["agreement"]["metrics"].items():
    agree = f", agree {m['prompts_agreeing']:.4f}" if "prompts_agreeing" in m else ""
    print(f"  {key:27s} editlab {m['editlab_mean']:.4f}  reference {m['reference_mean']:.4f}  "
          f"({m['prompts']} prompts{agree}, max diff {m['max_abs_diff']:.2g})")
PY
  exit 0
fi
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
