// Small helpers shared by the fusion passes.
#pragma once

#include "ir/graph.h"

#include <vector>

namespace kiln::passes {

// The single live consumer of `value`, or -1 if it has none, several, or is a graph output.
inline int sole_consumer(const ir::Graph& g, int value) {
  if (g.value(value).is_output) return -1;
  std::vector<int> users = g.consumers(value);
  if (users.size() != 1) return -1;
  // A node that uses the value twice (x + x) is not a fusion candidate either.
  const ir::Node& n = g.node(users[0]);
  int uses = 0;
  for (int in : n.inputs) uses += in == value;
  return uses == 1 ? users[0] : -1;
}

// Makes `keeper` produce `absorbed`'s output (so later users see it) and removes `absorbed`.
inline void absorb_successor(ir::Graph& g, int keeper, int absorbed) {
  ir::Node& k = g.node(keeper);
  ir::Node& a = g.node(absorbed);
  int old_out = k.outputs[0];
  int new_out = a.outputs[0];
  k.outputs[0] = new_out;
  g.value(new_out).producer = keeper;
  g.value(old_out).producer = -1;
  k.fused.push_back(a.name);  // the fused layer keeps the first layer's name
  a.removed = true;
}

}  // namespace kiln::passes
