#!/usr/bin/env bash
# Runs the CUDA op tests (kiln_gpu_tests) under NVIDIA compute-sanitizer and fails on any error
# it reports (or any test failure under it). Exit 77 (ctest's skip code) when compute-sanitizer
# or a GPU is missing.
#
#   run_compute_sanitizer.sh memcheck|racecheck|racecheck-all PATH/TO/kiln_gpu_tests
#
# memcheck   out-of-bounds / misaligned accesses and invalid frees in every kernel (kiln's and
#            the libraries'), over the op tests except the performance tests and the sweeps over
#            every cuDNN algorithm (the libraries' own kernels, slow under instrumentation).
# racecheck  shared-memory hazards in kiln's kernels (--kernel-name kns=kiln: cuBLAS / cuDNN
#            kernels run uninstrumented), over one or two tests per family of kiln kernels that
#            use shared memory (block reductions, tiles, sorts): racecheck instruments every
#            shared-memory access and is much slower than memcheck.
# racecheck-all  racecheck of every kernel, the libraries' included, over the tests where kiln
#            kernels run beside cuBLAS's (see the racecheck case below for why they are apart).
# Environment: KILN_SANITIZER_FILTER replaces the gtest filter; COMPUTE_SANITIZER names the
# binary. API errors are not reported (--report-api-errors no): kiln probes cuDNN / cuBLASLt
# algorithms and handles their refusals as Status errors, which is not what these tools check.
set -uo pipefail

tool="${1:-}"
bin="${2:-}"
if [[ "$tool" != "memcheck" && "$tool" != "racecheck" && "$tool" != "racecheck-all" ]] ||
  [[ -z "$bin" ]]; then
  echo "usage: $0 memcheck|racecheck|racecheck-all PATH/TO/kiln_gpu_tests" >&2
  exit 2
fi
if [[ ! -x "$bin" ]]; then
  echo "run_compute_sanitizer: $bin is not an executable" >&2
  exit 2
fi

# compute-sanitizer: $COMPUTE_SANITIZER, PATH, then the toolkit's folders.
sanitizer="${COMPUTE_SANITIZER:-}"
if [[ -z "$sanitizer" ]]; then
  sanitizer="$(command -v compute-sanitizer || true)"
fi
if [[ -z "$sanitizer" ]]; then
  for dir in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda /usr/local/cuda-13 /usr/local/cuda-12 \
    /opt/cuda; do
    if [[ -n "$dir" && -x "$dir/bin/compute-sanitizer" ]]; then
      sanitizer="$dir/bin/compute-sanitizer"
      break
    fi
    if [[ -n "$dir" && -x "$dir/compute-sanitizer/compute-sanitizer" ]]; then
      sanitizer="$dir/compute-sanitizer/compute-sanitizer"
      break
    fi
  done
fi
if [[ -z "$sanitizer" || ! -x "$sanitizer" ]]; then
  echo "run_compute_sanitizer: skipped: compute-sanitizer not found (PATH, CUDA_HOME, /usr/local/cuda/bin)"
  exit 77
fi

# A GPU: nvidia-smi when it exists, else a GPU test of the binary itself (it skips without one).
if command -v nvidia-smi >/dev/null 2>&1; then
  if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
    echo "run_compute_sanitizer: skipped: nvidia-smi lists no GPU"
    exit 77
  fi
elif "$bin" --gtest_filter='ShrinkCuda.Capturable' 2>&1 | grep -q 'GPU test skipped'; then
  echo "run_compute_sanitizer: skipped: no CUDA device is visible"
  exit 77
fi

