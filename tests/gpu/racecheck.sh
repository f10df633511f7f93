#!/usr/bin/env bash
# Runs one GPU test under compute-sanitizer's racecheck (shared-memory hazards inside kernels).
#   racecheck.sh <kiln_gpu_tests binary> <gtest filter>
# Exit 77 (ctest: skipped) without a GPU or without compute-sanitizer.
set -uo pipefail
binary=$1
filter=$2
sanitizer=$(command -v compute-sanitizer || true)
if [ -z "$sanitizer" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
  sanitizer=/usr/local/cuda/bin/compute-sanitizer
fi
if [ -z "$sanitizer" ]; then
  echo "skipped: compute-sanitizer not found"
  exit 77
fi
if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "skipped: no GPU visible"
  exit 77
fi
exec "$sanitizer" --tool racecheck --error-exitcode 1 "$binary" --gtest_filter="$filter"
