#!/usr/bin/env bash
# Runs the test labels under OpenBLAS's kernels for several CPUs and at 1 and 2 threads, so that a
# test which only passes with this machine's BLAS rounding shows up here, not on a user's laptop
# or a CI machine with other kernels (issue 29).
#   OPENBLAS_CORETYPE=Prescott   generic SSE3 kernels (any x86-64)
#   OPENBLAS_CORETYPE=Haswell    AVX2 / FMA
#   OPENBLAS_CORETYPE=SkylakeX   AVX-512 (skipped on a CPU without avx512f)
# EDITLAB_THREADS sets the threads of the test binary and of every editlab command it runs.
# usage: scripts/test-portability.sh [--cores "Prescott Haswell SkylakeX"] [CTEST SELECTION...]
#   CTEST SELECTION: ctest's own arguments (default: -L 'unit|cli|model'), e.g. -L 'unit|cli' or -R '^run$'
# Prints one line per (kernel, threads) and a summary table; exits 1 if any run failed. Each
# run's ctest log is kept in build/portability/.
set -euo pipefail
cd "$(dirname "$0")/.."
cores=(Prescott Haswell SkylakeX)
if [ "${1:-}" = "--cores" ]; then
  read -r -a cores <<<"$2"
  shift 2
fi
selection=("$@")
[ ${#selection[@]} -eq 0 ] && selection=(-L 'unit|cli|model')
tag=$(printf '%s' "${selection[*]}" | tr -c 'A-Za-z0-9' '_')
[ -f build/build.ninja ] || scripts/setup.sh --no-build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
mkdir -p build/portability
export OMP_WAIT_POLICY=PASSIVE
failed=0
summary=()
for core in "${cores[@]}"; do
  if [ "$core" = SkylakeX ] && ! grep -qw avx512f /proc/cpuinfo; then
    summary+=("$core  -  skipped: this CPU has no AVX-512")
    continue
  fi
  for threads in 1 2; do
    log="build/portability/${core}-threads${threads}-${tag}.log"
    start=$SECONDS
    if (cd build && OPENBLAS_CORETYPE="$core" EDITLAB_THREADS="$threads" \
          ctest "${selection[@]}" -j "$(nproc)" --output-on-failure >"../$log" 2>&1); then
      result="passed"
    else
      result="FAILED (see $log)"
      failed=1
    fi
    line="$core  threads $threads  $(grep -E 'tests passed' "$log" | tail -n1)  $((SECONDS - start)) s  $result"
    echo "$line"
    summary+=("$line")
  done
done
echo
echo "portability (ctest ${selection[*]}):"
printf '  %s\n' "${summary[@]}"
exit $failed
