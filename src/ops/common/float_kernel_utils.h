// Small kernel-side helpers shared by the float-only CPU kernels of Conv and ConvTranspose.
#pragma once

#include "ops/activation/activation.h"
#include "ops/op.h"

#include <string>
#include <type_traits>

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

// Calls fn(T{}) for T = float, Half or BFloat16 per `dt` and returns fn's Status (or ok when fn
// returns nothing); any other dtype is an `unsupported` error naming `what` (e.g. "Conv kernel").
template <typename Fn>
Status dispatch_float_dtype(const char* what, DataType dt, Fn&& fn) {
  auto call = [&](auto tag) -> Status {
    if constexpr (std::is_same_v<decltype(fn(tag)), Status>) {
      return fn(tag);
    } else {
      fn(tag);
      return Status::ok();
    }
  };
  switch (dt) {
    case DataType::kFloat32:
      return call(float{});
    case DataType::kFloat16:
      return call(Half{});
    case DataType::kBFloat16:
      return call(BFloat16{});
    default:
      return unsupported(std::string(what) + ": unsupported dtype " + std::string(dtype_name(dt)));
  }
}

}  // namespace kiln::ops
