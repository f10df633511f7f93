// ElementWise: Y = A op B with numpy broadcasting.
//   inputs:  0 A, 1 B (same dtype).
//   attrs:   "op" (string):
//              arithmetic  sum, sub, prod, div, min, max, pow, mod — every numeric dtype
//                          (float32/16, bfloat16 computed in float; int8, uint8, int32, int64).
//                          Integer div truncates toward zero; integer overflow wraps; an integer
//                          division or mod by zero gives 0 (defined instead of a crash).
//                          min/max propagate NaN. Integer pow with a negative exponent gives the
//                          truncated result (0 unless the base is +-1).
//              comparison  equal, less, greater, less_equal, greater_equal — numeric dtypes
//                          (equal also bool); output bool.
//              logic       and, or, xor — bool inputs and output.
//            "fmod" (int, default 0): for mod, 0 = the result takes the divisor's sign (ONNX Mod
//            fmod=0, Python %), 1 = C fmod (the dividend's sign, ONNX fmod=1).
//   output:  broadcast shape. When both inputs are int32/int64 of rank <= 1 with a symbolic
//            content (shape tensors), sum/sub/prod/div/min/max/mod also produce the output's
//            symbolic content, so PyTorch-export shape arithmetic is evaluated on the host.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& elementwise_op();
std::span<const TacticDef> elementwise_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> elementwise_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

enum class ElementWiseOp : uint8_t {
  kSum,
  kSub,
  kProd,
  kDiv,
  kMin,
  kMax,
  kPow,
  kMod,
  kEqual,
  kLess,
  kGreater,
  kLessEqual,
  kGreaterEqual,
  kAnd,
  kOr,
  kXor,
};
bool parse_elementwise_op(std::string_view name, ElementWiseOp* out);
std::string_view elementwise_op_name(ElementWiseOp op);
inline bool is_comparison(ElementWiseOp op) {
  return op >= ElementWiseOp::kEqual && op <= ElementWiseOp::kGreaterEqual;
}
inline bool is_logic(ElementWiseOp op) {
  return op >= ElementWiseOp::kAnd;
}

}  // namespace kiln::ops
