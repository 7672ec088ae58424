#!/usr/bin/env bash
# Rewrites the committed baselines of the CI regression (tests/regression/baseline-*.json) from
# fresh runs. Only for a deliberate change of the metrics (a fixed bug, new hyperparameters, a
# regenerated toy world): review `editlab compare OLD NEW` first and say why in the commit.
# usage: tests/regression/update-baseline.sh [path/to/editlab]   (default build/editlab)
set -euo pipefail
cd "$(dirname "$0")/../.."
E=${1:-build/editlab}
export OMP_WAIT_POLICY=PASSIVE
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for method in rome ft; do
  "$E" --threads 2 run "tests/regression/$method.json" --out "$out/$method" --format none
  if [ -f "tests/regression/baseline-$method.json" ]; then
    "$E" compare "tests/regression/baseline-$method.json" "$out/$method/report.json" \
      --tolerance tests/regression/tolerance.json || true
  fi
  cp "$out/$method/report.json" "tests/regression/baseline-$method.json"
  echo "updated tests/regression/baseline-$method.json"
done
