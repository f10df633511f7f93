// Data movement and indexing: Split, Tile, Pad, DepthToSpace, SpaceToDepth, Trilu, Range,
// OneHot, GatherElements, GatherND, ScatterElements, Scatter, ScatterND, CumSum,
// ReverseSequence, MaxUnpool.
#include "onnx/translators/translators.h"

#include <cmath>
#include <limits>

namespace kiln::onnx_import {

namespace {

// One IR node with the ONNX inputs (absent ones as -1, trailing ones dropped), the given
// attributes, and one output per ONNX output.
Status direct(NodeContext& c, const std::string& op, ir::Attrs attrs, int num_outputs = 1) {
  std::vector<int> ins;
  for (int i = 0; i < c.num_inputs(); ++i) ins.push_back(c.input(i));
  while (!ins.empty() && ins.back() < 0) ins.pop_back();
  KILN_ASSIGN_OR_RETURN(auto outs, c.add(op, ins, std::move(attrs), num_outputs));
  for (int i = 0; i < num_outputs; ++i) c.set_output(i, outs[static_cast<size_t>(i)]);
  return Status::ok();
}

Status split(NodeContext& c) {
  const bool from_input = c.opset() >= 13;
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, from_input ? 2 : 1));
  if (c.num_outputs() < 1) return invalid_argument("Split needs at least one output");
  for (int i = 0; i < c.num_outputs(); ++i) {
    if (!c.has_output(i)) return unsupported("an unnamed Split output is not supported");
  }
  ir::Attrs a = pass_attrs(c, {"axis", "num_outputs"});
  std::vector<int> ins = {c.input(0)};
  if (from_input && c.has_input(1)) {
    KILN_RETURN_IF_ERROR(require_build_time(c, 1, "split"));
    ins.push_back(c.input(1));
  } else if (!from_input && c.has_attr("split")) {
    a.set("split", c.attr_ints("split"));
  }
  if (a.has("num_outputs") && a.get_int("num_outputs") != c.num_outputs()) {
    return c.invalid_attr("num_outputs", std::to_string(a.get_int("num_outputs")),
                          "the node has " + std::to_string(c.num_outputs()) + " outputs");
  }
  KILN_ASSIGN_OR_RETURN(auto outs, c.add("Split", ins, std::move(a), c.num_outputs()));
  for (int i = 0; i < c.num_outputs(); ++i) c.set_output(i, outs[static_cast<size_t>(i)]);
  return Status::ok();
}

Status tile(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  KILN_RETURN_IF_ERROR(require_build_time(c, 1, "repeats"));
  return direct(c, "Tile", {});
}

Status pad(NodeContext& c) {
  if (c.opset() < 11) {
    KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
    ir::Attrs a = pass_attrs(c, {"mode", "value"});
    a.set("pads", c.attr_ints(c.opset() < 2 ? "paddings" : "pads"));
    return direct(c, "Pad", std::move(a));
  }
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 4));
  KILN_RETURN_IF_ERROR(require_build_time(c, 1, "pads"));
  if (c.has_input(2)) KILN_RETURN_IF_ERROR(require_build_time(c, 2, "constant_value"));
  if (c.has_input(3)) KILN_RETURN_IF_ERROR(require_build_time(c, 3, "axes"));
  return direct(c, "Pad", pass_attrs(c, {"mode"}));
}

Status depth_to_space(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  return direct(c, "DepthToSpace", pass_attrs(c, {"blocksize", "mode"}));
}

Status space_to_depth(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  return direct(c, "SpaceToDepth", pass_attrs(c, {"blocksize"}));
}

Status trilu(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 2));
  if (c.has_input(1)) KILN_RETURN_IF_ERROR(require_build_time(c, 1, "k"));
  return direct(c, "Trilu", pass_attrs(c, {"upper"}));
}

// An int64 scalar with the content of float32 value v when v is an integral constant or a Cast
// of an integer shape value (exact: such values are integers below 2^24); -1 otherwise.
Result<int> integral_source(NodeContext& c, int v) {
  constexpr double kExact = 16777216.0;  // 2^24: float32 holds every integer up to here
  const ir::Value& val = c.value(v);
  if (val.shape.size() > 1 || c.dtype(v) != DataType::kFloat32) return -1;
  if (val.constant) {
    if (val.constant->numel() != 1) return -1;
    const double x = val.constant->get_double(0);
    if (!(std::abs(x) < kExact) || x != std::floor(x)) return -1;
    return c.scalar(DataType::kInt64, x);
  }
  if (val.producer < 0) return -1;
  const ir::Node& cast = c.graph().node(val.producer);
  if (cast.op != "Cast") return -1;
  const int src = cast.inputs[0];
  if (!c.value(src).shape_value || !is_integer(c.dtype(src))) return -1;
  return c.cast(src, DataType::kInt64);
}

