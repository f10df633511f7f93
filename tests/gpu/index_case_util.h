// Index tensors for the GPU tests of the indexing ops (GatherElements, GatherND,
// ScatterElements, ScatterND).
#pragma once

#include "common/op_harness.h"

#include <random>

namespace kiln::testing {

// Indices of dtype `dt` drawn uniformly from [-extent, extent) (negative ones count from the
// end), so every value is in range.
inline HostTensor random_indices(std::mt19937& rng, DataType dt, const Dims& shape,
                                 int64_t extent) {
  HostTensor t(dt, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t v = extent > 0 ? static_cast<int64_t>(rng() % (2 * extent)) - extent : 0;
    store_from_double(t.data(), dt, i, static_cast<double>(v));
  }
  return t;
}

// Index tuples [count..., k] for dims `extents` (in range, negative ones too).
inline HostTensor random_tuples(std::mt19937& rng, DataType dt, std::vector<int64_t> lead,
                                const std::vector<int64_t>& extents) {
  lead.push_back(static_cast<int64_t>(extents.size()));
  HostTensor t(dt, Dims(std::span<const int64_t>(lead)));
  const int64_t k = static_cast<int64_t>(extents.size());
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t e = extents[i % k];
    store_from_double(t.data(), dt, i,
                      static_cast<double>(static_cast<int64_t>(rng() % (2 * e)) - e));
  }
  return t;
}

}  // namespace kiln::testing
