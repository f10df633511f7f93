// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (ONNX functions), composed from
// kiln ops: the target picks its class through a one-hot mask (Equal with a class index
// constant) and a sum over the class axis, which also gives 0 for an ignored or out-of-range
// target. The class count (dim 1) must be static.
#include "onnx/translators/translators.h"

namespace kiln::onnx_import {

namespace {

Result<int> nll(NodeContext& c, int input, int target, int weight) {
  const int r = c.rank(input);
  if (r < 2) return invalid_argument("input must have rank >= 2 ([N, C, ...])");
  if (c.rank(target) != r - 1) {
    return invalid_argument("target must have rank " + std::to_string(r - 1) + ", got " +
                            std::to_string(c.rank(target)));
  }
  if (!is_integer(c.dtype(target))) return invalid_argument("target must be an integer tensor");
  if (!c.shape(input)[1].is_const()) return unsupported("the class dim (1) of input must be static");
  const int64_t classes = c.shape(input)[1].value();
  const DataType dt = c.dtype(input);
  std::string reduction = c.attr_string("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") {
    return c.invalid_attr("reduction", reduction, "expected none, sum or mean");
  }
  const bool has_ignore = c.has_attr("ignore_index");
  const int64_t ignore = c.attr_int("ignore_index", 0);

  KILN_ASSIGN_OR_RETURN(int t, c.cast(target, DataType::kInt64));
  KILN_ASSIGN_OR_RETURN(int t1, c.unsqueeze(t, {1}));  // [N, 1, d...]
  std::vector<int64_t> cls_shape(static_cast<size_t>(r), 1);
  cls_shape[1] = classes;
  HostTensor cls(DataType::kInt64, Dims(std::span<const int64_t>(cls_shape)));
  for (int64_t k = 0; k < classes; ++k) cls.as<int64_t>()[k] = k;
  KILN_ASSIGN_OR_RETURN(int onehot, c.elementwise("equal", t1, c.constant(std::move(cls), "classes")));
  KILN_ASSIGN_OR_RETURN(int mask, c.cast(onehot, dt));
  KILN_ASSIGN_OR_RETURN(int picked_all, c.elementwise("prod", input, mask));
  KILN_ASSIGN_OR_RETURN(int picked, c.reduce("sum", picked_all, {1}, false));
  KILN_ASSIGN_OR_RETURN(int loss, c.unary("neg", picked));

  int w = -1;  // per-element weight (weight[target], 0 where ignored)
  if (weight >= 0) {
    if (c.dtype(weight) != dt) return invalid_argument("weight must have the input's dtype");
    std::vector<int64_t> ws(static_cast<size_t>(r), 1);
    ws[1] = classes;
    KILN_ASSIGN_OR_RETURN(int wb, c.reshape(weight, ws));
    KILN_ASSIGN_OR_RETURN(int wm, c.elementwise("prod", mask, wb));
    KILN_ASSIGN_OR_RETURN(w, c.reduce("sum", wm, {1}, false));
  }
  if (has_ignore) {
    KILN_ASSIGN_OR_RETURN(int is_ign, c.elementwise("equal", t, c.scalar(DataType::kInt64, ignore)));
    int keep_val = w >= 0 ? w : c.scalar(dt, 1.0);
    KILN_ASSIGN_OR_RETURN(w, c.add1("Select", {is_ign, c.scalar(dt, 0.0), keep_val}));
  }
  if (w >= 0) {
    KILN_ASSIGN_OR_RETURN(loss, c.elementwise("prod", loss, w));
  }
  if (reduction == "none") return loss;
  KILN_ASSIGN_OR_RETURN(int total, c.reduce("sum", loss, {}, false));
  if (reduction == "sum") return total;
  if (w < 0) return c.reduce("mean", loss, {}, false);
  KILN_ASSIGN_OR_RETURN(int wsum, c.reduce("sum", w, {}, false));
  return c.elementwise("div", total, wsum);
}

Status negative_log_likelihood_loss(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 3));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  KILN_ASSIGN_OR_RETURN(int y, nll(c, c.input(0), c.input(1), c.input(2)));
  c.set_output(0, y);
  return Status::ok();
}

Status softmax_cross_entropy_loss(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 3));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  ir::Attrs a;
  a.set("axis", int64_t{1});
  a.set("log", int64_t{1});
  KILN_ASSIGN_OR_RETURN(int log_prob, c.add1("Softmax", {c.input(0)}, std::move(a)));
  KILN_ASSIGN_OR_RETURN(int y, nll(c, log_prob, c.input(1), c.input(2)));
  c.set_output(0, y);
  c.set_output(1, log_prob);
  return Status::ok();
}

}  // namespace

void add_loss_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"NegativeLogLikelihoodLoss", 12, negative_log_likelihood_loss},
                            {"SoftmaxCrossEntropyLoss", 12, softmax_cross_entropy_loss},
                        });
}

}  // namespace kiln::onnx_import
