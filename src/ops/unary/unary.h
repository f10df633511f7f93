// Unary: Y = f(X) elementwise.
//   inputs:  0 X.
//   attrs:   "op" (string): exp, log, sqrt, rsqrt, abs, neg, reciprocal, erf, sin, cos, tan,
//            floor, ceil, round (half to even), sign, not.
//   dtypes:  float32, float16, bfloat16 (computed in float) for every op but not;
//            abs, neg, sign also int8, int32, int64 (neg wraps at the minimum value, as does
//            abs), and abs, sign uint8; not: bool only.
//   output:  X's dtype and shape.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& unary_op();
std::span<const TacticDef> unary_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> unary_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

enum class UnaryOp : uint8_t {
  kExp,
  kLog,
  kSqrt,
  kRsqrt,
  kAbs,
  kNeg,
  kReciprocal,
  kErf,
  kSin,
  kCos,
  kTan,
  kFloor,
  kCeil,
  kRound,
  kSign,
  kNot,
};
bool parse_unary_op(std::string_view name, UnaryOp* out);
std::string_view unary_op_name(UnaryOp op);
// Whether `op` accepts inputs of `dtype`.
bool unary_supports_dtype(UnaryOp op, DataType dtype);

}  // namespace kiln::ops
