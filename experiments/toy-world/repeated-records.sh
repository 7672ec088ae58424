# Sourced by sequential-memory.sh and scale-20k.sh: repeated_records EDITLAB WORK N writes
# WORK/counterfact-N.json (the shipped world's 2,387 editable facts, all of them, repeated in order up
# to N records, case_ids 0..N-1; the first 600 are data/toy-world/counterfact.json's) and
# WORK/ft-1step.json (FT with one step at layer 0, the cheapest edit).
repeated_records() {
  local editlab=$1 work=$2 n=$3
  "$editlab" toy-world generate --seed 1 --records 2387 --train-docs 1 --stats-docs 1 --out "$work/world" >/dev/null
  jq -c --argjson n "$n" '[range($n) as $i | .[$i % length] | .case_id = $i]' "$work/world/counterfact.json" \
    >"$work/counterfact-$n.json"
  echo '{"layers": [0], "num_steps": 1, "lr": 0.001, "weight_decay": 0, "kl_factor": 0, "norm_constraint": false}' \
    >"$work/ft-1step.json"
}
