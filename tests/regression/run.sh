#!/usr/bin/env bash
# CI regression of metrics (docs/commands.md "editlab compare", "editlab's own CI"): runs the fixed experiments of this folder
# (the first 50 toy-world records, ROME and FT) and compares each report with its committed
# baseline under tolerance.json; then checks that a deliberately broken edit (ROME at a wrong
# layer) is caught, i.e. that `editlab compare` exits 1.
# usage: tests/regression/run.sh [path/to/editlab]   (default build/editlab)
set -euo pipefail
cd "$(dirname "$0")/../.."
E=${1:-build/editlab}
export OMP_WAIT_POLICY=PASSIVE
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for method in rome ft; do
  "$E" --threads 2 run "tests/regression/$method.json" --out "$out/$method" --format none
  "$E" compare "tests/regression/baseline-$method.json" "$out/$method/report.json" \
    --tolerance tests/regression/tolerance.json
done

# The broken edit: the same ROME experiment at another layer must regress.
layers=$(jq '.n_layer' data/toy-world/model/config.json)
jq --argjson n "$layers" '.layers = [(.layers[0] + 2) % $n]' configs/rome/toy-world.json >"$out/wrong-layer.json"
echo "regression: ROME at layer $(jq '.layers[0]' "$out/wrong-layer.json") instead of $(jq '.layers[0]' configs/rome/toy-world.json) must fail the comparison"
"$E" --threads 2 run tests/regression/rome.json --hparams "$out/wrong-layer.json" --out "$out/broken" --format none
set +e
"$E" compare tests/regression/baseline-rome.json "$out/broken/report.json" --tolerance tests/regression/tolerance.json >"$out/broken.txt"
status=$?
set -e
if [ "$status" -ne 1 ]; then
  cat "$out/broken.txt"
  echo "regression: error: compare exited $status for a broken edit; expected 1" >&2
  exit 1
fi
echo "regression: the broken edit was caught (compare exited 1)"
