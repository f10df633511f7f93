#include "ops/batch_norm/batch_norm.h"

#include "ops/common/channel_norm.h"
#include "ops/common/layout.h"

namespace kiln::ops {

namespace {
constexpr const char* kParamNames[] = {"scale", "bias", "mean", "var"};

Status infer_batch_norm(InferContext& ctx) {
  if (ctx.num_inputs() != 5) return ctx.error("expects 5 inputs (X, scale, bias, mean, var)");
  for (int i = 0; i < 5; ++i) {
    if (!ctx.has_input(i)) {
      return ctx.error(std::string("input ") + (i == 0 ? "X" : kParamNames[i - 1]) + " is missing");
    }
  }
  return infer_channel_norm(ctx, "BatchNorm", kParamNames, channels_last(ctx.attrs()));
}
}  // namespace

const OpDef& batch_norm_op() {
  static const OpDef def{"BatchNorm", infer_batch_norm, batch_norm_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
