// Helpers of the data-movement and MatMul GPU tests: run a case through the CPU reference and
// every supporting CUDA tactic and compare; list which tactics ran.
#pragma once

#include "gpu/gpu_harness.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace kiln::testing {

// Tactic ids ("Op/source/name") that ran.
inline std::vector<std::string> tactic_ids(const std::vector<CudaTacticRun>& runs) {
  std::vector<std::string> ids;
  for (const auto& r : runs) ids.push_back(r.tactic);
  return ids;
}

inline bool ran(const std::vector<CudaTacticRun>& runs, const std::string& name_suffix) {
  return std::any_of(runs.begin(), runs.end(), [&](const CudaTacticRun& r) {
    return r.tactic.size() >= name_suffix.size() &&
           r.tactic.compare(r.tactic.size() - name_suffix.size(), name_suffix.size(),
                            name_suffix) == 0;
  });
}

// Runs the case on the reference and on every supporting CUDA tactic; each tactic's outputs must
// equal the reference's bit for bit (data movement copies values; NaNs compare equal). Returns the
// runs (empty on failure, which has been reported).
inline std::vector<CudaTacticRun> expect_exact(const OpCase& c, Device* device, cudaStream_t stream,
                                               const std::string& what,
                                               const CudaRunOptions& options = {}) {
  auto want = run_reference_case(c);
  EXPECT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  if (!want.is_ok()) return {};
  auto runs = run_cuda_tactics(c, device, stream, options);
  EXPECT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  if (!runs.is_ok()) return {};
  for (const auto& r : *runs) {
    EXPECT_EQ(r.outputs.size(), want->size()) << what << " " << r.tactic;
    for (size_t o = 0; o < r.outputs.size() && o < want->size(); ++o) {
      EXPECT_TRUE(all_close(r.outputs[o], (*want)[o], 0.0, 0.0))
          << what << " " << r.tactic << " output " << o;
      // Integers compare by bytes too (doubles cannot tell large int64 values apart).
      if (!is_floating(r.outputs[o].dtype()) && r.outputs[o].nbytes() > 0 &&
          r.outputs[o].nbytes() == (*want)[o].nbytes()) {
        EXPECT_EQ(std::memcmp(r.outputs[o].data(), (*want)[o].data(), r.outputs[o].nbytes()), 0)
            << what << " " << r.tactic << " output " << o << " differs in its bytes";
      }
    }
  }
  return std::move(*runs);
}

inline Dims make_dims(const std::vector<int64_t>& v) {
  return Dims(std::span<const int64_t>(v));
}

}  // namespace kiln::testing
