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
std::span<const TacticDef> einsum_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> einsum_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

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
// The node's parsed equation.
Result<EinsumSpec> einsum_spec(const KernelInfo& info);

// Concrete label sizes of a run (dims sharing a label must be equal or 1); error naming the label.
Status einsum_label_sizes(const EinsumSpec& spec, std::span<const TensorView> inputs,
                          std::vector<int64_t>* size);
// Element stride of every label in operand `input` of shape `d`: the sum over the dims carrying
// the label (a repeated label walks the diagonal), 0 where the dim is 1 (broadcast).
std::vector<int64_t> einsum_label_strides(const EinsumSpec& spec, size_t input, const Dims& d);

// A two-operand equation that is a (batched) matrix product up to permutation: every label is a
// batch (A, B, out), m (A, out), n (B, out) or k (A, B; summed) label. C = A' * B' per batch
// entry, with A' = A laid out as [batch, m, k] (or [batch, k, m]: a_trans), B' = B as
// [batch, k, n] (or [batch, n, k]: b_trans); an operand in neither layout is permuted first
// (a_copy / b_copy), and C [batch, m, n] is permuted into the output unless it has its order.
struct EinsumGemm {
  EinsumSpec spec;
  std::vector<int> batch, m, n, k;  // label ids per role
  bool a_trans = false, a_copy = false;
  bool b_trans = false, b_copy = false;
  bool c_copy = false;
  std::vector<int> a_order() const;  // batch, m, k
  std::vector<int> b_order() const;  // batch, k, n
  std::vector<int> c_order() const;  // batch, m, n
};
// The node as such a product, valid over its whole shape range (the occurrences of each label
// symbolically equal: no broadcast); unsupported() otherwise.
Result<EinsumGemm> einsum_gemm(const KernelInfo& info);

}  // namespace kiln::ops
