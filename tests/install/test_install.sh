#!/usr/bin/env bash
# ctest entry `install`: editlab as a library another project links. Installs the build tree into a
# temporary prefix, configures and builds examples/link-editlab against it (find_package(editlab),
# editlab::core) and runs it on the tiny fixture model: one FT edit must lower the target's nll and
# undo must restore it exactly.
#   test_install.sh BUILD_DIR SOURCE_DIR CXX_COMPILER
set -euo pipefail
build_dir=$1
source_dir=$2
cxx=$3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/editlab-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

start=$SECONDS
cmake --install "$build_dir" --prefix "$tmp/prefix" >"$tmp/install.log"
test -f "$tmp/prefix/lib/cmake/editlab/editlabConfig.cmake"
test -f "$tmp/prefix/include/editlab/edit/editor.h"
# Nothing of the source tree in the exported target: no source paths, no editlab macros.
targets=$(cat "$tmp"/prefix/lib/cmake/editlab/editlabTargets*.cmake)
if grep -q -- "$source_dir" <<<"$targets" || grep -q 'EDITLAB_' <<<"$targets"; then
  echo "FAIL: the exported target names the source tree or an editlab macro:" >&2
  grep -- "$source_dir\|EDITLAB_" <<<"$targets" >&2
  exit 1
fi
echo "install: $((SECONDS - start)) s"

start=$SECONDS
if ! cmake -S "$source_dir/examples/link-editlab" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" 2>&1; then
  cat "$tmp/configure.log" >&2
  exit 1
fi
echo "configure: $((SECONDS - start)) s"

start=$SECONDS
if ! cmake --build "$tmp/build" >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log" >&2
  exit 1
fi
echo "build: $((SECONDS - start)) s"

start=$SECONDS
out=$("$tmp/build/example" "$source_dir/tests/fixtures/tiny-gpt2")
echo "$out"
echo "run: $((SECONDS - start)) s"
grep -q '^nll before ' <<<"$out"
grep -q '^nll edited ' <<<"$out"
grep -q '^nll undone ' <<<"$out"
grep -qx 'ok' <<<"$out"
