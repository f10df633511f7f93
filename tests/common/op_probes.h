// Probe nodes per op and dtype: small valid nodes whose typed tensor (OpDef::dtype_input) has a
// given dtype, in enough variants (attributes, layouts, shapes) that every tactic of the op
// supports at least one of them. tests/unit/op_dtypes_test.cpp (and its GPU twin) ask each
// tactic's supports() about them to check TacticDef::dtypes.
#pragma once

#include "common/op_harness.h"
#include "ops/op.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::testing {

// A probe node after shape inference, with the KernelInfo a tactic's supports() takes (static
// shapes: min = opt = max). Not copyable: info points into graph.
struct Probe {
  std::string variant;  // e.g. "depthwise"
  std::string label;    // e.g. "Conv[float16] depthwise"
  ir::Graph graph;
  ops::KernelInfo info;
};

// Whether dtype_probes knows `op`.
bool has_dtype_probes(std::string_view op);
// The names of the variants of `op` (the same for every dtype).
std::vector<std::string> probe_variant_names(std::string_view op);
// The variants of `op` with typed-tensor dtype `dtype` that pass shape inference (none when the
// op rejects that dtype). Each probe's typed tensor is checked to have `dtype`.
std::vector<std::unique_ptr<Probe>> dtype_probes(std::string_view op, DataType dtype,
                                                 Backend backend);

// The dtypes for which `tactic` of `op` supports at least one probe.
ops::DtypeSet probed_dtypes(const ops::OpDef& op, const ops::TacticDef& tactic, Backend backend);

}  // namespace kiln::testing
