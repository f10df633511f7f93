// Resize (opsets 10-19) and the deprecated Upsample (opsets 7-9).
#include "onnx/translators/translators.h"

namespace kiln::onnx_import {

namespace {

// Opset-10 Resize and Upsample: scales only, asymmetric coordinates, nearest rounds down.
Status legacy_resize(NodeContext& c, int x, int scales) {
  std::string mode = c.attr_string("mode", "nearest");
  if (mode == "bilinear") mode = "linear";  // Upsample-7 spelling
  if (mode != "nearest" && mode != "linear") {
    return c.bad_attr("mode", mode, "expected nearest or linear");
  }
  ir::Attrs a;
  a.set("mode", mode);
  a.set("coordinate_transformation_mode", std::string("asymmetric"));
  a.set("nearest_mode", std::string("floor"));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Resize", {x, -1, scales}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

// A float32 scales constant (ONNX allows float scales computed by the graph only from constants).
Result<int> scales_input(NodeContext& c, int i) {
  KILN_ASSIGN_OR_RETURN(auto v, c.const_floats(i, "scales"));
  HostTensor t(DataType::kFloat32, Dims{static_cast<int64_t>(v.size())});
  for (size_t k = 0; k < v.size(); ++k) t.as<float>()[k] = static_cast<float>(v[k]);
  return c.constant(std::move(t), "scales");
}

Status upsample(NodeContext& c) {
  int scales = -1;
  if (c.opset() < 9) {
    KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
    auto s = c.attr_floats("scales");
    HostTensor t(DataType::kFloat32, Dims{static_cast<int64_t>(s.size())});
    for (size_t k = 0; k < s.size(); ++k) t.as<float>()[k] = static_cast<float>(s[k]);
    scales = c.constant(std::move(t), "scales");
  } else {
    KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
    KILN_ASSIGN_OR_RETURN(scales, scales_input(c, 1));
  }
  return legacy_resize(c, c.input(0), scales);
}

bool empty_input(NodeContext& c, int i) {
  if (!c.has_input(i)) return true;
  const ir::SymShape& s = c.shape(c.input(i));
  return s.size() == 1 && s[0].is_const() && s[0].value() == 0;
}

Status resize(NodeContext& c) {
  if (c.opset() < 11) {
    KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
    KILN_ASSIGN_OR_RETURN(int scales, scales_input(c, 1));
    return legacy_resize(c, c.input(0), scales);
  }
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 4));
  std::vector<int> ins = {c.input(0), -1, -1, -1};
  if (!empty_input(c, 1)) {
    KILN_ASSIGN_OR_RETURN(auto roi, c.const_floats(1, "roi"));
    HostTensor t(DataType::kFloat32, Dims{static_cast<int64_t>(roi.size())});
    for (size_t k = 0; k < roi.size(); ++k) t.as<float>()[k] = static_cast<float>(roi[k]);
    ins[1] = c.constant(std::move(t), "roi");
  }
  if (!empty_input(c, 2)) {
    KILN_ASSIGN_OR_RETURN(ins[2], scales_input(c, 2));
  }
  if (!empty_input(c, 3)) {
    KILN_RETURN_IF_ERROR(require_build_time(c, 3, "sizes"));
    ins[3] = c.input(3);
  }
  while (ins.back() < 0) ins.pop_back();
  ir::Attrs a = pass_attrs(c, {"mode", "coordinate_transformation_mode", "nearest_mode",
                               "cubic_coeff_a", "exclude_outside", "extrapolation_value",
                               "antialias", "axes", "keep_aspect_ratio_policy"});
  if (a.get_int("antialias", 0) != 0) {
    return c.bad_attr("antialias", std::to_string(a.get_int("antialias", 0)),
                      "antialiased resizing is not implemented");
  }
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Resize", ins, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

}  // namespace

void add_resize_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"Resize", 10, resize},
                            {"Upsample", 7, upsample},
                        });
}

}  // namespace kiln::onnx_import
