// Error bounds that scale with the magnitude of a sum of products (ConvTranspose, Einsum): a
// float sum reordered (or on TF32 tensor cores) is off by a multiple of the sum of the absolute
// values of its terms, not of the result, which may cancel to near zero. The magnitude of every
// output is the reference run on |inputs| (the caller drops attributes that would not keep it a
// plain sum of |products|, such as a fused activation).
#pragma once

#include "gpu/gpu_harness.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::testing {

// |err| <= floor + acc * magnitude + out * |expected|.
struct MagnitudeTol {
  double acc = 0, out = 0, floor = 0;
};

// The case with every input replaced by its absolute values.
inline OpCase abs_inputs(const OpCase& c) {
  OpCase m = c;
  for (HostTensor& t : m.inputs) {
    if (t.empty()) continue;
    HostTensor a(t.dtype(), t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) {
      store_from_double(a.data(), t.dtype(), i, std::fabs(t.get_double(i)));
    }
    t = a;
  }
  return m;
}

// "" when every element is within its bound, else how many differ and the first few.
inline std::string compare_with_magnitude(const HostTensor& got, const HostTensor& want,
                                          const HostTensor& mag, const MagnitudeTol& t) {
  if (!(got.shape() == want.shape())) {
    return "shape " + got.shape().to_string() + " != " + want.shape().to_string();
  }
  std::ostringstream os;
  int64_t bad = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.get_double(i), w = want.get_double(i), m = mag.get_double(i);
    const double lim = t.floor + t.acc * m + t.out * std::fabs(w);
    if (!(std::fabs(g - w) <= lim)) {
      if (bad < 4) os << " [" << i << "] got " << g << " want " << w << " (magnitude " << m << ");";
      ++bad;
    }
  }
  if (bad == 0) return "";
  return std::to_string(bad) + " of " + std::to_string(got.numel()) + " differ:" + os.str();
}

// Runs every supporting CUDA tactic on `c` and checks output 0 against the reference with
// tol(tactic id); `magnitude` is the case whose reference gives the magnitudes. Returns the ids
// that ran (empty after a failure, which has been reported).
template <typename TolFn>
std::vector<std::string> check_with_magnitude(const OpCase& c, const OpCase& magnitude,
                                              Device* device, cudaStream_t stream, TolFn tol,
                                              const std::string& what) {
  auto want = run_reference_case(c);
  auto mag = run_reference_case(magnitude);
  EXPECT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  EXPECT_TRUE(mag.is_ok()) << what << ": " << mag.status().to_string();
  if (!want.is_ok() || !mag.is_ok()) return {};
  auto runs = run_cuda_tactics(c, device, stream);
  EXPECT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  if (!runs.is_ok()) return {};
  std::vector<std::string> ids;
  for (const CudaTacticRun& r : *runs) {
    ids.push_back(r.tactic);
    EXPECT_EQ(compare_with_magnitude(r.outputs[0], (*want)[0], (*mag)[0], tol(r.tactic)), "")
        << what << " tactic " << r.tactic;
  }
  return ids;
}

inline bool ran_tactic(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

inline bool ran_source(const std::vector<std::string>& ids, const std::string& source) {
  return std::any_of(ids.begin(), ids.end(), [&](const std::string& id) {
    return id.find("/" + source + "/") != std::string::npos;
  });
}

}  // namespace kiln::testing
