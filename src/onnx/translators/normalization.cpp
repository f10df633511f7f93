// Softmax, LogSoftmax, Hardmax, LayerNormalization, BatchNormalization, InstanceNormalization,
// GroupNormalization, MeanVarianceNormalization, LpNormalization, LRN.
#include "onnx/translators/translators.h"

namespace kiln::onnx_import {

namespace {

Status softmax_impl(NodeContext& c, bool log) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  int x = c.input(0);
  auto op = [&](int in, int64_t axis) -> Result<int> {
    ir::Attrs a;
    a.set("axis", axis);
    a.set("log", int64_t{log ? 1 : 0});
    return c.add1("Softmax", {in}, std::move(a));
  };
  int y = -1;
  if (c.opset() >= 13) {
    KILN_ASSIGN_OR_RETURN(y, op(x, c.attr_int("axis", -1)));
  } else {
    // Opsets < 13 normalize X coerced to 2-D at `axis` (default 1).
    KILN_ASSIGN_OR_RETURN(y, coerced_2d(c, x, c.attr_int("axis", 1), op));
  }
  c.set_output(0, y);
  return Status::ok();
}

Status softmax(NodeContext& c) { return softmax_impl(c, false); }
Status log_softmax(NodeContext& c) { return softmax_impl(c, true); }

Status layer_norm(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 3));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  ir::Attrs a;
  a.set("axis", c.attr_int("axis", -1));
  a.set("epsilon", c.attr_float("epsilon", 1e-5));
  int64_t stash = c.attr_int("stash_type", 1);
  if (stash != 1) {
    return c.bad_attr("stash_type", std::to_string(stash), "kiln computes the statistics in float32");
  }
  std::vector<int> ins = {c.input(0), c.input(1)};
  if (c.has_input(2)) ins.push_back(c.input(2));
  const bool stats = c.has_output(1) || c.has_output(2);
  KILN_ASSIGN_OR_RETURN(auto outs, c.add("LayerNorm", ins, std::move(a), stats ? 3 : 1));
  for (size_t i = 0; i < outs.size(); ++i) c.set_output(static_cast<int>(i), outs[i]);
  return Status::ok();
}

// Training-mode batch norm (opset >= 14): normalizes with the batch's statistics and outputs
// the updated running statistics (deterministic, so it imports like any other op).
Status batch_norm_training(NodeContext& c) {
  int x = c.input(0);
  const int r = c.rank(x);
  if (r < 2) return invalid_argument("X must have rank >= 2");
  std::vector<int64_t> axes;
  for (int i = 0; i < r; ++i) {
    if (i != 1) axes.push_back(i);
  }
  const DataType dt = c.dtype(x);
  const double momentum = c.attr_float("momentum", 0.9);
  KILN_ASSIGN_OR_RETURN(int mean, c.reduce("mean", x, axes, false));
  KILN_ASSIGN_OR_RETURN(int mean_k, c.reduce("mean", x, axes, true));
  KILN_ASSIGN_OR_RETURN(int centered, c.elementwise("sub", x, mean_k));
  KILN_ASSIGN_OR_RETURN(int sq, c.elementwise("prod", centered, centered));
  KILN_ASSIGN_OR_RETURN(int var, c.reduce("mean", sq, axes, false));
  ir::Attrs a;
  a.set("epsilon", c.attr_float("epsilon", 1e-5));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("BatchNorm", {x, c.input(1), c.input(2), mean, var},
                                      std::move(a)));
  c.set_output(0, y);
  for (int o = 1; o <= 2; ++o) {
    if (!c.has_output(o)) continue;
    int running = c.input(o == 1 ? 3 : 4), current = o == 1 ? mean : var;
    KILN_ASSIGN_OR_RETURN(int p, c.elementwise("prod", running, c.scalar(dt, momentum)));
    KILN_ASSIGN_OR_RETURN(int q, c.elementwise("prod", current, c.scalar(dt, 1.0 - momentum)));
    KILN_ASSIGN_OR_RETURN(int s, c.elementwise("sum", p, q));
    c.set_output(o, s);
  }
  return Status::ok();
}

Status batch_norm(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(5, 5));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  if (c.opset() >= 14 && c.attr_int("training_mode", 0) != 0) return batch_norm_training(c);
  if (c.opset() < 9 && c.attr_int("spatial", 1) != 1) {
    return c.bad_attr("spatial", std::to_string(c.attr_int("spatial", 1)),
                      "only per-channel statistics (spatial=1) are supported");
  }
  if (c.opset() < 7 && c.attr_int("is_test", 0) == 0) {
    return c.bad_attr("is_test", "0", "training-mode batch normalization is not supported");
  }
  for (int i = 1; i < c.num_outputs(); ++i) {
    if (c.has_output(i)) {
      return unsupported("output " + std::to_string(i) + " ('" + c.node().output(i) +
                         "', a running or saved statistic) exists only in training mode");
    }
  }
  ir::Attrs a;
  a.set("epsilon", c.attr_float("epsilon", 1e-5));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("BatchNorm", {c.input(0), c.input(1), c.input(2), c.input(3),
                                                    c.input(4)},
                                      std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status instance_norm(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, 3));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  ir::Attrs a;
  a.set("epsilon", c.attr_float("epsilon", 1e-5));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("InstanceNorm", {c.input(0), c.input(1), c.input(2)},
                                      std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status mean_variance_norm(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  ir::Attrs a;
  a.set("axes", c.attr_ints("axes", {0, 2, 3}));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("MeanVarianceNormalization", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status hardmax(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  auto op = [&](int in, int64_t axis) -> Result<int> {
    ir::Attrs a;
    a.set("axis", axis);
    return c.add1("Hardmax", {in}, std::move(a));
  };
  int y = -1;
  if (c.opset() >= 13) {
    KILN_ASSIGN_OR_RETURN(y, op(c.input(0), c.attr_int("axis", -1)));
  } else {
    KILN_ASSIGN_OR_RETURN(y, coerced_2d(c, c.input(0), c.attr_int("axis", 1), op));
  }
  c.set_output(0, y);
  return Status::ok();
}

Status lp_norm(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  ir::Attrs a;
  a.set("axis", c.attr_int("axis", -1));
  a.set("p", c.attr_int("p", 2));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("LpNormalization", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status lrn(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  if (!c.has_attr("size")) return invalid_argument("attribute size is required");
  ir::Attrs a = pass_attrs(c, {"size", "alpha", "beta", "bias"});
  KILN_ASSIGN_OR_RETURN(int y, c.add1("LRN", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

// Opset 18: scale and bias per group; opset 21: per channel.
Status group_norm(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, 3));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  if (!c.has_attr("num_groups")) return invalid_argument("attribute num_groups is required");
  ir::Attrs a = pass_attrs(c, {"num_groups", "epsilon"});
  a.set("per_group_affine", int64_t{c.opset() < 21 ? 1 : 0});
  KILN_ASSIGN_OR_RETURN(int y, c.add1("GroupNormalization", {c.input(0), c.input(1), c.input(2)},
                                      std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

}  // namespace

void add_normalization_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"Softmax", 1, softmax},
                            {"LogSoftmax", 1, log_softmax},
                            {"LayerNormalization", 17, layer_norm},
                            {"BatchNormalization", 1, batch_norm},
                            {"InstanceNormalization", 1, instance_norm},
                            {"MeanVarianceNormalization", 9, mean_variance_norm},
                            {"Hardmax", 1, hardmax},
                            {"LpNormalization", 1, lp_norm},
                            {"LRN", 1, lrn},
                            {"GroupNormalization", 18, group_norm},
                        });
}

}  // namespace kiln::onnx_import
