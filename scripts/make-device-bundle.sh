#!/usr/bin/env bash
# Packs the CUDA build for the GPU machine (issue 28), where no Debian package can be installed:
# build-cuda/editlab and build-cuda/tests/editlab_tests (compiled here against PyPI's torch 2.11.0,
# CUDA 13.0: the torch the GPU machine's python3 has), and the Debian libraries they load that a
# stock machine lacks (PCRE2, xxHash, libzip, ICU, yaml-cpp and what those load), into
# .device/editlab-cuda.tar.xz (about 20 MB). libtorch and the NVIDIA libraries are not packed: the
# binaries load the GPU machine's own, from its torch package. scripts/device-check.sh unpacks it.
#
#   scripts/make-device-bundle.sh        (after scripts/setup-cuda.sh)
#
# The device tool carries it: run(command="bash scripts/device-check.sh", carry=[".device"]).
set -euo pipefail
cd "$(dirname "$0")/.."
for f in build-cuda/editlab build-cuda/tests/editlab_tests build-cuda/env.sh; do
  [[ -e $f ]] || { echo "make-device-bundle: $f missing: run scripts/setup-cuda.sh first" >&2; exit 2; }
done
# shellcheck disable=SC1091
. build-cuda/env.sh
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
cp build-cuda/editlab build-cuda/tests/editlab_tests "$stage/bin/"
strip --strip-unneeded "$stage/bin/editlab" "$stage/bin/editlab_tests"
# Every library the binaries load from the system's directories, but the C runtime (any Linux has
# a compatible glibc, libstdc++ and libgcc_s) and CUDA's own (the GPU machine's torch brings them).
ldd build-cuda/editlab build-cuda/tests/editlab_tests |
  awk '$2 == "=>" && $3 ~ "^/(usr/)?lib/x86_64-linux-gnu/" {print $1, $3}' |
  grep -v -E '^(libc|libm|libdl|librt|libutil|libpthread|libgcc_s|libstdc\+\+|ld-linux[^ ]*)\.so|^lib(cu|nv|nccl)' |
  sort -u | while read -r name path; do
    cp -L "$path" "$stage/lib/$name"
  done
missing=$(ldd build-cuda/editlab | grep "not found" || true)
[[ -z $missing ]] || { echo "make-device-bundle: unresolved here: $missing" >&2; exit 1; }
torch_version=$(grep -m1 '^Version:' .venv-cuda/lib/python3*/site-packages/torch-*.dist-info/METADATA | cut -d' ' -f2)
{
  echo "built $(date -u +%Y-%m-%dT%H:%MZ) from $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include tests || echo '+changes')"
  echo "torch $torch_version"
  echo "source_dir $PWD"
} >"$stage/BUNDLE"
mkdir -p .device
tar -C "$stage" -cJf .device/editlab-cuda.tar.xz .
echo "make-device-bundle: .device/editlab-cuda.tar.xz ($(du -h .device/editlab-cuda.tar.xz | cut -f1)):" \
     "$(ls "$stage/lib" | tr '\n' ' ')"
