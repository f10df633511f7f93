// Reduce: reduces X over a set of axes with one of several operations (ONNX Reduce*, opset 18).
// Inputs:  0 X (float32 / float16 / bfloat16 for every op; int32 / int64 for sum, max, min, prod),
//          1 axes (optional; int64, rank <= 1; a constant or a host shape value known when
//            building). Without input 1, attribute "axes" (ints) is used.
// Output:  0 Y, X's dtype: X's shape with reduced dims set to 1 (keepdims=1) or removed.
// Attributes: "op" (string): sum, mean, max, min, prod, sum_square, l1, l2, log_sum_exp;
//             "keepdims" (int, default 1); "noop_with_empty_axes" (int, default 0: empty axes
//             reduce over all axes; 1: empty axes reduce over none, so Y = op applied to each
//             element alone, e.g. x*x for sum_square).
// Over an empty set: sum/sum_square/l1/l2 = 0, prod = 1, mean = NaN, max = -inf (the lowest
// integer), min = +inf (the highest integer), log_sum_exp = -inf. max/min propagate NaN.
// Integer sum/prod wrap around (two's complement).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& reduce_op();
std::span<const TacticDef> reduce_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> reduce_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

enum class ReduceOp : uint8_t { kSum, kMean, kMax, kMin, kProd, kSumSquare, kL1, kL2, kLogSumExp };
bool parse_reduce_op(std::string_view name, ReduceOp* out);
std::string_view reduce_op_name(ReduceOp op);

// Which dims of X a Reduce node reduces (size = rank of X), from input 1 or attribute "axes";
// error naming the problem (unknown axes, out of range, duplicates).
Result<std::vector<bool>> reduce_axes(const ir::Graph& graph, const ir::Node& node);

}  // namespace kiln::ops
