#!/usr/bin/env bash
# Builds and runs editlab's fuzz targets (tests/fuzz/, docs/reliability.md "Fuzzing"). See --help.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

targets=(safetensors model_dir npz edit_inputs experiment report tokenizer tokenizer_json)

usage() {
  cat <<EOF
usage: scripts/fuzz.sh TARGET [SECONDS] [options]   fuzz one target (default 60 seconds)
       scripts/fuzz.sh --replay [options]           run every target over its committed corpus
       scripts/fuzz.sh --list | -h | --help

Targets: ${targets[*]}
  (tests/fuzz/TARGET.cpp; the first comment of each says what it checks)

Builds with clang, libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/
(-DEDITLAB_FUZZ=ON; only the fuzz targets and the reader sources they need are compiled).

Fuzzing TARGET runs it on a scratch copy of tests/fuzz/corpus/TARGET/ (with
tests/fuzz/TARGET.dict when there is one), in one process, for SECONDS or --runs executions, whichever
comes first. The committed corpus is left alone unless --merge is given: then the inputs that add
coverage are merged into it with libFuzzer's -merge=1 (a minimal set; review and commit them).
A crash, a sanitizer report, a hang (-timeout=1: one input over 1 s) or an allocation past the
limits (-rss_limit_mb=2048, -malloc_limit_mb=512) stops the run and leaves the input in
build-fuzz/artifacts/TARGET/ (crash-*, timeout-*, oom-*, leak-*); reproduce it with
  build-fuzz/tests/fuzz/fuzz_TARGET FILE
then fix the reader and add FILE to tests/fuzz/corpus/TARGET/ as a regression input.

--replay (what CI runs) builds every target and runs each once over every input of its committed
corpus, with the same limits; it exits non-zero if any input crashes, hangs or runs out of
memory.

Options:
  --runs N          stop after N executions (fuzzing; default: no limit)
  --merge           merge new coverage into the committed corpus after fuzzing
  --minimize        (instead of fuzzing) rewrite tests/fuzz/corpus/TARGET/ as its seed-*, regress-*
                    files plus the fewest other files that cover the same edges
                    (-set_cover_merge=1 -use_counters=0), to keep the committed corpus small
  --build-dir DIR   build directory (default: build-fuzz)
  --no-build        use the targets already built
  -j N              build jobs (default: nproc)

Environment: ASAN_OPTIONS and UBSAN_OPTIONS are set to stop at the first error with a stack
trace; EDITLAB_FUZZ_TMPDIR picks where targets write their scratch files (default /dev/shm).
EOF
}

target="" seconds=60 runs="" merge=0 minimize=0 replay=0 build=1 build_dir=build-fuzz jobs=$(nproc)
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --list) printf '%s\n' "${targets[@]}"; exit 0 ;;
    --replay) replay=1 ;;
    --merge) merge=1 ;;
    --minimize) minimize=1 ;;
    --no-build) build=0 ;;
    --runs) runs=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    -j) jobs=$2; shift ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
if [ "$replay" = 1 ]; then
  [ ${#positional[@]} -eq 0 ] || { echo "fuzz.sh: --replay takes no target" >&2; exit 2; }
else
  [ ${#positional[@]} -ge 1 ] && [ ${#positional[@]} -le 2 ] || { usage >&2; exit 2; }
  target=${positional[0]}
  [ ${#positional[@]} -eq 2 ] && seconds=${positional[1]}
  if [[ ! " ${targets[*]} " =~ " $target " ]]; then
    echo "fuzz.sh: unknown target '$target' (targets: ${targets[*]})" >&2
    exit 2
  fi
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
limits=(-timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=512)

configure_and_build() {
  if [ ! -f "$build_dir/build.ninja" ]; then
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER=clang++ -DEDITLAB_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
  fi
  cmake --build "$build_dir" -j "$jobs" --target "$@"
}

if [ "$replay" = 1 ]; then
  [ "$build" = 1 ] && configure_and_build fuzz_all
  failed=()
  for t in "${targets[@]}"; do
    corpus=tests/fuzz/corpus/$t
    n=$(find "$corpus" -type f | wc -l)
    start=$(date +%s%N)
    # Each file once (libFuzzer's regression mode); the first failure stops the target.
    if find "$corpus" -type f -print0 | sort -z |
       xargs -0 "$build_dir/tests/fuzz/fuzz_$t" "${limits[@]}" >"$build_dir/replay-$t.log" 2>&1; then
      ms=$((($(date +%s%N) - start) / 1000000))
      printf 'replay %-12s %4d inputs  ok    %d.%03d s\n' "$t" "$n" $((ms / 1000)) $((ms % 1000))
    else
      printf 'replay %-12s %4d inputs  FAIL  (log: %s)\n' "$t" "$n" "$build_dir/replay-$t.log"
      tail -n 40 "$build_dir/replay-$t.log" >&2
      failed+=("$t")
    fi
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh --replay: failed: ${failed[*]}" >&2
    exit 1
  fi
  exit 0
fi

[ "$build" = 1 ] && configure_and_build "fuzz_$target"
binary=$build_dir/tests/fuzz/fuzz_$target
corpus=tests/fuzz/corpus/$target
artifacts=$build_dir/artifacts/$target
mkdir -p "$artifacts"

if [ "$minimize" = 1 ]; then
  kept=$(mktemp -d "${TMPDIR:-/tmp}/editlab-fuzz-min-$target.XXXXXX")
  trap 'rm -rf "$kept"' EXIT
  find "$corpus" -maxdepth 1 -type f \( -name 'seed-*' -o -name 'regress-*' \) \
    -exec cp {} "$kept/" \;
  before="$(find "$corpus" -type f | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes"
  "$binary" -set_cover_merge=1 -use_counters=0 "${limits[@]}" "$kept" "$corpus" 2>&1 |
    grep -E '^MERGE-OUTER: [0-9]+ new files' || true
  find "$corpus" -type f -delete
  cp "$kept"/* "$corpus/"
  echo "fuzz.sh: $corpus: $before -> $(find "$corpus" -type f | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes"
  exit 0
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/editlab-fuzz-$target.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cp -r "$corpus/." "$scratch/"
# One process (no -jobs/-workers), so that the numbers it prints are this run's.
options=("${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/")
[ -n "$runs" ] && options+=(-runs="$runs")
[ -f "tests/fuzz/$target.dict" ] && options+=(-dict="tests/fuzz/$target.dict")
echo "fuzz.sh: $binary ${options[*]} (corpus: scratch copy of $corpus, $(find "$corpus" -type f | wc -l) files)"
status=0
"$binary" "${options[@]}" "$scratch" || status=$?
if [ "$merge" = 1 ] && [ "$status" = 0 ]; then
  before=$(find "$corpus" -type f | wc -l)
  "$binary" -merge=1 "${limits[@]}" "$corpus" "$scratch" 2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' || true
  echo "fuzz.sh: $corpus: $before -> $(find "$corpus" -type f | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes"
fi
exit "$status"
