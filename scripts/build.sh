#!/usr/bin/env bash
# Configures and builds kiln into ./build (Release). CUDA is enabled when nvcc is found.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${KILN_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$jobs"