case "$tool" in
  memcheck)
    filter="${KILN_SANITIZER_FILTER:-*Cuda.*:-PerfCuda.*:*CudnnAlgorithmCoverage*}"
    args=(--tool memcheck --leak-check no)
    ;;
  racecheck)
    # One or two tests per family of kiln kernels that use shared memory (block reductions,
    # tiles, sorts), chosen to reach the block-wide paths. With --kernel-name, racecheck 2025.3
    # stops with an internal "failed to handle a hardware exception" once cuBLAS's GEMMs run
    # uninstrumented beside kiln kernels (the cublas_batched attention tactic; even when the filter
    # matches no kernel at all), so the attention test here runs kiln's kernels only and
    # racecheck-all covers cublas_batched.
    racecheck_tests=(
      LayerNormCuda.SmallVarianceAndLargeOffset GroupNormCuda.LargeOffsetSmallSpread
      InstanceNormCuda.LargeOffsetSmallSpread ReduceCuda.LargeRows ReduceCuda.SplitReductions
      SoftmaxCuda.FixedLayoutsEveryDtype TopKCuda.LargeKOnlyBitonicLargeExtentOnlySelect
      TransposeCuda.TwoDimsAndBatchedLastTwoUseTheTiledKernel PoolingCuda.GlobalBothKernels
      MatMulCuda.IntegersRunOnlyTheNaiveKernel MatMulCuda.UnalignedBuffers LpNormCuda.GroupMappings
      MvnCuda.OtherRanksAndLargeGroups HardmaxCuda.TiesPickTheFirstMaximum
      AttentionCuda.KilnKernelsEveryHeadDim FusedElementwiseCuda.ManyLiveValues)
    default_filter="$(IFS=:; echo "${racecheck_tests[*]}")"
    filter="${KILN_SANITIZER_FILTER:-$default_filter}"
    args=(--tool racecheck --kernel-name kns=kiln)
    ;;
  racecheck-all)
    # Every kernel instrumented, the libraries' too (slower; no --kernel-name, see above): the
    # tests whose kiln kernels share a run with cuBLAS's (cublas_batched's softmax, block-wide
    # past 1024 keys).
    filter="${KILN_SANITIZER_FILTER:-AttentionCuda.LongSequences}"
    args=(--tool racecheck)
    ;;
esac

# memcheck runs the tests in parallel shards (gtest sharding; each shard its own compute-sanitizer
# process): instrumented runs are mostly host-bound, and the op-test set is large.
# KILN_SANITIZER_SHARDS overrides (racecheck: 1 by default).
if [[ "$tool" == "memcheck" ]]; then default_shards=8; else default_shards=1; fi
shards="${KILN_SANITIZER_SHARDS:-$default_shards}"
logdir="$(mktemp -d)"
trap 'rm -rf "$logdir"' EXIT
echo "run_compute_sanitizer: $sanitizer ${args[*]} $bin --gtest_filter=$filter ($shards shards)"
start=$(date +%s)
pids=()
for ((i = 0; i < shards; ++i)); do
  GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i \
    "$sanitizer" "${args[@]}" --report-api-errors no --error-exitcode 86 --print-limit 100 \
    "$bin" --gtest_filter="$filter" >"$logdir/shard$i.log" 2>&1 &
  pids+=($!)
done
status=0
summary=""
log="$logdir/all.log"
for ((i = 0; i < shards; ++i)); do
  wait "${pids[$i]}"
  s=$?
  cat "$logdir/shard$i.log" >>"$log"
  shard_summary="$(grep -E '(ERROR|RACECHECK) SUMMARY' "$logdir/shard$i.log" | tail -n 1)"
  echo "run_compute_sanitizer: shard $i exit $s: ${shard_summary:-no summary line}"
  if [[ -z "$shard_summary" ]]; then
    summary=""
    status=1
    break
  fi
  # Keep the first shard's summary unless a later shard reports errors or failed.
  if [[ -z "$summary" ]] || ! grep -qE 'SUMMARY: 0 errors|\(0 errors' <<<"$shard_summary"; then
    summary="$shard_summary"
  fi
  if [[ $s -ne 0 && $status -ne 86 ]]; then status=$s; fi
done
cat "$log"
echo "run_compute_sanitizer: $tool took $(($(date +%s) - start)) s, exit status $status"

if [[ -z "$summary" ]]; then
  echo "run_compute_sanitizer: FAILED: no summary line from compute-sanitizer" >&2
  exit 1
fi
if [[ $status -eq 86 ]]; then
  echo "run_compute_sanitizer: FAILED: compute-sanitizer $tool reported errors: $summary" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "run_compute_sanitizer: FAILED: the tests failed under compute-sanitizer (exit $status)" >&2
  exit 1
fi
if ! grep -qE 'SUMMARY: 0 errors|\(0 errors' <<<"$summary"; then
  echo "run_compute_sanitizer: FAILED: $summary" >&2
  exit 1
fi
if grep -q 'GPU test skipped' "$log"; then
  echo "run_compute_sanitizer: skipped: the GPU tests found no CUDA device"
  exit 77
fi
if ! grep -qE '\[  PASSED  \] [1-9]' "$log"; then
  echo "run_compute_sanitizer: FAILED: no test ran (filter '$filter')" >&2
  exit 1
fi
echo "run_compute_sanitizer: $tool clean: $summary"
