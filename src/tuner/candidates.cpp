#include "tuner/candidates.h"

#include <algorithm>
#include <climits>

namespace kiln::tuner {

const TacticTiming* find_record(const std::optional<TimingCacheValue>& entry,
                                const std::string& id) {
  if (!entry) return nullptr;
  auto it =
      std::lower_bound(entry->tactics.begin(), entry->tactics.end(), id,
                       [](const TacticTiming& t, const std::string& v) { return t.tactic_id < v; });
  return it != entry->tactics.end() && it->tactic_id == id ? &*it : nullptr;
}

Result<std::vector<RankedTactic>> enumerate_tactics(const ops::KernelInfo& info,
                                                    TacticSources sources,
                                                    const std::optional<TimingCacheValue>& entry,
                                                    std::vector<TacticTiming>* learned) {
  const std::string& op = info.node->op;
  const ops::OpDef* def = ops::find_op(op);
  if (def == nullptr) return unsupported("op '" + op + "' is not registered");
  std::span<const ops::TacticDef> all =
      info.backend == Backend::kCpu ? def->cpu_tactics : ops::cuda_tactics(op);
  TacticSources op_sources = 0;
  for (const auto& t : all) op_sources |= static_cast<TacticSources>(t.source);
  const std::string sources_text = "enabled tactic sources: " + tactic_sources_to_string(sources) +
                                   "; " + op + " has " + std::string(backend_name(info.backend)) +
                                   " tactics from: " + tactic_sources_to_string(op_sources);
  std::vector<RankedTactic> out;
  bool any_enabled = false;
  for (size_t i = 0; i < all.size(); ++i) {
    const ops::TacticDef& t = all[i];
    // A disabled source is skipped before supports(): asking would initialize its library.
    if ((sources & static_cast<TacticSources>(t.source)) == 0) continue;
    any_enabled = true;
    RankedTactic r;
    r.def = &t;
    r.id = ops::tactic_id(op, t);
    r.position = static_cast<int>(i);
    if (const TacticTiming* known = find_record(entry, r.id)) {
      // Same signature and device descriptor: the answers would be the same.
      if (!known->supported) continue;
      r.rank = known->heuristic_rank;
    } else {
      if (!t.supports(info)) {
        TacticTiming no;
        no.tactic_id = r.id;
        no.supported = false;
        learned->push_back(std::move(no));
        continue;
      }
      if (t.source == TacticSource::kCpuReference) {
        r.rank = INT_MAX;
      } else {
        r.rank = t.heuristic_rank != nullptr ? t.heuristic_rank(info) : static_cast<int>(i);
      }
    }
    out.push_back(std::move(r));
  }
  if (!any_enabled) {
    return unsupported(
        "no tactic is left for this layer: none of its op's tactics belongs to an "
        "enabled source (" +
        sources_text + ")");
  }
  if (out.empty()) {
    return unsupported("no tactic is left for this layer: no enabled tactic supports it (" +
                       sources_text + ")");
  }
  std::stable_sort(out.begin(), out.end(), [](const RankedTactic& a, const RankedTactic& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.position < b.position;
  });
  return out;
}

int timed_candidates_for_level(int level) {
  switch (std::clamp(level, 0, 5)) {
    case 0:
      return 0;
    case 1:
      return 2;
    case 2:
      return 3;
    case 3:
      return 4;
    case 4:
      return 8;
    default:
      return -1;
  }
}

}  // namespace kiln::tuner
