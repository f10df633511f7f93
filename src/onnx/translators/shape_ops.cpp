// Data movement and shape ops: Constant, Identity, Dropout, Reshape, Flatten, Squeeze,
// Unsqueeze, Transpose, Concat, Slice, Gather, Expand, ConstantOfShape, Shape, Size, Cast,
// CastLike, EyeLike.
#include "onnx/translators/translators.h"

#include <cmath>

namespace kiln::onnx_import {

namespace {

Status constant(NodeContext& c) {
  if (c.num_inputs() != 0) return invalid_argument("Constant takes no inputs");
  int count = 0;
  for (const char* n : {"value", "value_float", "value_floats", "value_int", "value_ints",
                        "value_string", "value_strings", "sparse_value"}) {
    count += c.has_attr(n) ? 1 : 0;
  }
  if (count != 1) {
    return invalid_argument("Constant needs exactly one value attribute, got " +
                            std::to_string(count));
  }
  HostTensor t;
  if (c.has_attr("value")) {
    KILN_ASSIGN_OR_RETURN(t, c.attr_tensor("value"));
  } else if (c.has_attr("value_float")) {
    t = HostTensor(DataType::kFloat32, Dims{});
    t.as<float>()[0] = static_cast<float>(c.attr_float("value_float", 0));
  } else if (c.has_attr("value_floats")) {
    auto v = c.attr_floats("value_floats");
    t = HostTensor(DataType::kFloat32, Dims{static_cast<int64_t>(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t.as<float>()[i] = static_cast<float>(v[i]);
  } else if (c.has_attr("value_int")) {
    t = HostTensor(DataType::kInt64, Dims{});
    t.as<int64_t>()[0] = c.attr_int("value_int", 0);
  } else if (c.has_attr("value_ints")) {
    auto v = c.attr_ints("value_ints");
    t = HostTensor(DataType::kInt64, Dims{static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.as<int64_t>());
  } else if (c.has_attr("sparse_value")) {
    return c.bad_attr("sparse_value", "(sparse tensor)", "sparse tensors are not supported");
  } else {
    return unsupported("string constants are not supported");
  }
  c.set_output(0, c.constant(std::move(t), "value"));
  return Status::ok();
}

Status identity(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  c.set_output(0, c.input(0));
  return Status::ok();
}

// Inference: Y = X; the optional mask is all true.
Status dropout(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, c.opset() >= 12 ? 3 : 1));
  int x = c.input(0);
  if (c.opset() >= 12 && c.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(auto training, c.const_ints(2, "training_mode"));
    if (!training.empty() && training[0] != 0) {
      bool zero_ratio = false;
      if (c.has_input(1)) {
        auto r = c.const_floats(1, "ratio");
        zero_ratio = r.is_ok() && !r->empty() && (*r)[0] == 0.0;
      }
      if (!zero_ratio) {
        return unsupported("training_mode=true: random dropout is a training feature");
      }
    }
  }
  if (c.opset() < 7 && c.attr_int("is_test", 0) == 0) {
    return c.bad_attr("is_test", "0", "training-mode dropout is not supported");
  }
  c.set_output(0, x);
  if (c.has_output(1)) {
    KILN_ASSIGN_OR_RETURN(int shape, c.shape_of(x, 0, c.rank(x)));
    ir::Attrs a;
    DataType mask_dtype = c.opset() >= 10 ? DataType::kBool : c.dtype(x);
    a.set("dtype", std::string(dtype_name(mask_dtype)));
    a.set("value", 1.0);
    KILN_ASSIGN_OR_RETURN(int mask, c.add1("ConstantOfShape", {shape}, std::move(a)));
    c.set_output(1, mask);
  }
  return Status::ok();
}

Status reshape(NodeContext& c) {
  int x = -1, y = -1;
  if (c.opset() < 5) {
    KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
    x = c.input(0);
    KILN_ASSIGN_OR_RETURN(y, c.reshape(x, c.attr_ints("shape")));
  } else {
    KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
    KILN_RETURN_IF_ERROR(require_build_time(c, 1, "shape"));
    ir::Attrs a;
    int64_t allowzero = c.attr_int("allowzero", 0);
    if (allowzero != 0 && allowzero != 1) {
      return c.invalid_attr("allowzero", std::to_string(allowzero), "expected 0 or 1");
    }
    a.set("allowzero", allowzero);
    KILN_ASSIGN_OR_RETURN(y, c.add1("Reshape", {c.input(0), c.input(1)}, std::move(a)));
  }
  c.set_output(0, y);
  return Status::ok();
}

// [prod(d[:axis]), prod(d[axis:])]
Status flatten(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  int x = c.input(0);
  const int r = c.rank(x);
  int64_t axis = c.attr_int("axis", 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) {
    return c.invalid_attr("axis", std::to_string(c.attr_int("axis", 1)),
                          "out of range for rank " + std::to_string(r));
  }
  KILN_ASSIGN_OR_RETURN(int rows, c.dims_product(x, 0, static_cast<int>(axis)));
  KILN_ASSIGN_OR_RETURN(int cols, c.dims_product(x, static_cast<int>(axis), r));
  KILN_ASSIGN_OR_RETURN(int shape, c.concat({rows, cols}, 0));
  ir::Attrs a;
  a.set("allowzero", int64_t{1});  // the extents are literal (a 0 stays 0)
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Reshape", {x, shape}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

// Axes of Squeeze / Unsqueeze / Reduce*: from the attribute (old opsets) or input 1.
Result<std::vector<int64_t>> axes_of(NodeContext& c, bool from_input, bool* present) {
  *present = false;
  if (from_input) {
    if (!c.has_input(1)) return std::vector<int64_t>{};
    *present = true;
    return c.const_ints(1, "axes");
  }
  *present = c.has_attr("axes");
  return c.attr_ints("axes");
}

Status squeeze(NodeContext& c) {
  const bool from_input = c.opset() >= 13;
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, from_input ? 2 : 1));
  bool present = false;
  KILN_ASSIGN_OR_RETURN(auto axes, axes_of(c, from_input, &present));
  ir::Attrs a;
  if (present) a.set("axes", axes);
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Squeeze", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status unsqueeze(NodeContext& c) {
  const bool from_input = c.opset() >= 13;
  KILN_RETURN_IF_ERROR(c.expect_inputs(from_input ? 2 : 1, from_input ? 2 : 1));
  bool present = false;
  KILN_ASSIGN_OR_RETURN(auto axes, axes_of(c, from_input, &present));
  if (!present) return invalid_argument("axes are required");
  KILN_ASSIGN_OR_RETURN(int y, c.unsqueeze(c.input(0), axes));
  c.set_output(0, y);
  return Status::ok();
}

Status transpose(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  ir::Attrs a;
  if (c.has_attr("perm")) a.set("perm", c.attr_ints("perm"));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Transpose", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status concat(NodeContext& c) {
  if (c.num_inputs() < 1) return invalid_argument("expects at least 1 input");
  if (c.opset() >= 4 && !c.has_attr("axis")) return invalid_argument("attribute axis is required");
  int64_t axis = c.attr_int("axis", 1);
  std::vector<int> ins;
  for (int i = 0; i < c.num_inputs(); ++i) {
    if (!c.has_input(i)) return invalid_argument("input " + std::to_string(i) + " is empty");
    ins.push_back(c.input(i));
  }
  ir::Attrs a;
  a.set("axis", axis);
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Concat", ins, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status slice(NodeContext& c) {
  if (c.opset() < 10) {
    KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
    ir::Attrs a;
    a.set("starts", c.attr_ints("starts"));
    a.set("ends", c.attr_ints("ends"));
    if (c.has_attr("axes")) a.set("axes", c.attr_ints("axes"));
    KILN_ASSIGN_OR_RETURN(int y, c.add1("Slice", {c.input(0)}, std::move(a)));
    c.set_output(0, y);
    return Status::ok();
  }
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, 5));
  KILN_RETURN_IF_ERROR(require_build_time(c, 1, "starts"));
  KILN_RETURN_IF_ERROR(require_build_time(c, 2, "ends"));
  std::vector<int> ins = {c.input(0), c.input(1), c.input(2), -1, -1};
  for (int i : {3, 4}) {
    if (!c.has_input(i)) continue;
    KILN_ASSIGN_OR_RETURN(auto v, c.const_ints(i, i == 3 ? "axes" : "steps"));
    // As an int64 constant (the IR needs axes and steps as constants).
    HostTensor t(DataType::kInt64, Dims{static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.as<int64_t>());
    ins[i] = c.constant(std::move(t), i == 3 ? "axes" : "steps");
  }
  while (ins.size() > 3 && ins.back() < 0) ins.pop_back();
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Slice", ins));
  c.set_output(0, y);
  return Status::ok();
}

Status gather(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  KILN_RETURN_IF_ERROR(c.expect_dtype(1, {DataType::kInt32, DataType::kInt64}));
  ir::Attrs a;
  a.set("axis", c.attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Gather", {c.input(0), c.input(1)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status expand(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  KILN_RETURN_IF_ERROR(require_build_time(c, 1, "shape"));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Expand", {c.input(0), c.input(1)}));
  c.set_output(0, y);
  return Status::ok();
}

Status constant_of_shape(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(require_build_time(c, 0, "shape"));
  DataType dtype = DataType::kFloat32;
  double value = 0;
  if (c.has_attr("value")) {
    KILN_ASSIGN_OR_RETURN(HostTensor t, c.attr_tensor("value"));
    if (t.numel() != 1) {
      return c.invalid_attr("value", "(tensor of " + std::to_string(t.numel()) + " values)",
                            "must hold one value");
    }
    dtype = t.dtype();
    value = t.get_double(0);
  }
  ir::Attrs a;
  a.set("dtype", std::string(dtype_name(dtype)));
  a.set("value", value);
  KILN_ASSIGN_OR_RETURN(int y, c.add1("ConstantOfShape", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status shape(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  int x = c.input(0);
  const int64_t r = c.rank(x);
  KILN_ASSIGN_OR_RETURN(int y, c.shape_of(x, c.attr_int("start", 0), c.attr_int("end", r)));
  c.set_output(0, y);
  return Status::ok();
}

Status size(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  int x = c.input(0);
  KILN_ASSIGN_OR_RETURN(int n, c.dims_product(x, 0, c.rank(x)));
  KILN_ASSIGN_OR_RETURN(int y, c.reshape(n, {}));
  c.set_output(0, y);
  return Status::ok();
}

// Cast's "to": an element type (opset >= 6) or its name (opset 1-5).
Result<DataType> cast_target(NodeContext& c) {
  const auto* a = c.attr("to");
  if (a == nullptr) return invalid_argument("attribute to is required");
  int32_t elem = 0;
  if (a->type() == pb::AttributeProto::STRING || (a->type() == 0 && a->has_s())) {
    pb::TensorProto::DataType d;
    if (!pb::TensorProto::DataType_Parse(a->s(), &d)) {
      return c.invalid_attr("to", a->s(), "not an ONNX element type name");
    }
    elem = d;
  } else {
    elem = static_cast<int32_t>(c.attr_int("to", 0));
  }
  bool converted = false;
  auto dt = map_dtype(elem, "target of Cast", &converted);
  if (!dt.is_ok()) return dt.status();
  return *dt;
}

Status cast(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_ASSIGN_OR_RETURN(DataType to, cast_target(c));
  ir::Attrs a;
  a.set("to", std::string(dtype_name(to)));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Cast", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status cast_like(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  ir::Attrs a;
  a.set("to", std::string(dtype_name(c.dtype(c.input(1)))));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Cast", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

// A 2-D constant with ones on diagonal k (the input's shape must be static).
Status eye_like(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  int x = c.input(0);
  if (c.rank(x) != 2) return invalid_argument("input must be 2-D");
  KILN_ASSIGN_OR_RETURN(auto dims, c.static_shape(x, "EyeLike's input"));
  DataType dt = c.dtype(x);
  if (c.has_attr("dtype")) {
    bool converted = false;
    KILN_ASSIGN_OR_RETURN(dt, map_dtype(static_cast<int32_t>(c.attr_int("dtype", 1)),
                                        "dtype attribute", &converted));
  }
  const int64_t k = c.attr_int("k", 0);
  HostTensor t(dt, Dims{dims[0], dims[1]});
  for (int64_t i = 0; i < dims[0]; ++i) {
    int64_t j = i + k;
    if (j >= 0 && j < dims[1]) store_from_double(t.data(), dt, i * dims[1] + j, 1.0);
  }
  c.set_output(0, c.constant(std::move(t), "eye"));
  return Status::ok();
}

}  // namespace

void add_shape_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"Constant", 1, constant},
                            {"Identity", 1, identity},
                            {"Dropout", 1, dropout},
                            {"Reshape", 1, reshape},
                            {"Flatten", 1, flatten},
                            {"Squeeze", 1, squeeze},
                            {"Unsqueeze", 1, unsqueeze},
                            {"Transpose", 1, transpose},
                            {"Concat", 1, concat},
                            {"Slice", 1, slice},
                            {"Gather", 1, gather},
                            {"Expand", 8, expand},
                            {"ConstantOfShape", 9, constant_of_shape},
                            {"Shape", 1, shape},
                            {"Size", 1, size},
                            {"Cast", 1, cast},
                            {"CastLike", 15, cast_like},
                            {"EyeLike", 9, eye_like},
                        });
}

}  // namespace kiln::onnx_import
