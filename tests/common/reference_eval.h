// Evaluates a whole ir::Graph on the host with every node's reference kernel: the oracle for
// pass tests and whole-network tests (independent of tactics, fusions and memory planning).
#pragma once

#include "core/tensor.h"
#include "ir/graph.h"

#include <map>
#include <string>
#include <vector>

namespace kiln::testing {

// inputs: one tensor per graph input (in graph order). Returns the graph outputs in order.
Result<std::vector<HostTensor>> evaluate_reference(const ir::Graph& graph,
                                                   const std::vector<HostTensor>& inputs);

}  // namespace kiln::testing
