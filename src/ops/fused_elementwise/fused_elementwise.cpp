#include "ops/fused_elementwise/fused_elementwise.h"

#include "core/half.h"
#include "ops/activation/activation.h"
#include "ops/elementwise/elementwise.h"
#include "ops/unary/unary.h"

#include <cmath>
#include <limits>

namespace kiln::ops {

namespace {

Status infer_fused(InferContext& ctx) {
  const int n = ctx.num_inputs();
  if (n < 1 || n > kFusedMaxInputs) {
    return ctx.error("expects 1 to " + std::to_string(kFusedMaxInputs) + " inputs, got " +
                     std::to_string(n));
  }
  Result<FusedProgram> prog = parse_fused_program(ctx.attrs(), n);
  if (!prog.is_ok()) return ctx.error(prog.status().message());
  ir::SymShape shape;
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) return ctx.error("input " + std::to_string(i) + " is missing");
    if (!fused_input_dtype(ctx.input_dtype(i))) {
      return ctx.error("input " + std::to_string(i) + " has unsupported dtype " +
                       std::string(dtype_name(ctx.input_dtype(i))));
    }
    Result<ir::SymShape> b = broadcast_shapes(shape, ctx.input_shape(i));
    if (!b.is_ok()) return ctx.error(b.status().message());
    shape = std::move(*b);
  }
  while (static_cast<int>(shape.size()) < prog->rank) shape.insert(shape.begin(), ir::SymExpr(1));
  ctx.output(0).dtype = prog->dtype;
  ctx.output(0).shape = std::move(shape);
  return Status::ok();
}

bool valid_binary(uint8_t sub) {
  switch (static_cast<ElementWiseOp>(sub)) {
    case ElementWiseOp::kSum:
    case ElementWiseOp::kSub:
    case ElementWiseOp::kProd:
    case ElementWiseOp::kDiv:
    case ElementWiseOp::kMin:
    case ElementWiseOp::kMax:
    case ElementWiseOp::kPow:
      return true;
    default:
      return false;
  }
}

float nan_min(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<float>::quiet_NaN();
  return b < a ? b : a;
}
float nan_max(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<float>::quiet_NaN();
  return a < b ? b : a;
}

// Round half to even in float (std::nearbyint under the default rounding mode).
float round_even(float x) {
  return std::nearbyint(x);
}

float unary(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::kExp:
      return std::exp(x);
    case UnaryOp::kLog:
      return std::log(x);
    case UnaryOp::kSqrt:
      return std::sqrt(x);
    case UnaryOp::kRsqrt:
      return 1.f / std::sqrt(x);
    case UnaryOp::kAbs:
      return std::fabs(x);
    case UnaryOp::kNeg:
      return -x;
    case UnaryOp::kReciprocal:
      return 1.f / x;
    case UnaryOp::kErf:
      return std::erf(x);
    case UnaryOp::kSin:
      return std::sin(x);
    case UnaryOp::kCos:
      return std::cos(x);
    case UnaryOp::kTan:
      return std::tan(x);
    case UnaryOp::kFloor:
      return std::floor(x);
    case UnaryOp::kCeil:
      return std::ceil(x);
    case UnaryOp::kRound:
      return round_even(x);
    case UnaryOp::kSign:
      return std::isnan(x) ? x : (x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f));
    case UnaryOp::kNot:
      break;
  }
  return x;
}

}  // namespace

const OpDef& fused_elementwise_op() {
  static const OpDef def{"FusedElementwise", infer_fused, fused_elementwise_cpu_tactics()};
  return def;
}

bool fused_input_dtype(DataType t) {
  return true;  // every kiln dtype converts to float (bool as 0 / 1)
}

