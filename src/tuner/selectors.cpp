// Built-in tactic selector policies.
#include <kiln/tactic_selector.h>

namespace kiln {

namespace {

// Keeps the fastest timed candidate (ties: heuristic order); none timed: keeps all.
class FastestSelector final : public TacticSelector {
 public:
  Result<std::vector<int>> select(const LayerContext&,
                                  std::span<const TacticCandidate> candidates) override {
    int best = -1;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (!candidates[i].timed()) continue;
      if (best < 0 || candidates[i].time_ms < candidates[best].time_ms) best = static_cast<int>(i);
    }
    if (best < 0) return std::vector<int>{};
    return std::vector<int>{best};
  }
};

// Keeps the candidate with the least workspace (ties: the fastest timed, then heuristic order).
class SmallestWorkspaceSelector final : public TacticSelector {
 public:
  Result<std::vector<int>> select(const LayerContext&,
                                  std::span<const TacticCandidate> candidates) override {
    int best = -1;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const TacticCandidate& c = candidates[i];
      if (best < 0) {
        best = static_cast<int>(i);
        continue;
      }
      const TacticCandidate& b = candidates[best];
      bool better = c.workspace < b.workspace;
      if (c.workspace == b.workspace && c.timed()) better = !b.timed() || c.time_ms < b.time_ms;
      if (better) best = static_cast<int>(i);
    }
    if (best < 0) return std::vector<int>{};
    return std::vector<int>{best};
  }
};

}  // namespace

std::shared_ptr<TacticSelector> make_fastest_selector() {
  return std::make_shared<FastestSelector>();
}

std::shared_ptr<TacticSelector> make_smallest_workspace_selector() {
  return std::make_shared<SmallestWorkspaceSelector>();
}

}  // namespace kiln