Status range(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, 3));
  static const char* const kNames[] = {"start", "limit", "delta"};
  // PyTorch exports torch.arange(n, dtype=torch.float) with a traced n as
  // Range(0., Cast(n -> float), 1.). With integral bounds like these the range is computed as an
  // int64 shape program (its length stays symbolic) and cast to float32, which gives the same
  // values as ONNX's float Range.
  bool all_build_time = true;
  for (int i = 0; i < 3; ++i) {
    const ir::Value& v = c.value(c.input(i));
    all_build_time = all_build_time && (v.constant || v.shape_value);
  }
  if (!all_build_time && c.dtype(c.input(0)) == DataType::kFloat32) {
    int ints[3];
    for (int i = 0; i < 3; ++i) {
      KILN_ASSIGN_OR_RETURN(ints[i], integral_source(c, c.input(i)));
      if (ints[i] < 0) {
        KILN_RETURN_IF_ERROR(require_build_time(c, i, kNames[i]));
        return unsupported(std::string(kNames[i]) +
                           " is not an integer below 2^24; a float Range with a bound computed "
                           "from shapes needs integral start, limit and delta");
      }
    }
    KILN_ASSIGN_OR_RETURN(int r, c.add1("Range", {ints[0], ints[1], ints[2]}));
    KILN_ASSIGN_OR_RETURN(int f, c.cast(r, DataType::kFloat32));
    c.set_output(0, f);
    return Status::ok();
  }
  for (int i = 0; i < 3; ++i) KILN_RETURN_IF_ERROR(require_build_time(c, i, kNames[i]));
  return direct(c, "Range", {});
}

Status one_hot(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, 3));
  KILN_RETURN_IF_ERROR(require_build_time(c, 1, "depth"));
  return direct(c, "OneHot", pass_attrs(c, {"axis"}));
}

Status gather_elements(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  return direct(c, "GatherElements", pass_attrs(c, {"axis"}));
}

Status gather_nd(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  return direct(c, "GatherND", pass_attrs(c, {"batch_dims"}));
}

Status scatter_elements(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, 3));
  return direct(c, "ScatterElements", pass_attrs(c, {"axis", "reduction"}));
}

Status scatter_nd(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, 3));
  return direct(c, "ScatterND", pass_attrs(c, {"reduction"}));
}

Status cumsum(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  KILN_RETURN_IF_ERROR(require_build_time(c, 1, "axis"));
  return direct(c, "CumSum", pass_attrs(c, {"exclusive", "reverse"}));
}

