// The one list of ONNX op translators.
#include "onnx/supported_ops.h"
#include "onnx/translators/translators.h"

#include <algorithm>

namespace kiln::onnx_import {

const std::vector<Translator>& all_translators() {
  static const std::vector<Translator> list = [] {
    std::vector<Translator> v;
    add_activation_translators(v);
    add_elementwise_translators(v);
    add_conv_pool_translators(v);
    add_matmul_translators(v);
    add_shape_translators(v);
    add_reduce_translators(v);
    add_normalization_translators(v);
    add_loss_translators(v);
    add_quantize_translators(v);
    add_signal_translators(v);
    add_data_movement_translators(v);
    add_resize_translators(v);
    add_rnn_translators(v);
    std::sort(v.begin(), v.end(),
              [](const Translator& a, const Translator& b) { return a.op_type < b.op_type; });
    return v;
  }();
  return list;
}

std::vector<OnnxOpSupport> supported_onnx_ops() {
  std::vector<OnnxOpSupport> out;
  for (const Translator& t : all_translators()) {
    if (!out.empty() && out.back().op_type == t.op_type) {
      out.back().since = std::min(out.back().since, t.since);
      continue;
    }
    out.push_back({t.op_type, t.since});
  }
  return out;
}

const Translator* find_translator(std::string_view op_type) {
  const auto& v = all_translators();
  auto it =
      std::lower_bound(v.begin(), v.end(), op_type,
                       [](const Translator& t, std::string_view op) { return t.op_type < op; });
  return it != v.end() && it->op_type == op_type ? &*it : nullptr;
}

ir::Attrs pass_attrs(NodeContext& c, std::initializer_list<std::string_view> names) {
  ir::Attrs out;
  for (std::string_view name : names) {
    const auto* a = c.attr(name);
    if (a == nullptr) continue;
    std::string n(name);
    switch (a->type()) {
      case pb::AttributeProto::INT:
        out.set(n, a->i());
        break;
      case pb::AttributeProto::FLOAT:
        out.set(n, static_cast<double>(a->f()));
        break;
      case pb::AttributeProto::STRING:
        out.set(n, a->s());
        break;
      case pb::AttributeProto::INTS:
        out.set(n, c.attr_ints(name));
        break;
      case pb::AttributeProto::FLOATS:
        out.set(n, c.attr_floats(name));
        break;
      default:
        if (a->has_i())
          out.set(n, a->i());
        else if (a->has_f())
          out.set(n, static_cast<double>(a->f()));
        else if (a->has_s())
          out.set(n, a->s());
        else if (a->ints_size())
          out.set(n, c.attr_ints(name));
        else if (a->floats_size())
          out.set(n, c.attr_floats(name));
        break;
    }
  }
  return out;
}

Status require_build_time(NodeContext& c, int i, std::string_view what) {
  int v = c.input(i);
  if (v < 0)
    return invalid_argument(std::string(what) + " (input " + std::to_string(i) + ") is missing");
  const ir::Value& val = c.value(v);
  if (val.constant || val.shape_value) return Status::ok();
  return unsupported(std::string(what) + " (input " + std::to_string(i) + " '" + c.input_name(i) +
                     "') depends on tensor data; kiln needs it when building (data-dependent "
                     "shapes are not supported)");
}

std::string ints_to_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

Result<int> legacy_broadcast(NodeContext& ctx, int a, int b) {
  if (ctx.opset() >= 7 || ctx.attr_int("broadcast", 0) == 0 || !ctx.has_attr("axis")) return b;
  int64_t axis = ctx.attr_int("axis", 0);
  const int ra = ctx.rank(a), rb = ctx.rank(b);
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + rb > ra) {
    return ctx.invalid_attr("axis", std::to_string(ctx.attr_int("axis", 0)),
                            "B of rank " + std::to_string(rb) + " does not fit A of rank " +
                                std::to_string(ra) + " there");
  }
  int trailing = ra - static_cast<int>(axis) - rb;
  if (trailing == 0) return b;
  std::vector<int64_t> axes;
  for (int i = 0; i < trailing; ++i) axes.push_back(rb + i);
  return ctx.unsqueeze(b, axes);
}

}  // namespace kiln::onnx_import
