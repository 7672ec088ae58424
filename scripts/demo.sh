#!/usr/bin/env bash
# The demo: the seed's experiments (../shared/SEED.md) on the embedded toy world.
#   1. ROME "The Louvre is located in" -> Rome: generations before and after for the rewrite
#      prompt, a paraphrase, the transitive question (the country), another attribute of the
#      Louvre (its architect: relation specificity) and a loud-fact prompt;
#   2. the same edit with FT and FT-L, side by side;
#   3. symmetric implication: "Michelle Obama is married to" -> Donald Trump, both couples probed
#      in both directions, and Michelle Obama's alias ("M. Obama is married to");
#   4. CounterFact+ runs over the toy-world dataset for the unedited model, ROME, FT and FT-L:
#      the summary table with confidence intervals, the plots, and what they show;
#   5. the implication questions on data/toy-world/implications.json (edits chosen for what they
#      imply: at least 120 probes of each kind) with ROME, FT and FT-L, each kind judged on the
#      probes whose old implied fact the unedited model knew.
# Everything goes to out/demo/ (reports, journals, plots, summary.md, report.html for section 4,
# implications.html for section 5, conclusions.txt).
# Installs and builds what it needs through scripts/setup.sh.
# usage: scripts/demo.sh [--records N] [--implications N]
#   --records N        CounterFact records in section 4 (default 200)
#   --implications N   implications.json records in section 5 (default all 480; 0 skips it)
set -euo pipefail
cd "$(dirname "$0")/.."
records=200
implications=all
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records="$2"; shift 2 ;;
    --implications) implications="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
# On two busy cores, OpenMP threads that sleep instead of spinning are several times faster.
export OMP_WAIT_POLICY=PASSIVE
start=$(date +%s)

scripts/setup.sh --no-build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
echo "demo: building editlab (the first build takes several minutes)"
cmake --build build --target editlab -j "$(nproc)" | tail -n 1

E=build/editlab
TW=data/toy-world
OUT=out/demo
rm -rf "$OUT"
mkdir -p "$OUT"
editlab() { "$E" --threads 2 "$@"; }
section() { printf '\n\033[1m== %s ==\033[0m\n' "$1"; }
# The n-th record of the seed's cases as its own edit file.
seed_case() { jq ".[$1]" "$TW/seed-examples.json" >"$OUT/seed-case-$1.json"; echo "$OUT/seed-case-$1.json"; }

louvre=$(seed_case 0)
paraphrase=$(jq -r '.paraphrase_prompts[0]' "$louvre")
transitive=$(jq -r '[.implications[] | select(.kind | startswith("transitive"))][0].prompt' "$louvre")
other_attribute=$(jq -r '[.implications[] | select(.kind == "relation_specificity")][0].prompt' "$louvre")
loud=$(jq -r '.mention_prompts[0]' "$louvre")
rome_stats=(--stats-corpus "$TW/stats.txt")

section "1. ROME: \"The Louvre is located in\" -> Rome"
for method in rome ft ft-l; do
  extra=()
  [ "$method" = rome ] && extra=("${rome_stats[@]}")
  editlab edit --model "$TW/model" --method "$method" --hparams "configs/$method/toy-world.json" --edit "$louvre" \
    "${extra[@]}" --probe-edits --probe "$paraphrase" --probe "$transitive" --probe "$other_attribute" --probe "$loud" \
    --json >"$OUT/louvre-$method.json" \
    2>"$OUT/louvre-$method.log"
done
show_edit() {  # FILE: generations before -> after, and the target's probability
  jq -r '.before.targets[0] as $b | .after.targets[0] as $a |
    "  p(\($b.target_new)) \($b.p_new*1000|round/1000) -> \($a.p_new*1000|round/1000);  p(\($b.target_true)) \($b.p_true*1000|round/1000) -> \($a.p_true*1000|round/1000)",
    (range(.before.generations|length) as $i | "  \(.before.generations[$i].prompt)\n     before: \(.before.generations[$i].continuation)\n     after:  \(.after.generations[$i].continuation)")' "$1"
}
show_edit "$OUT/louvre-rome.json"

section "2. The same edit with FT and FT-L (after the edit)"
for probe in "$(jq -r '.requested_rewrite as $r | $r.prompt | sub("\\{\\}"; $r.subject)' "$louvre")" "$paraphrase" "$transitive" \
  "$other_attribute" "$loud"; do
  echo "  $probe"
  for method in rome ft ft-l; do
    printf '     %-5s %s\n' "$method" "$(jq -r --arg p "$probe" '.after.generations[] | select(.prompt == $p) | .continuation' "$OUT/louvre-$method.json" | head -n 1)"
  done
done

section "3. Symmetry: \"Michelle Obama is married to\" -> Donald Trump (ROME)"
michelle=$(seed_case 3)
editlab edit --model "$TW/model" --method rome --hparams configs/rome/toy-world.json --edit "$michelle" "${rome_stats[@]}" --probe-edits \
  --probe "Donald Trump is married to" --probe "Barack Obama is married to" --probe "Melania Trump is married to" \
  --probe "$(jq -r '[.implications[] | select(.kind == "alias")][0].prompt' "$michelle")" \
  --json >"$OUT/marriage-rome.json" 2>"$OUT/marriage-rome.log"
