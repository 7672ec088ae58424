#!/usr/bin/env bash
# Installs editlab's dependencies (Debian bookworm packages, as root) and builds it (Release).
# Idempotent: when every package is present it only (re)builds, which takes seconds.
# usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread       # libtorch, and a fast BLAS for it (see docs/performance.md)
  libcli11-dev nlohmann-json3-dev libfmt-dev catch2 libpcre2-dev libzip-dev libxxhash-dev
  libicu-dev                              # Unicode normalization and properties (tokenizer.json)
  libyaml-cpp-dev                         # EasyEdit's .yaml hyperparameter files
  python3-torch python3-numpy python3-regex  # fixture generators in scripts/ only
  python3-matplotlib                         # scripts/plot_report.py
  slurm-wlm munge                            # scripts/slurm/ and its test (a single-node Slurm)
  jq                                         # scripts/demo.sh reads the reports
  chromium                                   # the HTML report opened in a headless browser (tests/html/)
  clang libclang-rt-14-dev                   # scripts/fuzz.sh: libFuzzer, ASan, UBSan (CI replays the corpora)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: error: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# OpenBLAS must be the BLAS that libtorch resolves, not the reference one.
if command -v update-alternatives >/dev/null; then
  for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
    cand=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-pthread | head -n1 || true)
    [ -n "$cand" ] && update-alternatives --set "$alt" "$cand" >/dev/null 2>&1 || true
  done
fi

[ "${1:-}" = "--no-build" ] && exit 0
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
