// Dead-code removal: drops nodes none of whose outputs reach a graph output.
#include "passes/pass.h"

#include <algorithm>

namespace kiln::passes {

int remove_dead_code(ir::Graph& g) {
  std::vector<bool> needed(g.num_values(), false);
  for (int o : g.outputs()) needed[o] = true;
  auto order = g.topo_order();
  if (!order.is_ok()) return 0;
  int removed = 0;
  for (auto it = order->rbegin(); it != order->rend(); ++it) {
    ir::Node& n = g.node(*it);
    bool used = std::any_of(n.outputs.begin(), n.outputs.end(), [&](int v) { return needed[v]; });
    if (!used) {
      n.removed = true;
      ++removed;
      continue;
    }
    for (int in : n.inputs) {
      if (in >= 0) needed[in] = true;
    }
  }
  return removed;
}

}  // namespace kiln::passes