Result<FusedProgram> parse_fused_program(const ir::Attrs& attrs, int num_inputs) {
  FusedProgram p;
  p.num_inputs = num_inputs;
  std::string dt = attrs.get_string("dtype", "float32");
  if (!dtype_from_name(dt, &p.dtype) || !is_floating(p.dtype)) {
    return invalid_argument("attribute dtype '" + dt + "' is not float32, float16 or bfloat16");
  }
  p.rank = static_cast<int>(attrs.get_int("rank", 0));
  if (p.rank < 0 || p.rank > Dims::kMaxDims) {
    return invalid_argument("attribute rank " + std::to_string(p.rank) + " is out of range");
  }
  for (double c : attrs.get_floats("constants")) p.constants.push_back(static_cast<float>(c));
  if (p.constants.size() > static_cast<size_t>(kFusedMaxConstants)) {
    return invalid_argument("more than " + std::to_string(kFusedMaxConstants) + " constants");
  }
  std::vector<int64_t> code = attrs.get_ints("program");
  if (code.empty() || code.size() % 5 != 0) {
    return invalid_argument("attribute program must hold 5 ints per instruction, got " +
                            std::to_string(code.size()));
  }
  const size_t count = code.size() / 5;
  if (count > static_cast<size_t>(kFusedMaxInstructions)) {
    return invalid_argument("more than " + std::to_string(kFusedMaxInstructions) + " instructions");
  }
  const int64_t nconst = static_cast<int64_t>(p.constants.size());
  for (size_t k = 0; k < count; ++k) {
    const int64_t* w = &code[5 * k];
    const std::string at = "instruction " + std::to_string(k) + ": ";
    const int64_t regs = num_inputs + static_cast<int64_t>(k);  // readable registers
    auto operand = [&](int64_t r) { return (r >= 0 && r < regs) || (r < 0 && r >= -nconst); };
    FusedInstruction ins;
    if (w[0] < 0 || w[0] > 4) return invalid_argument(at + "unknown kind " + std::to_string(w[0]));
    ins.kind = static_cast<FusedKind>(w[0]);
    if (w[1] < 0 || w[1] > 255) return invalid_argument(at + "sub-op out of range");
    ins.sub = static_cast<uint8_t>(w[1]);
    int used = 1;
    switch (ins.kind) {
      case FusedKind::kBinary:
        if (!valid_binary(ins.sub)) return invalid_argument(at + "invalid binary op");
        used = 2;
        break;
      case FusedKind::kUnary:
        if (ins.sub >= static_cast<uint8_t>(UnaryOp::kNot)) {
          return invalid_argument(at + "invalid unary op");
        }
        break;
      case FusedKind::kActivation:
        if (ins.sub > static_cast<uint8_t>(ActivationKind::kSoftsign)) {
          return invalid_argument(at + "invalid activation");
        }
        used = 3;
        break;
      case FusedKind::kWhere:
        used = 3;
        break;
      case FusedKind::kRound:
        if (ins.sub != static_cast<uint8_t>(DataType::kFloat16) &&
            ins.sub != static_cast<uint8_t>(DataType::kBFloat16)) {
          return invalid_argument(at + "round needs float16 or bfloat16");
        }
        break;
    }
    const int64_t ops[3] = {w[2], w[3], w[4]};
    for (int o = 0; o < 3; ++o) {
      if (o < used ? !operand(ops[o]) : ops[o] != 0) {
        return invalid_argument(at + "operand " + std::to_string(o) + " (" +
                                std::to_string(ops[o]) + ") is invalid");
      }
    }
    ins.x = static_cast<int16_t>(w[2]);
    ins.y = static_cast<int16_t>(w[3]);
    ins.z = static_cast<int16_t>(w[4]);
    p.code.push_back(ins);
  }
  return p;
}

int fused_operand_count(FusedKind k) {
  switch (k) {
    case FusedKind::kBinary:
      return 2;
    case FusedKind::kActivation:
    case FusedKind::kWhere:
      return 3;
    case FusedKind::kUnary:
    case FusedKind::kRound:
      return 1;
  }
  return 1;
}

