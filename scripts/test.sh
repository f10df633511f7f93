#!/usr/bin/env bash
# The tests: install what is missing, build, run every test (GPU tests skip without a GPU),
# then again under sanitizers:
#   - one clang build with AddressSanitizer + UBSan and libFuzzer's coverage instrumentation
#     runs the unit, feature, concurrency and ONNX importer tests (with the model tests against
#     ONNX Runtime, through an instrumented kiln CLI) and the fuzzers: 30 s of the ONNX parser
#     and 15 s of the timing-cache reader (KILN_SKIP_FUZZ=1 skips them; without clang the
#     sanitizer tests are built with g++ and the fuzzers skipped);
#   - a ThreadSanitizer build runs the concurrency tests (KILN_SKIP_TSAN=1 skips them).
# KILN_SKIP_SANITIZERS=1 skips both. Each stage's wall-clock time is printed at the end
# (docs/testing.md lists them for CI).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

stage_names=()
stage_secs=()
# stage NAME CMD...: runs CMD and records its wall-clock seconds.
stage() {
  local name=$1
  shift
  echo "== $name =="
  local t0=$SECONDS
  "$@"
  stage_names+=("$name")
  stage_secs+=($((SECONDS - t0)))
}
summary() {
  [ ${#stage_names[@]} -gt 0 ] || return 0
  echo "== stage times (wall-clock seconds) =="
  local i
  for i in "${!stage_names[@]}"; do printf '%6d  %s\n' "${stage_secs[$i]}" "${stage_names[$i]}"; done
  printf '%6d  total\n' "$SECONDS"
}
trap summary EXIT

stage "install dependencies" bash scripts/install-deps.sh
stage "release build" bash scripts/build.sh
stage "release tests" ctest --test-dir build --output-on-failure -j "$jobs"

if [ "${KILN_SKIP_SANITIZERS:-0}" != "1" ]; then
  # -O1 keeps the sanitizer builds quick to compile and their tests quick to run; line tables
  # give the reports file:line for little compile time.
  asan_cmake=(-DCMAKE_BUILD_TYPE=None -DKILN_SANITIZE=ON -DKILN_WITH_CUDA=OFF -DKILN_BUILD_BENCH=OFF)
  asan_targets=(kiln_unit_tests kiln_feature_tests kiln_concurrency_tests kiln_onnx_tests
    kiln_onnx_conformance kiln_cli)
  asan_tests='unit|features|concurrency|onnx'
  if [ "${KILN_SKIP_FUZZ:-0}" != "1" ] && command -v clang++ >/dev/null 2>&1; then
    # The fuzzers share the ASan/UBSan build (one compile of libkiln instead of two): libFuzzer
    # needs clang and coverage instrumentation (KILN_FUZZ), which the other tests run with too.
    asan_dir=build-asan
    asan_env=(CC=clang CXX=clang++)
    # The CPU kernels skip the coverage callbacks (KILN_FUZZ_KERNEL_COVERAGE=OFF), which would
    # slow the tests' hot loops by about half again.
    asan_cmake+=(-DKILN_FUZZ=ON -DKILN_FUZZ_KERNEL_COVERAGE=OFF "-DCMAKE_CXX_FLAGS=-O1 -gline-tables-only")
    asan_targets+=(onnx_parser_fuzz timing_cache_fuzz)
    asan_tests+='|fuzz'
  else
    echo "sanitizers: fuzzers skipped (KILN_SKIP_FUZZ=1 or no clang++)"
    asan_dir=build-asan-gcc  # a build folder keeps its compiler: not build-asan's clang
    asan_env=()
    asan_cmake+=(-DKILN_FUZZ=OFF "-DCMAKE_CXX_FLAGS=-O1 -g1")
  fi
  asan_build() {
    env "${asan_env[@]}" cmake -S . -B "$asan_dir" -G Ninja "${asan_cmake[@]}"
    cmake --build "$asan_dir" -j "$jobs" --target "${asan_targets[@]}"
  }
  stage "asan build" asan_build
  stage "asan tests" env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$asan_dir" --output-on-failure -j "$jobs" -R "^($asan_tests)\."
fi
if [ "${KILN_SKIP_SANITIZERS:-0}" != "1" ] && [ "${KILN_SKIP_TSAN:-0}" != "1" ]; then
  # Contexts, pools, pipelines and graph runner: only libkiln (CPU backend) and the concurrency
  # tests.
  tsan_build() {
    cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 -DKILN_TSAN=ON \
      -DKILN_WITH_CUDA=OFF -DKILN_BUILD_BENCH=OFF
    cmake --build build-tsan -j "$jobs" --target kiln_concurrency_tests
  }
  stage "tsan build" tsan_build
  # OpenBLAS's own worker threads are not instrumented: keep its work in the calling thread.
  stage "tsan tests" env OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -j "$jobs" -R '^concurrency\.'
fi
