#include "ops/activation/activation.h"

#include <cmath>

namespace kiln::ops {

namespace {
constexpr std::string_view kNames[] = {
    "relu", "leaky_relu", "sigmoid",   "tanh", "elu",          "selu",       "softplus",
    "clip", "gelu_erf",   "gelu_tanh", "silu", "hard_sigmoid", "hard_swish", "thresholded_relu",
    "celu", "mish",       "softsign"};

Status infer_activation(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input");
  ActivationKind kind;
  std::string type = ctx.attrs().get_string("type");
  if (!parse_activation(type, &kind)) {
    return ctx.error("unknown activation type '" + type + "'");
  }
  if (kind == ActivationKind::kCelu && ctx.attrs().get_float("alpha", 1.0) == 0.0) {
    return ctx.error("celu needs a nonzero alpha");
  }
  if (!is_floating(ctx.input_dtype(0))) {
    return ctx.error("activation needs a floating-point input, got " +
                     std::string(dtype_name(ctx.input_dtype(0))));
  }
  ctx.output(0).dtype = ctx.input_dtype(0);
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}
}  // namespace

const OpDef& activation_op() {
  static const OpDef def{"Activation", infer_activation, activation_cpu_tactics()};
  return def;
}

bool parse_activation(std::string_view name, ActivationKind* out) {
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) {
      *out = static_cast<ActivationKind>(i);
      return true;
    }
  }
  return false;
}

std::string_view activation_name(ActivationKind kind) { return kNames[static_cast<int>(kind)]; }

void activation_defaults(ActivationKind kind, double* alpha, double* beta) {
  *alpha = 0;
  *beta = 0;
  switch (kind) {
    case ActivationKind::kLeakyRelu: *alpha = 0.01; break;
    case ActivationKind::kElu: *alpha = 1.0; break;
    case ActivationKind::kSelu:
      *alpha = 1.6732632423543772;
      *beta = 1.0507009873554805;
      break;
    case ActivationKind::kClip:
      *alpha = -INFINITY;
      *beta = INFINITY;
      break;
    case ActivationKind::kHardSigmoid:
      *alpha = 0.2;
      *beta = 0.5;
      break;
    case ActivationKind::kThresholdedRelu: *alpha = 1.0; break;
    case ActivationKind::kCelu: *alpha = 1.0; break;
    default: break;
  }
}

float apply_activation(ActivationKind kind, float x, float alpha, float beta) {
  switch (kind) {
    case ActivationKind::kRelu: return x > 0.f ? x : 0.f;
    case ActivationKind::kLeakyRelu: return x >= 0.f ? x : alpha * x;
    case ActivationKind::kSigmoid: return 1.f / (1.f + std::exp(-x));
    case ActivationKind::kTanh: return std::tanh(x);
    case ActivationKind::kElu: return x >= 0.f ? x : alpha * (std::exp(x) - 1.f);
    case ActivationKind::kSelu: return x > 0.f ? beta * x : beta * alpha * (std::exp(x) - 1.f);
    case ActivationKind::kSoftplus: return x > 20.f ? x : std::log1p(std::exp(x));
    case ActivationKind::kClip: return std::fmin(std::fmax(x, alpha), beta);
    case ActivationKind::kGeluErf: return 0.5f * x * (1.f + std::erf(x * 0.70710678118654752f));
    case ActivationKind::kGeluTanh:
      return 0.5f * x * (1.f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case ActivationKind::kSilu: return x / (1.f + std::exp(-x));
    case ActivationKind::kHardSigmoid: return std::fmax(0.f, std::fmin(1.f, alpha * x + beta));
    case ActivationKind::kHardSwish: return x * std::fmax(0.f, std::fmin(1.f, x / 6.f + 0.5f));
    case ActivationKind::kThresholdedRelu: return x > alpha ? x : 0.f;
    case ActivationKind::kCelu:
      return std::fmax(0.f, x) + std::fmin(0.f, alpha * std::expm1(x / alpha));
    case ActivationKind::kMish: {
      const float sp = x > 20.f ? x : std::log1p(std::exp(x));
      return x * std::tanh(sp);
    }
    case ActivationKind::kSoftsign: return x / (1.f + std::fabs(x));
  }
  return x;
}

}  // namespace kiln::ops
