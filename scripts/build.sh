#!/usr/bin/env bash
# Configures and builds kiln into ./build (Release). CUDA is enabled when nvcc is found.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${KILN_JOBS:-$(nproc)}
extra=()
# Without a visible GPU (CI, development machines) CUDA code is only compile-checked: one
# architecture keeps that fast. With a GPU, the default fat binary (sm_80/86/89/90) is built.
if command -v nvcc >/dev/null 2>&1 && ! nvidia-smi -L >/dev/null 2>&1; then
  case " $* " in *CMAKE_CUDA_ARCHITECTURES*) ;; *) extra+=(-DCMAKE_CUDA_ARCHITECTURES=90) ;; esac
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${extra[@]}" "$@"
cmake --build build -j "$jobs"
