#!/usr/bin/env bash
# Measures a candidate toy-world model the way issue 12's table needs it, with editlab's own commands:
#   1. editlab toy-world check        what it knows (training / held-out phrasings, composition, marriages)
#   2. editlab trace                  where it recalls (mean IE per layer at the last subject token and last token)
#   3. editlab run (ROME as published) fact_token subject_last, GPT-2 XL's v_lr, steps, clamp, KL, at LAYER
# and prints one line of figures. Everything lands in OUT (check.json, trace/, rome-L<layer>/).
#
# usage: scripts/measure-candidate.sh --model DIR --world DIR --out DIR [--layers L1,L2,...] [--records N]
#        [--trace-records N] [--threads N] [--editlab PATH]
# --layers: the ROME layers to try (default: the layer where the trace's last-subject-token MLP IE peaks).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL= WORLD= OUT= LAYERS= RECORDS=40 TRACE_RECORDS=100 THREADS=2 EDITLAB=build/editlab
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL=$2; shift 2 ;;
    --world) WORLD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --layers) LAYERS=$2; shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --trace-records) TRACE_RECORDS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --editlab) EDITLAB=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "measure-candidate.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$MODEL" ] && [ -n "$WORLD" ] && [ -n "$OUT" ] || { echo "measure-candidate.sh: --model, --world and --out are required" >&2; exit 2; }
[ -x "$EDITLAB" ] || { echo "measure-candidate.sh: $EDITLAB not found; build first" >&2; exit 2; }
export OMP_WAIT_POLICY=PASSIVE
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
MODEL=$(cd "$MODEL" && pwd)
WORLD=$(cd "$WORLD" && pwd)

"$EDITLAB" --threads "$THREADS" toy-world check --model "$MODEL" --world "$WORLD" --json > "$OUT/check.json"
"$EDITLAB" --threads "$THREADS" trace --model "$MODEL" --dataset "$WORLD/counterfact.json" --limit "$TRACE_RECORDS" \
  --out "$OUT/trace" --json > "$OUT/trace-summary.json"
N_LAYER=$(jq '.n_layer // empty' "$MODEL/config.json")
if [ -z "$LAYERS" ]; then LAYERS=$(jq -r '.kinds.mlp.last_subject_peak_layer' "$OUT/trace-summary.json"); fi

for L in ${LAYERS//,/ }; do
  jq --argjson l "$L" --argjson last "$((N_LAYER - 1))" --arg stats "$WORLD/stats.txt" \
    '.layers = [$l] | .v_loss_layer = $last | .mom2_dataset = $stats' configs/rome/gpt2-xl.json > "$OUT/rome-L$L.hparams.json"
  jq -n --arg model "$MODEL" --arg hp "$OUT/rome-L$L.hparams.json" --arg data "$WORLD/counterfact.json" \
    --arg stats "$WORLD/stats.txt" --argjson n "$RECORDS" --arg out "$OUT/rome-L$L" \
    '{model: $model, method: "rome", hparams: $hp, dataset: $data, select: {limit: $n},
      suites: ["efficacy", "paraphrase", "specificity", "specificity_plus", "loud"], seed: 0,
      rome: {stats_corpus: $stats}, out: $out}' > "$OUT/rome-L$L.experiment.json"
  "$EDITLAB" --threads "$THREADS" run "$OUT/rome-L$L.experiment.json" --format none
done

jq -r '"check: " + ([.figures | to_entries[] | "\(.key) \(.value.share * 1000 | round / 10)%"] | join(", "))' "$OUT/check.json"
jq -r '.kinds | to_entries[] | "trace \(.key): last-subject IE peaks at layer \(.value.last_subject_peak_layer) (\(.value.last_subject_peak_ie*1000|round/1000)); last token there \(.value.last_token_ie_at_peak_layer*1000|round/1000)"' "$OUT/trace-summary.json"
for L in ${LAYERS//,/ }; do
  jq -r --arg l "$L" '.aggregates as $a | "ROME subject_last layer \($l): ES \($a["efficacy/success"].mean*100|round/100) PS \($a["paraphrase/success"].mean*100|round/100) NS \($a["specificity/NS"].mean*100|round/100) NS+ \($a["specificity_plus/NS+"].mean*100|round/100) loud \($a["loud/rate"].mean*100|round/100) (before \($a["loud/rate_before"].mean*100|round/100)); edit \(.timings.edit / .summary.ok * 100 | round / 100) s/record"' "$OUT/rome-L$L/report.json"
done
