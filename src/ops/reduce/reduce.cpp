#include "ops/reduce/reduce.h"

namespace kiln::ops {

namespace {
constexpr std::string_view kNames[] = {"sum",        "mean", "max", "min",        "prod",
                                       "sum_square", "l1",   "l2",  "log_sum_exp"};

Status infer_reduce(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 2 || !ctx.has_input(0)) {
    return ctx.error("expects inputs X and an optional axes");
  }
  std::string name = ctx.attrs().get_string("op");
  ReduceOp op;
  if (!parse_reduce_op(name, &op)) return ctx.error("unknown reduce op '" + name + "'");
  DataType dt = ctx.input_dtype(0);
  bool int_ok =
      op == ReduceOp::kSum || op == ReduceOp::kMax || op == ReduceOp::kMin || op == ReduceOp::kProd;
  if (!is_floating(dt) && !(int_ok && (dt == DataType::kInt32 || dt == DataType::kInt64))) {
    return ctx.error("reduce op '" + name + "' does not support dtype " +
                     std::string(dtype_name(dt)));
  }
  auto axes = reduce_axes(ctx.graph(), ctx.node());
  if (!axes.is_ok()) return ctx.error(axes.status().message());
  bool keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  const ir::SymShape& in = ctx.input_shape(0);
  ir::SymShape out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!(*axes)[i])
      out.push_back(in[i]);
    else if (keepdims)
      out.emplace_back(1);
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = std::move(out);
  return Status::ok();
}
}  // namespace

bool parse_reduce_op(std::string_view name, ReduceOp* out) {
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) {
      *out = static_cast<ReduceOp>(i);
      return true;
    }
  }
  return false;
}

std::string_view reduce_op_name(ReduceOp op) {
  return kNames[static_cast<int>(op)];
}

Result<std::vector<bool>> reduce_axes(const ir::Graph& graph, const ir::Node& node) {
  const ir::Value& x = graph.value(node.inputs[0]);
  int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> axes;
  if (node.inputs.size() > 1 && node.inputs[1] >= 0) {
    const ir::Value& a = graph.value(node.inputs[1]);
    if (a.dtype != DataType::kInt64 && a.dtype != DataType::kInt32) {
      return invalid_argument("input axes must be int64, got " + std::string(dtype_name(a.dtype)));
    }
    if (a.shape.size() > 1) {
      return invalid_argument("input axes must have rank <= 1, got " +
                              ir::shape_to_string(a.shape));
    }
    if (a.shape_value) {
      for (const ir::SymExpr& e : *a.shape_value) {
        if (!e.is_const()) return invalid_argument("input axes must be known when building");
        axes.push_back(e.value());
      }
    } else if (a.constant) {
      for (int64_t i = 0; i < a.constant->numel(); ++i) axes.push_back(a.constant->get_int(i));
    } else {
      return invalid_argument("input axes must be a constant or a shape value");
    }
  } else {
    axes = node.attrs.get_ints("axes");
  }
  std::vector<bool> reduced(rank, false);
  if (axes.empty()) {
    if (node.attrs.get_int("noop_with_empty_axes", 0) == 0) reduced.assign(rank, true);
    return reduced;
  }
  for (int64_t a : axes) {
    int64_t n = a;
    KILN_RETURN_IF_ERROR(normalize_axis(&n, rank, "reduce axis"));
    if (rank == 0) continue;  // a scalar: axis 0 reduces nothing
    if (reduced[n]) return invalid_argument("reduce axis " + std::to_string(a) + " is repeated");
    reduced[n] = true;
  }
  return reduced;
}

const OpDef& reduce_op() {
  static const OpDef def{"Reduce", infer_reduce, reduce_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
