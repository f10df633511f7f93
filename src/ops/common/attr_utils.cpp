#include "ops/common/attr_utils.h"

namespace kiln::ops {

std::string ints_to_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

Status read_int_list(const ir::Attrs& attrs, const char* name, size_t count, int64_t fallback,
                     int64_t min, bool required, std::vector<int64_t>* out) {
  if (required && !attrs.has(name)) {
    return invalid_argument(std::string("attribute '") + name + "' is required");
  }
  *out = attrs.get_ints(name, std::vector<int64_t>(count, fallback));
  if (out->size() != count) {
    return invalid_argument(std::string("attribute '") + name + "' has " +
                            std::to_string(out->size()) + " values " + ints_to_string(*out) +
                            ", expected " + std::to_string(count));
  }
  for (int64_t v : *out) {
    if (v < min) {
      return invalid_argument(std::string("attribute '") + name + "' " + ints_to_string(*out) +
                              " has a value below " + std::to_string(min));
    }
  }
  return Status::ok();
}

Status read_strides_pads_dilations(const ir::Attrs& attrs, int spatial,
                                   std::vector<int64_t>* strides, std::vector<int64_t>* pads,
                                   std::vector<int64_t>* dilations) {
  const size_t n = static_cast<size_t>(spatial);
  KILN_RETURN_IF_ERROR(read_int_list(attrs, "strides", n, 1, 1, false, strides));
  KILN_RETURN_IF_ERROR(read_int_list(attrs, "pads", 2 * n, 0, 0, false, pads));
  return read_int_list(attrs, "dilations", n, 1, 1, false, dilations);
}

Status read_group(const ir::Attrs& attrs, int64_t* group) {
  *group = attrs.get_int("group", 1);
  if (*group < 1) {
    return invalid_argument("attribute 'group' must be >= 1, got " + std::to_string(*group));
  }
  return Status::ok();
}

Status read_fused_activation(const ir::Attrs& attrs, bool* has, ActivationKind* kind, float* alpha,
                             float* beta) {
  if (!attrs.has("activation")) return Status::ok();
  std::string name = attrs.get_string("activation");
  if (!parse_activation(name, kind)) {
    return invalid_argument("unknown fused activation '" + name + "'");
  }
  *has = true;
  double a, b;
  activation_defaults(*kind, &a, &b);
  *alpha = static_cast<float>(attrs.get_float("activation_alpha", a));
  *beta = static_cast<float>(attrs.get_float("activation_beta", b));
  return Status::ok();
}

}  // namespace kiln::ops
