#!/usr/bin/env bash
# The tests: install what is missing, build, run every test (GPU tests skip without a GPU),
# then the plan-reader corruption sweep and the ONNX importer tests (with the model tests
# against ONNX Runtime, through an instrumented kiln CLI) again under AddressSanitizer + UBSan,
# the concurrency tests under ThreadSanitizer (KILN_SKIP_TSAN=1 skips them), and fuzzing (clang,
# libFuzzer; KILN_SKIP_FUZZ=1 skips it): 30 s of the ONNX parser and 15 s of the timing-cache
# reader.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
if [ "${KILN_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== plan reader and runtime under ASan/UBSan =="
  # -O1 keeps the sanitizer build quick to compile and its tests quick to run.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 -DKILN_SANITIZE=ON \
    -DKILN_WITH_CUDA=OFF -DKILN_BUILD_BENCH=OFF
  cmake --build build-asan -j "$(nproc)" --target kiln_unit_tests kiln_feature_tests \
    kiln_concurrency_tests kiln_onnx_tests kiln_onnx_conformance kiln_cli
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -R '^(unit|features|concurrency|onnx)\.'
fi
if [ "${KILN_SKIP_SANITIZERS:-0}" != "1" ] && [ "${KILN_SKIP_TSAN:-0}" != "1" ]; then
  echo "== contexts, pools, pipelines and graph runner under ThreadSanitizer =="
  # Only libkiln (CPU backend) and the concurrency tests; -O1 keeps the build short.
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 -DKILN_TSAN=ON \
    -DKILN_WITH_CUDA=OFF -DKILN_BUILD_BENCH=OFF
  cmake --build build-tsan -j "$(nproc)" --target kiln_concurrency_tests
  # OpenBLAS's own worker threads are not instrumented: keep its work in the calling thread.
  OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -j "$(nproc)" -R '^concurrency\.'
fi
if [ "${KILN_SKIP_FUZZ:-0}" != "1" ] && command -v clang++ >/dev/null 2>&1; then
  echo "== ONNX parser and timing-cache reader fuzzing (libFuzzer, ASan/UBSan) =="
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DKILN_FUZZ=ON -DKILN_WITH_CUDA=OFF -DKILN_BUILD_BENCH=OFF
  cmake --build build-fuzz -j "$(nproc)" --target onnx_parser_fuzz timing_cache_fuzz
  ctest --test-dir build-fuzz --output-on-failure -L fuzz
fi
