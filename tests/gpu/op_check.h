// Helpers for the CUDA op tests: run every CUDA tactic that supports a case and compare each
// output with the CPU reference kernel's.
#pragma once

#include "gpu/gpu_harness.h"

#include <set>
#include <string>
#include <vector>

namespace kiln::testing {

struct Tol {
  double atol = 0, rtol = 0;
};

// Per-dtype tolerances for results computed in float on the GPU and in double (or float) on the
// host, then rounded to the output dtype: the rounding of the two may differ by one unit in the
// last place, so 16-bit outputs allow two ulp. `fp32` is the float32 tolerance.
inline Tol dtype_tol(DataType dt, Tol fp32) {
  switch (dt) {
    case DataType::kFloat16:
      return {std::max(fp32.atol, 1e-4), std::max(fp32.rtol, 2e-3)};
    case DataType::kBFloat16:
      return {std::max(fp32.atol, 1e-3), std::max(fp32.rtol, 1.6e-2)};
    case DataType::kFloat32:
      return fp32;
    default:
      return {0, 0};  // integers: exact
  }
}

// Runs the case through every supporting CUDA tactic and checks every output against the
// reference with `tol` (integer outputs exactly). Returns the tactic ids that ran (empty after a
// failure). `what` names the case in failure messages.
inline std::vector<std::string> check_cuda_tactics(const OpCase& c, Device* device,
                                                   cudaStream_t stream, Tol tol,
                                                   const std::string& what,
                                                   const CudaRunOptions& options = {}) {
  auto want = run_reference_case(c);
  EXPECT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  if (!want.is_ok()) return {};
  auto runs = run_cuda_tactics(c, device, stream, options);
  EXPECT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  if (!runs.is_ok()) return {};
  std::vector<std::string> ids;
  for (const CudaTacticRun& r : *runs) {
    ids.push_back(r.tactic);
    EXPECT_EQ(r.outputs.size(), want->size());
    for (size_t o = 0; o < r.outputs.size() && o < want->size(); ++o) {
      const bool exact = !is_floating(r.outputs[o].dtype());
      EXPECT_TRUE(all_close(r.outputs[o], (*want)[o], exact ? 0 : tol.atol, exact ? 0 : tol.rtol))
          << what << " tactic " << r.tactic << " output " << o;
    }
  }
  return ids;
}

}  // namespace kiln::testing
