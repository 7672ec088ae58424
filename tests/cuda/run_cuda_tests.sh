#!/usr/bin/env bash
# The CUDA-labelled tests (ctest -L cuda; issue 28): where `editlab devices` sees a CUDA device,
#   1. the Catch2 tests tagged [cuda] (tests/test_cuda.cpp): CPU against CUDA on every fixture;
#   2. the toy-world regression experiments (tests/regression: 50 records, ROME and FT) run with
#      --device cuda and compared with the committed CPU baselines under tolerance.json.
# Elsewhere it prints "skipped: no CUDA device" and exits 77, which ctest reports as skipped.
# usage: tests/cuda/run_cuda_tests.sh EDITLAB EDITLAB_TESTS SOURCE_DIR
set -euo pipefail
E=$1
T=$2
cd "$3"
devices=$("$E" devices --json)
if ! grep -q '"device": "cuda:' <<<"$devices"; then
  if grep -q '"cuda_built": true' <<<"$devices"; then
    echo "skipped: no CUDA device (this editlab has CUDA; no GPU or driver is visible)"
  else
    echo "skipped: no CUDA device (this editlab's libtorch is CPU-only; scripts/setup-cuda.sh builds one with CUDA)"
  fi
  exit 77
fi
"$E" devices
"$T" "[cuda]"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for method in rome ft; do
  echo "cuda: tests/regression/$method.json on the GPU against the CPU baseline"
  "$E" --device cuda run "tests/regression/$method.json" --out "$out/$method" --format none
  "$E" compare "tests/regression/baseline-$method.json" "$out/$method/report.json" \
    --tolerance tests/regression/tolerance.json
done
