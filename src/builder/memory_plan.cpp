#include "builder/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace kiln::builder {

namespace {
int64_t align_up(int64_t v, int64_t a) { return (v + a - 1) / a * a; }
bool lifetimes_overlap(const TensorLifetime& a, const TensorLifetime& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}
}  // namespace

MemoryPlan plan_memory(std::span<const TensorLifetime> tensors, int64_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(tensors.size(), 0);
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (tensors[a].size != tensors[b].size) return tensors[a].size > tensors[b].size;
    return tensors[a].first_step < tensors[b].first_step;
  });
  struct Placed {
    int64_t begin, end;
    size_t index;
  };
  std::vector<Placed> placed;
  for (size_t idx : order) {
    const TensorLifetime& t = tensors[idx];
    int64_t size = align_up(std::max<int64_t>(t.size, 1), alignment);
    // Occupied intervals of live-overlapping tensors, sorted by start.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (const Placed& p : placed) {
      if (lifetimes_overlap(t, tensors[p.index])) busy.emplace_back(p.begin, p.end);
    }
    std::sort(busy.begin(), busy.end());
    // Best fit: the smallest gap that holds `size`; else after the last busy interval.
    int64_t best = -1, best_gap = INT64_MAX, cursor = 0;
    for (const auto& [b, e] : busy) {
      if (b > cursor) {
        int64_t gap = b - cursor;
        if (gap >= size && gap < best_gap) {
          best = cursor;
          best_gap = gap;
        }
      }
      cursor = std::max(cursor, e);
    }
    if (best < 0) best = cursor;
    plan.offsets[idx] = best;
    placed.push_back({best, best + size, idx});
    plan.total = std::max(plan.total, best + size);
  }
  return plan;
}

bool plan_is_valid(std::span<const TensorLifetime> tensors, const MemoryPlan& plan) {
  if (plan.offsets.size() != tensors.size()) return false;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (plan.offsets[i] < 0 || plan.offsets[i] + tensors[i].size > plan.total) return false;
    for (size_t j = i + 1; j < tensors.size(); ++j) {
      if (!lifetimes_overlap(tensors[i], tensors[j])) continue;
      bool disjoint = plan.offsets[i] + tensors[i].size <= plan.offsets[j] ||
                      plan.offsets[j] + tensors[j].size <= plan.offsets[i];
      if (!disjoint && tensors[i].size > 0 && tensors[j].size > 0) return false;
    }
  }
  return true;
}

}  // namespace kiln::builder