FusedSlotProgram allocate_fused_slots(const FusedProgram& p) {
  const int n_in = p.num_inputs;
  const int n_code = static_cast<int>(p.code.size());
  const size_t n_regs = static_cast<size_t>(n_in + n_code);
  // Per register: the last instruction reading it from a slot (-1: none), and whether any
  // instruction but the next one reads it.
  std::vector<int> last(n_regs, -1);
  std::vector<bool> needs_slot(n_regs, false);
  auto from_previous = [&](int reg, int k) { return reg >= n_in && reg == n_in + k - 1; };
  for (int k = 0; k < n_code; ++k) {
    const FusedInstruction& ins = p.code[static_cast<size_t>(k)];
    const int16_t ops[3] = {ins.x, ins.y, ins.z};
    for (int o = 0; o < fused_operand_count(ins.kind); ++o) {
      if (ops[o] < 0 || from_previous(ops[o], k)) continue;
      last[static_cast<size_t>(ops[o])] = k;
      needs_slot[static_cast<size_t>(ops[o])] = true;
    }
  }
  std::vector<int> slot_of(n_regs, -1);
  std::vector<bool> busy;
  auto take = [&]() {
    for (size_t s = 0; s < busy.size(); ++s) {
      if (!busy[s]) {
        busy[s] = true;
        return static_cast<int>(s);
      }
    }
    busy.push_back(true);
    return static_cast<int>(busy.size()) - 1;
  };
  for (int i = 0; i < n_in; ++i) slot_of[static_cast<size_t>(i)] = take();  // slot i
  for (int i = 0; i < n_in; ++i) {
    if (last[static_cast<size_t>(i)] < 0) busy[static_cast<size_t>(i)] = false;  // never read
  }
  FusedSlotProgram out;
  for (int k = 0; k < n_code; ++k) {
    const FusedInstruction& ins = p.code[static_cast<size_t>(k)];
    const int used = fused_operand_count(ins.kind);
    const int16_t ops[3] = {ins.x, ins.y, ins.z};
    int8_t mapped[3] = {0, 0, 0};
    for (int o = 0; o < used; ++o) {
      mapped[o] = ops[o] < 0 ? static_cast<int8_t>(ops[o])
                  : from_previous(ops[o], k)
                      ? kFusedPrevious
                      : static_cast<int8_t>(slot_of[static_cast<size_t>(ops[o])]);
    }
    for (int o = 0; o < used; ++o) {
      if (mapped[o] >= 0 && last[static_cast<size_t>(ops[o])] == k) {
        busy[static_cast<size_t>(mapped[o])] = false;
      }
    }
    const size_t reg = static_cast<size_t>(n_in + k);
    FusedSlotInstruction s;
    s.kind = ins.kind;
    s.sub = ins.sub;
    if (needs_slot[reg]) {
      s.dst = static_cast<int8_t>(take());
      slot_of[reg] = s.dst;
    }
    s.x = mapped[0];
    s.y = mapped[1];
    s.z = mapped[2];
    out.code.push_back(s);
  }
  out.slots = static_cast<int>(busy.size());
  return out;
}

float fused_eval(const FusedInstruction& ins, float x, float y, float z) {
  switch (ins.kind) {
    case FusedKind::kBinary:
      switch (static_cast<ElementWiseOp>(ins.sub)) {
        case ElementWiseOp::kSum:
          return x + y;
        case ElementWiseOp::kSub:
          return x - y;
        case ElementWiseOp::kProd:
          return x * y;
        case ElementWiseOp::kDiv:
          return x / y;
        case ElementWiseOp::kMin:
          return nan_min(x, y);
        case ElementWiseOp::kMax:
          return nan_max(x, y);
        case ElementWiseOp::kPow:
          return std::pow(x, y);
        default:
          return x;
      }
    case FusedKind::kUnary:
      return unary(static_cast<UnaryOp>(ins.sub), x);
    case FusedKind::kActivation:
      return apply_activation(static_cast<ActivationKind>(ins.sub), x, y, z);
    case FusedKind::kWhere:
      return x != 0.f ? y : z;
    case FusedKind::kRound:
      return ins.sub == static_cast<uint8_t>(DataType::kFloat16) ? static_cast<float>(Half(x))
                                                                 : static_cast<float>(BFloat16(x));
  }
  return x;
}

}  // namespace kiln::ops