show_edit "$OUT/marriage-rome.json"

section "4. CounterFact+ over $records toy-world records: unedited, ROME, FT, FT-L"
reports=()
for name in unedited rome ft ft-l; do
  editlab run "experiments/toy-world/$name.json" --limit "$records" --details --out "$OUT/$name" --format none
  reports+=("$OUT/$name/report.json")
done
editlab report "${reports[@]}" --names unedited,rome,ft,ft-l --format md | tee "$OUT/summary.md"
editlab report "${reports[@]}" --names unedited,rome,ft,ft-l --format html --out "$OUT/report.html"
/usr/bin/python3 scripts/plot_report.py "${reports[@]}" --out "$OUT/plots" >/dev/null && echo "plots: $OUT/plots/"

section "5. Implications over ${implications} records of implications.json: ROME, FT, FT-L"
implication_methods=()
if [ "$implications" != 0 ]; then
  limit=(); [ "$implications" = all ] || limit=(--limit "$implications")
  for name in rome ft ft-l; do
    editlab run "experiments/toy-world/implications-$name.json" "${limit[@]}" --out "$OUT/implications-$name" --format none
    implication_methods+=("$name")
  done
  implication_reports=()
  for name in "${implication_methods[@]}"; do implication_reports+=("$OUT/implications-$name/report.json"); done
  editlab report "${implication_reports[@]}" --names "$(IFS=,; echo "${implication_methods[*]}")" --format html \
    --out "$OUT/implications.html"
fi

