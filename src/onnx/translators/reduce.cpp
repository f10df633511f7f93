// Reductions: ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSumExp/LogSum, ArgMax, ArgMin,
// and TopK.
#include "onnx/translators/translators.h"

namespace kiln::onnx_import {

namespace {

// `axes_input_from`: the opset from which axes come as input 1 instead of an attribute.
Status reduce(NodeContext& c, std::string_view op, int64_t axes_input_from, bool log_after = false) {
  const bool from_input = c.opset() >= axes_input_from;
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, from_input ? 2 : 1));
  int x = c.input(0);
  const bool int_ok = op == "sum" || op == "max" || op == "min" || op == "prod";
  if (int_ok) {
    KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kFloat32, DataType::kFloat16,
                                            DataType::kBFloat16, DataType::kInt32,
                                            DataType::kInt64}));
  } else {
    KILN_RETURN_IF_ERROR(c.expect_float(0));
  }
  std::vector<int64_t> axes;
  if (from_input) {
    if (c.has_input(1)) {
      KILN_ASSIGN_OR_RETURN(axes, c.const_ints(1, "axes"));
    }
  } else {
    axes = c.attr_ints("axes");
  }
  int64_t keepdims = c.attr_int("keepdims", 1);
  int64_t noop = c.attr_int("noop_with_empty_axes", 0);
  ir::Attrs a;
  a.set("op", std::string(op));
  a.set("axes", axes);
  a.set("keepdims", keepdims != 0 ? int64_t{1} : int64_t{0});
  a.set("noop_with_empty_axes", noop != 0 ? int64_t{1} : int64_t{0});
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Reduce", {x}, std::move(a)));
  if (log_after) {
    KILN_ASSIGN_OR_RETURN(y, c.unary("log", y));
  }
  c.set_output(0, y);
  return Status::ok();
}

Status reduce_sum(NodeContext& c) { return reduce(c, "sum", 13); }
Status reduce_mean(NodeContext& c) { return reduce(c, "mean", 18); }
Status reduce_max(NodeContext& c) { return reduce(c, "max", 18); }
Status reduce_min(NodeContext& c) { return reduce(c, "min", 18); }
Status reduce_prod(NodeContext& c) { return reduce(c, "prod", 18); }
Status reduce_sum_square(NodeContext& c) { return reduce(c, "sum_square", 18); }
Status reduce_l1(NodeContext& c) { return reduce(c, "l1", 18); }
Status reduce_l2(NodeContext& c) { return reduce(c, "l2", 18); }
Status reduce_log_sum_exp(NodeContext& c) { return reduce(c, "log_sum_exp", 18); }
Status reduce_log_sum(NodeContext& c) { return reduce(c, "sum", 18, /*log_after=*/true); }

Status topk(NodeContext& c) {
  const bool k_input = c.opset() >= 10;
  KILN_RETURN_IF_ERROR(c.expect_inputs(k_input ? 2 : 1, k_input ? 2 : 1));
  int64_t k = 0;
  if (k_input) {
    KILN_ASSIGN_OR_RETURN(auto kv, c.const_ints(1, "K"));
    if (kv.size() != 1) return invalid_argument("K must hold one value");
    k = kv[0];
  } else {
    if (!c.has_attr("k")) return invalid_argument("attribute k is required");
    k = c.attr_int("k", 0);
  }
  ir::Attrs a;
  a.set("k", k);
  a.set("axis", c.attr_int("axis", -1));
  a.set("largest", c.attr_int("largest", 1) != 0 ? int64_t{1} : int64_t{0});
  a.set("sorted", c.attr_int("sorted", 1) != 0 ? int64_t{1} : int64_t{0});
  KILN_ASSIGN_OR_RETURN(auto outs, c.add("TopK", {c.input(0)}, std::move(a), 2));
  c.set_output(0, outs[0]);
  c.set_output(1, outs[1]);
  return Status::ok();
}

Status arg_reduce(NodeContext& c, const char* op) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kFloat32, DataType::kFloat16,
                                          DataType::kBFloat16, DataType::kInt8, DataType::kUInt8,
                                          DataType::kInt32, DataType::kInt64}));
  ir::Attrs a;
  a.set("op", std::string(op));
  a.set("axis", c.attr_int("axis", 0));
  a.set("keepdims", c.attr_int("keepdims", 1) != 0 ? int64_t{1} : int64_t{0});
  a.set("select_last_index", c.attr_int("select_last_index", 0) != 0 ? int64_t{1} : int64_t{0});
  KILN_ASSIGN_OR_RETURN(int y, c.add1("ArgReduce", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status arg_max(NodeContext& c) { return arg_reduce(c, "max"); }
Status arg_min(NodeContext& c) { return arg_reduce(c, "min"); }

}  // namespace

void add_reduce_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"ReduceSum", 1, reduce_sum},
                            {"ReduceMean", 1, reduce_mean},
                            {"ReduceMax", 1, reduce_max},
                            {"ReduceMin", 1, reduce_min},
                            {"ReduceProd", 1, reduce_prod},
                            {"ReduceSumSquare", 1, reduce_sum_square},
                            {"ReduceL1", 1, reduce_l1},
                            {"ReduceL2", 1, reduce_l2},
                            {"ReduceLogSumExp", 1, reduce_log_sum_exp},
                            {"ReduceLogSum", 1, reduce_log_sum},
                            {"TopK", 1, topk},
                            {"ArgMax", 1, arg_max},
                            {"ArgMin", 1, arg_min},
                        });
}

}  // namespace kiln::onnx_import