// Reverses each batch entry's first sequence_lens[b] steps: GatherElements along the time axis
// with indices t < len ? len - 1 - t : t (the lengths may be run-time data).
Status reverse_sequence(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  int x = c.input(0), lens = c.input(1);
  const int r = c.rank(x);
  if (r < 2) return invalid_argument("input must have rank >= 2");
  int64_t time_axis = c.attr_int("time_axis", 0), batch_axis = c.attr_int("batch_axis", 1);
  if (!((time_axis == 0 && batch_axis == 1) || (time_axis == 1 && batch_axis == 0))) {
    return c.invalid_attr("time_axis", std::to_string(time_axis),
                          "time_axis and batch_axis must be 0 and 1 (in either order)");
  }
  if (!c.shape(x)[time_axis].is_const()) return unsupported("the time dim must be static");
  const int64_t steps = c.shape(x)[time_axis].value();
  if (steps > kMaxImportConstant) return unsupported("the time dim is too long");
  HostTensor t(DataType::kInt64, time_axis == 0 ? Dims{steps, 1} : Dims{1, steps});
  for (int64_t i = 0; i < steps; ++i) t.as<int64_t>()[i] = i;
  int tv = c.constant(std::move(t), "steps");
  KILN_ASSIGN_OR_RETURN(int l, c.cast(lens, DataType::kInt64));
  KILN_ASSIGN_OR_RETURN(l, c.unsqueeze(l, {time_axis}));  // [1, B] or [B, 1]
  KILN_ASSIGN_OR_RETURN(int valid, c.elementwise("less", tv, l));
  KILN_ASSIGN_OR_RETURN(int lm1, c.elementwise("sub", l, c.scalar(DataType::kInt64, 1)));
  KILN_ASSIGN_OR_RETURN(int rev, c.elementwise("sub", lm1, tv));
  KILN_ASSIGN_OR_RETURN(int idx, c.add1("Select", {valid, rev, tv}));
  if (r > 2) {
    std::vector<int64_t> axes;
    for (int i = 2; i < r; ++i) axes.push_back(i);
    KILN_ASSIGN_OR_RETURN(idx, c.unsqueeze(idx, axes));
  }
  KILN_ASSIGN_OR_RETURN(int shape, c.shape_of(x, 0, r));
  KILN_ASSIGN_OR_RETURN(idx, c.add1("Expand", {idx, shape}));
  ir::Attrs a;
  a.set("axis", time_axis);
  KILN_ASSIGN_OR_RETURN(int y, c.add1("GatherElements", {x, idx}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

// Scatters X into zeros at the flat indices that MaxPool returned.
Status max_unpool(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 3));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  int x = c.input(0), ind = c.input(1);
  KILN_ASSIGN_OR_RETURN(auto xs, c.static_shape(x, "X"));
  if (xs.size() < 3) return invalid_argument("X must have rank >= 3");
  const size_t n = xs.size() - 2;
  // The indices address the natural unpooled shape; an output_shape pads it at the ends (as
  // the ONNX reference).
  auto kernel = c.attr_ints("kernel_shape");
  auto strides = c.attr_ints("strides", std::vector<int64_t>(n, 1));
  auto pads = c.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (kernel.size() != n || strides.size() != n || pads.size() != 2 * n) {
    return invalid_argument("kernel_shape, strides and pads must match X's spatial rank");
  }
  std::vector<int64_t> out = {xs[0], xs[1]};
  for (size_t d = 0; d < n; ++d) {
    const int64_t big = int64_t{1} << 40;  // keeps the arithmetic below from overflowing
    if (xs[2 + d] > big || strides[d] < 1 || strides[d] > big || kernel[d] < 1 || kernel[d] > big ||
        pads[d] < 0 || pads[d] > big || pads[n + d] < 0 || pads[n + d] > big) {
      return invalid_argument("kernel_shape, strides or pads out of range");
    }
    out.push_back((xs[2 + d] - 1) * strides[d] - (pads[d] + pads[n + d]) + kernel[d]);
  }
  std::vector<int64_t> requested = out;
  if (c.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(requested, c.const_ints(2, "output_shape"));
    if (requested.size() != xs.size()) return invalid_argument("output_shape must have X's rank");
    for (size_t d = 0; d < requested.size(); ++d) {
      if (requested[d] < out[d]) {
        return invalid_argument("output_shape " + ints_to_string(requested) +
                                " is smaller than the unpooled shape " + ints_to_string(out));
      }
    }
  }
  const int64_t total = checked_volume(out, std::numeric_limits<int64_t>::max());
  if (total < 0) return invalid_argument("invalid output extents " + ints_to_string(out));
  ir::Attrs za;
  za.set("dtype", std::string(dtype_name(c.dtype(x))));
  za.set("value", 0.0);
  KILN_ASSIGN_OR_RETURN(int zeros, c.add1("ConstantOfShape", {c.ints({total})}, std::move(za)));
  KILN_ASSIGN_OR_RETURN(int flat_i, c.reshape(ind, {-1}));
  KILN_ASSIGN_OR_RETURN(int flat_x, c.reshape(x, {-1}));
  ir::Attrs sa;
  sa.set("axis", int64_t{0});
  KILN_ASSIGN_OR_RETURN(int scattered,
                        c.add1("ScatterElements", {zeros, flat_i, flat_x}, std::move(sa)));
  KILN_ASSIGN_OR_RETURN(int y, c.reshape(scattered, out));
  if (requested != out) {
    std::vector<int64_t> pad_amounts(2 * out.size(), 0);
    for (size_t d = 0; d < out.size(); ++d) pad_amounts[out.size() + d] = requested[d] - out[d];
    ir::Attrs pa;
    pa.set("pads", pad_amounts);
    KILN_ASSIGN_OR_RETURN(y, c.add1("Pad", {y}, std::move(pa)));
  }
  c.set_output(0, y);
  return Status::ok();
}

}  // namespace

void add_data_movement_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"Split", 2, split},
                            {"Tile", 6, tile},
                            {"Pad", 2, pad},
                            {"DepthToSpace", 1, depth_to_space},
                            {"SpaceToDepth", 1, space_to_depth},
                            {"Trilu", 14, trilu},
                            {"Range", 11, range},
                            {"OneHot", 9, one_hot},
                            {"GatherElements", 11, gather_elements},
                            {"GatherND", 11, gather_nd},
                            {"ScatterElements", 11, scatter_elements},
                            {"Scatter", 9, scatter_elements},
                            {"ScatterND", 11, scatter_nd},
                            {"CumSum", 11, cumsum},
                            {"ReverseSequence", 10, reverse_sequence},
                            {"MaxUnpool", 9, max_unpool},
                        });
}

}  // namespace kiln::onnx_import
