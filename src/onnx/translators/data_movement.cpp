// Data movement and indexing: Split, Tile, Pad, DepthToSpace, SpaceToDepth, Trilu, Range,
// OneHot, GatherElements, GatherND, ScatterElements, Scatter, ScatterND, CumSum.
#include "onnx/translators/translators.h"

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

Status range(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, 3));
  for (int i = 0; i < 3; ++i) {
    KILN_RETURN_IF_ERROR(require_build_time(c, i, i == 0 ? "start" : i == 1 ? "limit" : "delta"));
  }
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
                        });
}

}  // namespace kiln::onnx_import
