#!/bin/bash
# The seed's hypothesis ("editing facts during inference could better handle logical implications"),
# on the toy world's first 200 records (the demo's): the weight editors ROME, r-ROME, MEMIT, AlphaEdit,
# FT, FT-L against the inference-time editors rome-patch (ROME's delta added at the subject's tokens
# at inference) and IKE (in-context demonstrations). Runs each experiment whose report is missing
# (about 2 minutes each on 2 cores), prints the side-by-side table and a verdict per implication kind.
# Usage: experiments/toy-world/hypothesis.sh [EDITLAB]   (from the repository root; needs jq)
set -euo pipefail
EDITLAB=${1:-build/editlab}
OUT=out/toy-world
methods=(rome r-rome memit alphaedit ft ft-l rome-patch ike)
for m in "${methods[@]}"; do
  if [ ! -f "$OUT/$m/report.json" ]; then
    "$EDITLAB" run "experiments/toy-world/$m.json" --format none
  fi
done
reports=()
for m in "${methods[@]}"; do reports+=("$OUT/$m/report.json"); done
kinds=(transitive_memorised transitive_composed symmetric inverse alias)
"$EDITLAB" report "${reports[@]}" --names "$(IFS=,; echo "${methods[*]}")" |
  grep -E '^\|---|^\| (metric|efficacy/success|paraphrase/success|specificity/NS|specificity_plus/NS\+|loud/rate|implication/[a-z_]+/(success_known|success)|implication/relation_specificity/success) '
echo
# "mean [lo, hi]" of a metric, or null
ci() { jq -c --arg k "$2" '.aggregates[$k] | if . == null then null else [.mean, .ci[0], .ci[1], .values] end' "$OUT/$1/report.json"; }
verdicts=()
for inf in rome-patch ike; do
  es=$(jq '.aggregates["efficacy/success"].mean' "$OUT/$inf/report.json")
  if [ "$(jq -n "$es < 0.5")" = true ]; then
    echo "$inf: efficacy $es: it does not make the edit on this model, so it says nothing about implications."
    continue
  fi
  better=0 worse=0 tie=0
  for k in "${kinds[@]}"; do
    metric="implication/$k/success_known"
    mine=$(ci "$inf" "$metric")
    if [ "$mine" = null ]; then echo "  $k: not measured for $inf (no probe the model knew)"; continue; fi
    best=null best_name=
    for w in rome r-rome memit alphaedit ft ft-l; do
      c=$(ci "$w" "$metric")
      if [ "$c" != null ] && { [ "$best" = null ] || [ "$(jq -n "$c[0] > $best[0]")" = true ]; }; then best=$c best_name=$w; fi
    done
    if [ "$best" = null ]; then continue; fi
    if [ "$(jq -n "$mine[1] > $best[2]")" = true ]; then verdict=better; better=$((better + 1))
    elif [ "$(jq -n "$mine[2] < $best[1]")" = true ]; then verdict=worse; worse=$((worse + 1))
    else verdict="no different (intervals overlap)"; tie=$((tie + 1)); fi
    printf '  %s: %s %s against the best weight editor (%s %s): %s\n' "$k" "$inf" \
      "$(jq -nr "$mine | \"\(.[0]*100|round/100) [\(.[1]*100|round/100), \(.[2]*100|round/100)] over \(.[3]) probes\"")" \
      "$best_name" "$(jq -nr "$best | \"\(.[0]*100|round/100) [\(.[1]*100|round/100), \(.[2]*100|round/100)]\"")" "$verdict"
  done
  if [ $better -gt 0 ] && [ $worse -eq 0 ]; then v="supported ($better of $((better + worse + tie)) kinds better, none worse)"
  elif [ $worse -gt 0 ] && [ $better -eq 0 ]; then v="not supported ($worse of $((better + worse + tie)) kinds worse, none better)"
  elif [ $better -gt 0 ]; then v="mixed ($better kinds better, $worse worse)"
  else v="undecided (every interval overlaps the best weight editor's)"; fi
  echo "-> $inf: the hypothesis is $v."
  verdicts+=("$inf: $v")
done
