#!/usr/bin/env bash
# Builds kiln and runs the GPU suites on the GPU machine (see ../shared/device/README.md).
# Usage: scripts/gpu-check.sh STAGE...   with stages
#   build     configure + build build-gpu (sm_90, Release) with the bundled .devdeps
#   ctest     every ctest except the model/benchmark scripts and fuzzing
#   gpu       only the ctests labelled gpu (without the model/sanitizer/conformance runs)
#   conformance  the ONNX backend tests on the CPU and CUDA backends
#   models    tests/gpu/models_vs_pytorch.py (PyTorch oracle)
#   sanitize  the compute-sanitizer ctests
#   bench     bench/compare_pytorch.py (kiln vs PyTorch eager / CUDA graphs)
#   bench-compile  the same with torch.compile'd PyTorch as well (minutes of compilation)
#   runtime-bench  bench/runtime_bench.py (streams, CUDA graphs, threads)
#   profile   bench/layer_profile.py (per-layer times of ResNet-50 / BERT-base plans)
#   examples  the examples and CLI ctests (they run on CUDA when a GPU is visible)
#   sources-memory  bench_sources_memory (device memory saved by disabling tactic sources)
#   build-time  bench/build_time.py (cold vs warm timing cache, ResNet-50 and BERT-base FP16)
# Logs go to $OUT (or ./gpu-logs); the script continues past failing stages and exits non-zero
# if any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$PWD/gpu-logs}
mkdir -p "$out"
if [ -f .devdeps/env.sh ]; then
  # shellcheck disable=SC1091
  source .devdeps/env.sh
  ob=$PWD/.devdeps/root/usr/lib/x86_64-linux-gnu/openblas-pthread
  export CPATH=$PWD/.devdeps/root/usr/include/x86_64-linux-gnu/openblas-pthread:${CPATH:-}
  export LD_LIBRARY_PATH=$ob:${LD_LIBRARY_PATH:-}
  blas_args=(-DBLA_VENDOR=OpenBLAS -DCMAKE_LIBRARY_PATH="$ob")
else
  blas_args=()
fi
# The ONNX backend test data travels as gpu-extra/onnxdata.txz (the GPU machine lacks the package).
data_args=()
if [ -f gpu-extra/onnxdata.txz ]; then
  # Outside the working tree: the device tool replaces the tree (and its untracked files) per call.
  data_dir=${TMPDIR:-/tmp}/kiln-onnx-data
  mkdir -p "$data_dir" && tar xJf gpu-extra/onnxdata.txz -C "$data_dir"
  data_args=(-DKILN_ONNX_TEST_DATA="$data_dir")
fi
failed=0
stage() {
  local name=$1
  shift
  echo "== $name: $*" | tee -a "$out/summary.log"
  local start=$SECONDS
  if "$@" >"$out/$name.log" 2>&1; then
    echo "== $name: ok ($((SECONDS - start)) s)" | tee -a "$out/summary.log"
  else
    echo "== $name: FAILED rc=$? ($((SECONDS - start)) s)" | tee -a "$out/summary.log"
    tail -n 40 "$out/$name.log"
    failed=1
  fi
}
for s in "$@"; do
  case $s in
    build)
      stage configure cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CUDA_ARCHITECTURES=90 "${blas_args[@]}" "${data_args[@]}"
      stage build ninja -C build-gpu -k 0
      ;;
    ctest) stage ctest ctest --test-dir build-gpu -j8 --output-on-failure \
      -E "models_vs_pytorch|fuzz|sanitizer|bench" ;;
    gpu) stage gpu ctest --test-dir build-gpu -j4 --output-on-failure -L gpu \
      -E "models_vs_pytorch|sanitizer|bench|conformance" ;;
    conformance) stage conformance ctest --test-dir build-gpu --output-on-failure \
      -R "onnx.conformance|gpu.onnx_conformance" ;;
    models) stage models python3 tests/gpu/models_vs_pytorch.py build-gpu/bin/kiln ;;
    sanitize) stage sanitize ctest --test-dir build-gpu --output-on-failure -R sanitizer ;;
    bench) stage bench python3 bench/compare_pytorch.py --kiln build-gpu/bin/kiln \
      --iterations 30 --warmup 5 --out "$out/bench-results.md" ;;
    bench-compile) stage bench-compile python3 bench/compare_pytorch.py --kiln build-gpu/bin/kiln \
      --iterations 30 --warmup 5 --torch-compile --out "$out/bench-compile-results.md" ;;
    runtime-bench) stage runtime-bench python3 bench/runtime_bench.py \
      --bench build-gpu/bin/kiln_runtime_bench --out "$out/runtime-bench.md" ;;
    profile) stage profile python3 bench/layer_profile.py --kiln build-gpu/bin/kiln \
      --out-dir "$out/profiles" ;;
    examples) stage examples ctest --test-dir build-gpu --output-on-failure -R "^examples|^cli" ;;
    sources-memory) stage sources-memory build-gpu/bin/bench_sources_memory ;;
    build-time) stage build-time python3 bench/build_time.py --kiln build-gpu/bin/kiln \
      --backend cuda --fp16 --repeats 1 --out "$out/build-time.md" ;;
    *) echo "unknown stage $s" >&2; failed=1 ;;
  esac
done
grep -h -E "tests passed|tests failed" "$out"/*.log 2>/dev/null | tee -a "$out/summary.log"
exit $failed
