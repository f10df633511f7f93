#include "ops/instance_norm/instance_norm.h"

#include "ops/common/channel_norm.h"

namespace kiln::ops {

namespace {
constexpr const char* kParamNames[] = {"scale", "bias"};

Status infer_instance_norm(InferContext& ctx) {
  if (ctx.num_inputs() != 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
    return ctx.error("expects 3 inputs (X, scale, bias)");
  }
  return infer_channel_norm(ctx, "InstanceNorm", kParamNames);
}
}  // namespace

const OpDef& instance_norm_op() {
  static const OpDef def{"InstanceNorm", infer_instance_norm, instance_norm_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