section "What this run measured"
# mean and interval of a metric in a report, as "0.81 [0.76, 0.86]"
m() { jq -r --arg k "$2" '.aggregates[$k] | if . == null then "n/a" else "\(.mean*100|round/100) [\(.ci[0]*100|round/100), \(.ci[1]*100|round/100)]" end' "$OUT/$1/report.json"; }
v() { jq -r --arg k "$2" '.aggregates[$k].mean // "null"' "$OUT/$1/report.json"; }
# an implication kind's success over the probes the unedited model knew, with their count:
# "0.41 [0.3, 0.52] over 57 known probes (of 80)"
mk() { jq -r --arg k "implication/$2" '.aggregates as $a | ($a[$k + "/success_known"]) as $s | ($a[$k + "/known"]) as $n |
  if $s == null then "n/a (no probe the unedited model knew)" else "\($s.mean*100|round/100) [\($s.ci[0]*100|round/100), \($s.ci[1]*100|round/100)] over \($s.values) known probes (of \($n.values))" end' "$OUT/$1/report.json"; }
# "A < B" for two jq expressions over numbers ("0.02 + 0.1"); false when either is not a number (null)
lt() { jq -n "($1) as \$a | ($2) as \$b | if (\$a | type) == \"number\" and (\$b | type) == \"number\" then \$a < \$b else false end" 2>/dev/null || echo false; }
# ci BOUND: the lower (0) or upper (1) end of a metric's interval in implications-NAME's report, or null
ci() { jq -r --arg k "implication/$2/success_known" ".aggregates[\$k].ci[$3] // \"null\"" "$OUT/implications-$1/report.json"; }
# The verdict on one implication kind: ROME against the seed's claim (it ignores implications:
# success on known probes below 0.5), then FT against ROME (intervals apart or not).
implication_verdict() {
  local kind=$1 lo hi verdict
  lo=$(ci rome "$kind" 0); hi=$(ci rome "$kind" 1)
  if [ "$hi" = null ]; then
    verdict="not measured: the unedited model knew none of these implied facts"
  elif [ "$(lt "$hi" 0.5)" = true ]; then
    verdict="ROME mostly leaves the implied fact unchanged (interval below 0.5): as the seed found, ROME ignores this implication"
  elif [ "$(lt 0.5 "$lo")" = true ]; then
    verdict="ROME's edit carries to the implied fact in most known probes (interval above 0.5): unlike the seed's finding, ROME follows this implication here"
  else
    verdict="undecided for ROME (the interval includes 0.5)"
  fi
  if [ "$hi" != null ] && [ "$(ci ft "$kind" 1)" != null ]; then
    if [ "$(lt "$hi" "$(ci ft "$kind" 0)")" = true ]; then
      verdict+="; FT carries it more often than ROME (intervals apart)"
    elif [ "$(lt "$(ci ft "$kind" 1)" "$lo")" = true ]; then
      verdict+="; FT carries it less often than ROME (intervals apart)"
    else
      verdict+="; FT and ROME not told apart (intervals overlap)"
    fi
  fi
  echo "$verdict."
}
{
  echo "Efficacy (ROME / FT / FT-L): $(m rome efficacy/success) / $(m ft efficacy/success) / $(m ft-l efficacy/success)."
  echo "Specificity vs Specificity+ (NS -> NS+): unedited $(m unedited specificity/NS) -> $(m unedited specificity_plus/NS+);" \
       "ROME $(m rome specificity/NS) -> $(m rome specificity_plus/NS+); FT $(m ft specificity/NS) -> $(m ft specificity_plus/NS+);" \
       "FT-L $(m ft-l specificity/NS) -> $(m ft-l specificity_plus/NS+)."
  drop_rome=$(jq -n --argjson a "$(v rome specificity/NS)" --argjson b "$(v rome specificity_plus/NS+)" '$a - $b')
  drop_none=$(jq -n --argjson a "$(v unedited specificity/NS)" --argjson b "$(v unedited specificity_plus/NS+)" '$a - $b')
  if [ "$(lt "$drop_none + 0.1" "$drop_rome")" = true ]; then
    echo "  -> Reproduced: after ROME, prefixing the edit sentence costs $(jq -n "$drop_rome*100|round/100") of NS, against $(jq -n "$drop_none*100|round/100") on the unedited model; Specificity alone misses this."
  else
    echo "  -> Not reproduced here: ROME's NS+ falls no more than 0.1 below what the unedited model loses to the prefix ($(jq -n "$drop_rome*100|round/100") vs $(jq -n "$drop_none*100|round/100"))."
  fi
  echo "Loud facts (target_new becomes the answer to an unrelated prompt after a mere mention), before -> after:" \
       "ROME $(m rome loud/rate_before) -> $(m rome loud/rate); FT $(m ft loud/rate); FT-L $(m ft-l loud/rate)."
  echo "  Mean log-prob of target_new after the mention, gain over the unedited model: ROME $(m rome loud/logprob_gain) nats;" \
       "FT $(m ft loud/logprob_gain); FT-L $(m ft-l loud/logprob_gain)."
  gain_low=$(jq -r '.aggregates["loud/logprob_gain"].ci[0]' "$OUT/rome/report.json")
  if [ "$(lt "$(v rome loud/rate_before) + 0.05" "$(v rome loud/rate)")" = true ]; then
    echo "  -> Reproduced: ROME makes the edited fact loud (it becomes the answer to unrelated prompts)."
  elif [ "$(lt 0 "$gain_low")" = true ]; then
    echo "  -> Partly reproduced: a mere mention raises target_new's log-probability on unrelated prompts" \
         "(the interval excludes 0), but it rarely becomes the top answer (rate within 0.05 of the unedited model's)."
  else
    echo "  -> Not reproduced here: neither the rate nor the log-probability of target_new rises after a mention."
  fi
  if [ ${#implication_methods[@]} -eq 0 ]; then
    echo "Implications: not run (--implications 0)."
  else
    echo "Implications (implications.json, $(jq '.summary.records' "$OUT/implications-rome/report.json") records): success after the edit" \
         "over the probes whose old implied fact the unedited model knew (n: known probes of all probes), and over all probes."
    for kind in transitive_memorised transitive_composed symmetric inverse alias; do
      case $kind in
        transitive_memorised) what="transitive, memorised (\"X is located in the country of\" follows the new city; the old country is stated in training; the seed's question)" ;;
        transitive_composed) what="transitive, composed (the same, but the old country is never stated: the model derives it; a question the seed could not ask)" ;;
        symmetric) what="symmetric (\"B is married to\" A after editing A -> B)" ;;
        inverse) what="inverse (\"The capital of Italy is\" Paris after editing Paris -> capital of Italy)" ;;
        alias) what="alias (\"B. Obama was born in\" follows an edit of \"Barack Obama was born in\")" ;;
      esac
      echo "  $what:"
      for name in "${implication_methods[@]}"; do
        printf '    %-5s %s; all probes %s\n' "$name" "$(mk "implications-$name" "$kind")" "$(m "implications-$name" "implication/$kind/success")"
      done
      echo "    -> $(implication_verdict "$kind")"
    done
  fi
  echo "Relation specificity (the edited subject's other attributes hold against target_new), success before -> after:" \
       "ROME $(m rome implication/relation_specificity/success_before) -> $(m rome implication/relation_specificity/success);" \
       "FT $(m ft implication/relation_specificity/success); FT-L $(m ft-l implication/relation_specificity/success)."
  rs_drop=$(jq -n --argjson a "$(v rome implication/relation_specificity/success_before)" --argjson b "$(v rome implication/relation_specificity/success)" '$a - $b')
  if [ "$(lt 0.05 "$rs_drop")" = true ]; then
    echo "  -> ROME leaks into the subject's other attributes: $(jq -n "$rs_drop*100|round/100") of them now prefer target_new."
  else
    echo "  -> ROME leaves the subject's other attributes in place (a drop of $(jq -n "$rs_drop*100|round/100"))."
  fi
} | tee "$OUT/conclusions.txt"
echo
echo "demo: done in $(( $(date +%s) - start )) s; outputs in $OUT/"
