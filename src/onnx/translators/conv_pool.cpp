// Conv, ConvTranspose, MaxPool, AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool,
// GlobalLpPool.
#include "onnx/translators/translators.h"

namespace kiln::onnx_import {

namespace {

// Explicit pads (begins then ends) for the ONNX auto_pad modes. SAME_* needs the input's
// spatial extents unless every stride is 1 (then the total padding does not depend on them).
Result<std::vector<int64_t>> resolve_pads(NodeContext& c, int x, const std::vector<int64_t>& kernel,
                                          const std::vector<int64_t>& strides,
                                          const std::vector<int64_t>& dilations) {
  const size_t n = kernel.size();
  std::string auto_pad = c.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET" || auto_pad.empty()) {
    std::vector<int64_t> pads = c.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
    if (pads.size() != 2 * n) {
      return c.invalid_attr("pads", ints_to_string(pads),
                            "expected " + std::to_string(2 * n) + " values (begins, then ends)");
    }
    for (int64_t p : pads) {
      if (p < 0) return c.invalid_attr("pads", ints_to_string(pads), "pads must be >= 0");
    }
    return pads;
  }
  if (auto_pad == "VALID") return std::vector<int64_t>(2 * n, 0);
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
    return c.bad_attr("auto_pad", auto_pad, "expected NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  }
  std::vector<int64_t> pads(2 * n, 0);
  const ir::SymShape& xs = c.shape(x);
  for (size_t d = 0; d < n; ++d) {
    const int64_t eff_k = dilations[d] * (kernel[d] - 1) + 1;
    int64_t total = 0;
    if (strides[d] == 1) {
      total = eff_k - 1;
    } else {
      const ir::SymExpr& e = xs[2 + d];
      if (!e.is_const()) {
        return c.bad_attr("auto_pad", auto_pad,
                          "needs a static extent of spatial dim " + std::to_string(d) +
                              " when its stride is " + std::to_string(strides[d]));
      }
      const int64_t in = e.value();
      const int64_t out = (in + strides[d] - 1) / strides[d];
      total = std::max<int64_t>(0, (out - 1) * strides[d] + eff_k - in);
    }
    const int64_t small = total / 2, large = total - small;
    pads[d] = auto_pad == "SAME_UPPER" ? small : large;
    pads[n + d] = auto_pad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

Result<std::vector<int64_t>> ints_attr(NodeContext& c, const char* name, size_t n, int64_t fallback) {
  std::vector<int64_t> v = c.attr_ints(name, std::vector<int64_t>(n, fallback));
  if (v.empty()) v.assign(n, fallback);
  if (v.size() != n) {
    return c.invalid_attr(name, ints_to_string(v), "expected " + std::to_string(n) + " values");
  }
  for (int64_t e : v) {
    if (e < 1) return c.invalid_attr(name, ints_to_string(v), "values must be >= 1");
  }
  return v;
}

}  // namespace

Result<int> add_conv(NodeContext& c, int x, int w, int b) {
  if (c.rank(x) < 3) {
    return invalid_argument("X must have rank >= 3, got " + std::to_string(c.rank(x)));
  }
  if (c.rank(w) != c.rank(x)) {
    return invalid_argument("W has rank " + std::to_string(c.rank(w)) + ", X has " +
                            std::to_string(c.rank(x)));
  }
  const size_t n = static_cast<size_t>(c.rank(x) - 2);
  KILN_ASSIGN_OR_RETURN(auto wshape, c.static_shape(w, "W"));
  std::vector<int64_t> kernel(wshape.begin() + 2, wshape.end());
  if (c.has_attr("kernel_shape")) {
    auto ks = c.attr_ints("kernel_shape");
    if (ks != kernel) {
      return c.invalid_attr("kernel_shape", ints_to_string(ks),
                            "W's spatial extents are " + ints_to_string(kernel));
    }
  }
  KILN_ASSIGN_OR_RETURN(auto strides, ints_attr(c, "strides", n, 1));
  KILN_ASSIGN_OR_RETURN(auto dilations, ints_attr(c, "dilations", n, 1));
  KILN_ASSIGN_OR_RETURN(auto pads, resolve_pads(c, x, kernel, strides, dilations));
  int64_t group = c.attr_int("group", 1);
  if (group < 1) return c.invalid_attr("group", std::to_string(group), "must be >= 1");
  ir::Attrs a;
  a.set("strides", strides);
  a.set("dilations", dilations);
  a.set("pads", pads);
  a.set("group", group);
  return c.add1("Conv", {x, w, b}, std::move(a));
}

namespace {

Status conv(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 3));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  KILN_ASSIGN_OR_RETURN(int y, add_conv(c, c.input(0), c.input(1), c.input(2)));
  c.set_output(0, y);
  return Status::ok();
}

Status conv_transpose(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 3));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  int x = c.input(0), w = c.input(1), b = c.input(2);
  if (c.rank(x) < 3 || c.rank(w) != c.rank(x)) {
    return invalid_argument("X must have rank >= 3 and W the same rank, got " +
                            std::to_string(c.rank(x)) + " and " + std::to_string(c.rank(w)));
  }
  KILN_ASSIGN_OR_RETURN(auto wshape, c.static_shape(w, "W"));
  std::vector<int64_t> kernel(wshape.begin() + 2, wshape.end());
  if (c.has_attr("kernel_shape") && c.attr_ints("kernel_shape") != kernel) {
    return c.invalid_attr("kernel_shape", ints_to_string(c.attr_ints("kernel_shape")),
                          "W's spatial extents are " + ints_to_string(kernel));
  }
  ir::Attrs a = pass_attrs(c, {"auto_pad", "dilations", "group", "output_padding", "output_shape",
                               "pads", "strides"});
  std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  if (auto_pad.empty()) a.set("auto_pad", std::string("NOTSET"));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("ConvTranspose", {x, w, b}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status pool(NodeContext& c, const std::string& type) {
  const bool is_max = type == "max";
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  int x = c.input(0);
  if (c.rank(x) < 3) {
    return invalid_argument("X must have rank >= 3, got " + std::to_string(c.rank(x)));
  }
  if (is_max) {
    KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kFloat32, DataType::kFloat16,
                                            DataType::kBFloat16, DataType::kInt8,
                                            DataType::kUInt8}));
    if (c.has_output(1)) return unsupported("output 1 (Indices) of MaxPool is not supported");
  } else {
    KILN_RETURN_IF_ERROR(c.expect_float(0));
  }
  if (c.has_attr("storage_order") && !is_max) {
    return invalid_argument("storage_order is a MaxPool attribute");
  }
  const size_t n = static_cast<size_t>(c.rank(x) - 2);
  if (!c.has_attr("kernel_shape")) return invalid_argument("attribute kernel_shape is required");
  auto kernel = c.attr_ints("kernel_shape");
  if (kernel.size() != n) {
    return c.invalid_attr("kernel_shape", ints_to_string(kernel),
                          "expected " + std::to_string(n) + " values");
  }
  for (int64_t k : kernel) {
    if (k < 1) return c.invalid_attr("kernel_shape", ints_to_string(kernel), "values must be >= 1");
  }
  KILN_ASSIGN_OR_RETURN(auto strides, ints_attr(c, "strides", n, 1));
  KILN_ASSIGN_OR_RETURN(auto dilations, ints_attr(c, "dilations", n, 1));
  KILN_ASSIGN_OR_RETURN(auto pads, resolve_pads(c, x, kernel, strides, dilations));
  int64_t ceil_mode = c.attr_int("ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1) {
    return c.invalid_attr("ceil_mode", std::to_string(ceil_mode), "expected 0 or 1");
  }
  int64_t include_pad = c.attr_int("count_include_pad", 0);
  if (is_max) {
    int64_t order = c.attr_int("storage_order", 0);
    if (order != 0 && order != 1) {
      return c.invalid_attr("storage_order", std::to_string(order), "expected 0 or 1");
    }
  }
  ir::Attrs a;
  a.set("type", type);
  if (type == "lp") a.set("p", c.attr_int("p", 2));
  a.set("kernel", kernel);
  a.set("strides", strides);
  a.set("dilations", dilations);
  a.set("pads", pads);
  a.set("ceil_mode", ceil_mode);
  a.set("count_include_pad", include_pad != 0 ? int64_t{1} : int64_t{0});
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Pooling", {x}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status max_pool(NodeContext& c) { return pool(c, "max"); }
Status average_pool(NodeContext& c) { return pool(c, "average"); }
Status lp_pool(NodeContext& c) { return pool(c, "lp"); }

Status global_pool(NodeContext& c, const std::string& type) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  if (c.rank(c.input(0)) < 3) {
    return invalid_argument("X must have rank >= 3, got " + std::to_string(c.rank(c.input(0))));
  }
  ir::Attrs a;
  a.set("type", type);
  if (type == "lp") a.set("p", c.attr_int("p", 2));
  a.set("global", int64_t{1});
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Pooling", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status global_average_pool(NodeContext& c) { return global_pool(c, "average"); }
Status global_max_pool(NodeContext& c) { return global_pool(c, "max"); }
Status global_lp_pool(NodeContext& c) { return global_pool(c, "lp"); }

}  // namespace

void add_conv_pool_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"Conv", 1, conv},
                            {"MaxPool", 1, max_pool},
                            {"AveragePool", 1, average_pool},
                            {"GlobalAveragePool", 1, global_average_pool},
                            {"GlobalMaxPool", 1, global_max_pool},
                            {"ConvTranspose", 1, conv_transpose},
                            {"LpPool", 2, lp_pool},
                            {"GlobalLpPool", 2, global_lp_pool},
                        });
}

}  // namespace kiln::onnx_import
