#!/usr/bin/env bash
# A second build of editlab against a CUDA libtorch (issue 28), beside the default CPU build:
#   1. .venv-cuda/: a venv with PyPI's torch 2.11.0 (CUDA 13.0; the version the GPU machine runs),
#      installed without its dependencies: only its headers, libraries and CMake config are needed
#      to compile and link (running on a GPU needs the NVIDIA runtime wheels or the machine's own);
#   2. build-cuda/: CMake against that libtorch and this machine's CUDA toolkit (nvcc), Release,
#      fmt header-only (the torch headers carry their own fmt 11, which must not meet the system's
#      libfmt 9), TORCH_CUDA_ARCH_LIST 9.0 (H100, H200; set it to build for another card), and
#      libstdc++ first among the executables' libraries: the wheel's libtorch.so exports its own
#      std::filesystem functions, which (bound first) crash in remove_all.
# Nothing here needs a GPU; CI does not run it (the wheel is 530 MB).
# usage: scripts/setup-cuda.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION=${EDITLAB_CUDA_TORCH:-2.11.0}
ARCH=${TORCH_CUDA_ARCH_LIST:-9.0}
NVCC=${CUDACXX:-/usr/local/cuda/bin/nvcc}
[ -x "$NVCC" ] || { echo "setup-cuda: error: no nvcc at $NVCC (set CUDACXX)" >&2; exit 1; }
if [ ! -x .venv-cuda/bin/python ]; then
  /usr/bin/python3 -m venv .venv-cuda
fi
# torch's own wheel, and the three NVIDIA libraries that libtorch_cuda links and this machine's CUDA
# toolkit lacks (the versions torch 2.11.0's metadata pins; cuFile's as measured to link).
wheels=("torch==$TORCH_VERSION" nvidia-cusparselt-cu13==0.8.0 nvidia-nvshmem-cu13==3.4.5 nvidia-cufile==1.20.0.107)
if ! .venv-cuda/bin/python -m pip show torch 2>/dev/null | grep -q "^Version: $TORCH_VERSION"; then
  echo "setup-cuda: installing ${wheels[*]} into .venv-cuda (about 760 MB, without their dependencies)"
  .venv-cuda/bin/python -m pip install --quiet --no-deps "${wheels[@]}"
fi
site=$(.venv-cuda/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
prefix="$site/torch/share/cmake"
[ -f "$prefix/Torch/TorchConfig.cmake" ] || { echo "setup-cuda: error: no TorchConfig.cmake under $prefix" >&2; exit 1; }
cuda_root=$(dirname "$(dirname "$NVCC")")
libs="$site/nvidia/cusparselt/lib:$site/nvidia/nvshmem/lib:$site/nvidia/cu13/lib:$cuda_root/lib64:$site/torch/lib"
TORCH_CUDA_ARCH_LIST=$ARCH cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_COMPILER="$NVCC" -DCUDAToolkit_ROOT="$cuda_root" \
  -DTORCH_CUDA_ARCH_LIST="$ARCH" -DEDITLAB_FMT_HEADER_ONLY=ON \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,--no-as-needed -lstdc++ -Wl,--as-needed $(echo "$libs" | sed 's/\([^:]*\)/-Wl,-rpath-link,\1/g; s/:/ /g')" \
  >/dev/null
# What the binaries need at run time on this machine (a GPU machine brings its own driver).
echo "export LD_LIBRARY_PATH=$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" > build-cuda/env.sh
echo "setup-cuda: configured build-cuda/ against torch $TORCH_VERSION ($prefix), CUDA arch $ARCH;" \
     "run its binaries after '. build-cuda/env.sh'"
if [ "${1:-}" != "--no-build" ]; then
  cmake --build build-cuda -j"$(nproc)"
  echo "setup-cuda: built build-cuda/editlab and build-cuda/tests/editlab_tests"
fi
