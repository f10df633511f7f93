// Small kernel-side helpers shared by the float-only CPU kernels of Conv and ConvTranspose.
#pragma once

#include "ops/activation/activation.h"
#include "ops/op.h"

#include <string>

namespace kiln::ops {

// The fused activation applied at the end of a conv-like epilogue (identity when !has_act).
struct FusedEpilogue {
  bool has_act = false;
  ActivationKind kind = ActivationKind::kRelu;
  float alpha = 0, beta = 0;
  float operator()(float v) const { return has_act ? apply_activation(kind, v, alpha, beta) : v; }
};

// From any params struct with has_activation / activation / alpha / beta (ConvParams,
// ConvTransposeParams).
template <typename Params>
FusedEpilogue make_fused_epilogue(const Params& p) {
  return FusedEpilogue{p.has_activation, p.activation, p.alpha, p.beta};
}

// Calls fn(T{}) for T = float, Half or BFloat16 per `dt`; any other dtype is an `unsupported`
// error naming `what` (e.g. "Conv kernel").
template <typename Fn>
Status dispatch_float_dtype(const char* what, DataType dt, Fn&& fn) {
  switch (dt) {
    case DataType::kFloat32:
      fn(float{});
      return Status::ok();
    case DataType::kFloat16:
      fn(Half{});
      return Status::ok();
    case DataType::kBFloat16:
      fn(BFloat16{});
      return Status::ok();
    default:
      return unsupported(std::string(what) + ": unsupported dtype " + std::string(dtype_name(dt)));
  }
}

}  // namespace kiln::ops
