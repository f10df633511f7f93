// Small helpers for op tests: run every CPU tactic serially and on a thread pool, assert which
// tactics ran and compare each output with an expected tensor; shape-inference error messages.
#pragma once

#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <string>
#include <vector>

namespace kiln::testing {

inline constexpr DataType kFloatDtypes[] = {DataType::kFloat32, DataType::kFloat16,
                                            DataType::kBFloat16};

// Tolerance for results computed in float and stored in `dt`.
inline double float_tol(DataType dt) {
  return dt == DataType::kFloat32 ? 1e-5 : dt == DataType::kFloat16 ? 4e-3 : 2e-2;
}

// The shape-inference error of a case, or "OK".
inline std::string infer_message(const OpCase& c) {
  auto g = make_graph(c);
  return g.is_ok() ? std::string("OK") : g.status().to_string();
}

// Runs every supporting tactic serially and again with `pool` (if given); asserts that exactly
// `tactics` ran (in order) and that output `out` matches `want`.
inline void check_tactics(const OpCase& c, const HostTensor& want, double atol, double rtol,
                          const std::vector<std::string>& tactics, const std::string& what,
                          ThreadPool* pool = nullptr, int out = 0) {
  for (int pass = 0; pass < (pool ? 2 : 1); ++pass) {
    auto runs = pass == 0 ? run_cpu_tactics(c) : run_cpu_tactics_threaded(c, pool);
    ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
    EXPECT_EQ(tactic_names(*runs), tactics) << what;
    for (const auto& r : *runs) {
      EXPECT_TRUE(all_close(r.outputs[out], want, atol, rtol))
          << what << " " << r.tactic << (pass ? " (threaded)" : "");
    }
  }
}

inline Dims to_dims(const std::vector<int64_t>& v) {
  return Dims(std::span<const int64_t>(v));
}

}  // namespace kiln::testing
