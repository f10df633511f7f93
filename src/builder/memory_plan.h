// Activation memory planning: tensors with disjoint lifetimes share arena bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace kiln::builder {

struct TensorLifetime {
  int64_t size = 0;     // bytes
  int first_step = 0;   // step (node position) that writes it
  int last_step = 0;    // last step that reads it (inclusive)
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per tensor, aligned
  int64_t total = 0;             // arena bytes
};

inline constexpr int64_t kArenaAlignment = 256;

// Greedy best-fit by decreasing size: each tensor takes the lowest offset that does not overlap
// any already placed tensor with an intersecting lifetime. Deterministic.
MemoryPlan plan_memory(std::span<const TensorLifetime> tensors,
                       int64_t alignment = kArenaAlignment);

// Checks a plan: no two live-overlapping tensors overlap in memory, all inside total.
bool plan_is_valid(std::span<const TensorLifetime> tensors, const MemoryPlan& plan);

}  // namespace kiln::builder
