// Random shapes for the GPU op tests: dims of a random rank, and operands that broadcast to them.
#pragma once

#include <kiln/types.h>

#include <random>
#include <vector>

namespace kiln::testing {

// Rank in [min_rank, max_rank], extents in [1, max_extent].
inline Dims random_rank_dims(std::mt19937& rng, int min_rank, int max_rank, int64_t max_extent) {
  const int rank = std::uniform_int_distribution<int>(min_rank, max_rank)(rng);
  std::vector<int64_t> d(static_cast<size_t>(rank));
  for (int64_t& e : d) e = std::uniform_int_distribution<int64_t>(1, max_extent)(rng);
  return Dims(std::span<const int64_t>(d));
}

// A shape that broadcasts to `out` (numpy, right-aligned): a random suffix of its dims, each kept
// or replaced by 1.
inline Dims random_broadcast_of(const Dims& out, std::mt19937& rng) {
  const int skip = std::uniform_int_distribution<int>(0, out.rank())(rng);
  std::vector<int64_t> d(out.begin() + skip, out.end());
  for (int64_t& e : d) e = std::uniform_int_distribution<int>(0, 2)(rng) == 0 ? 1 : e;
  return Dims(std::span<const int64_t>(d));
}

}  // namespace kiln::testing
