// Einsum (ONNX Einsum): sums products of the operands over the labels of an Einstein equation.
//
// Inputs: 1 or more operands of one dtype: float32 / float16 / bfloat16 / int32 / int64.
// Attribute "equation" (required): "<term>,<term>,...[-><term>]", one term per operand; a term is
//   letters a-z / A-Z, one label per dim, and at most one "..." standing for the dims not
//   labeled (right-aligned across operands and broadcast like numpy). Spaces are ignored.
//   - A letter repeated within a term takes the diagonal ("ii->i").
//   - Dims sharing a label must be equal, or 1 (broadcast).
//   - Explicit output ("->"): distinct letters that occur in the inputs, and "..." for the
//     ellipsis dims (ellipsis dims it leaves out are summed). Implicit output (no "->"): the
//     ellipsis dims, then the letters that occur exactly once, in ASCII order (uppercase first).
//   - Labels not in the output are summed over.
// Output: the operands' dtype; its dims are the sizes of the output labels. Floats accumulate in
// float (double in the reference), integers in int64 with wrap-around.
#pragma once

#include "ops/op.h"

#include <string>
#include <vector>

namespace kiln::ops {

const OpDef& einsum_op();
std::span<const TacticDef> einsum_cpu_tactics();  // cpu.cpp

// A parsed equation for operands of given ranks. Labels are numbered: letters first (in order of
// appearance), then the ellipsis dims.
struct EinsumSpec {
  int num_labels = 0;
  std::vector<std::vector<int>> inputs;  // label of each dim of each operand
  std::vector<int> output;               // label of each output dim
  std::vector<std::string> label_names;  // "i", "...0" (for messages)
};

// Parses and validates `equation` for operands of `ranks`; the error names the equation and the
// problem.
Result<EinsumSpec> parse_einsum(const std::string& equation, const std::vector<int>& ranks);

}  // namespace kiln::ops
